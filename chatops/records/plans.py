"""Claude Code's plan windows, as its status line reports them and the quota rules read them.

Constants only, no imports: ``chatops statusline`` loads this on every redraw."""

PLAN_WINDOWS = (("five_hour", "5h"), ("seven_day", "7d"))
"""Claude Code's plan windows (its status line's ``rate_limits`` keys) and their labels."""
PLAN_POOL_PREFIX = "claude"
PLAN_POOLS = tuple(f"{PLAN_POOL_PREFIX} {label}" for _, label in PLAN_WINDOWS)
"""The pools ``chatops statusline claude-code`` reports the plan's windows as: the account's,
shared by its sessions (``claude 5h``, ``claude 7d``)."""
