"""Auto-accept and approvals: the policy engine, the shell analysis it relies on, and (to come)
the pending requests answered from Discord."""
