"""Quotas and LLM budgets: reported credit pools, budgets computed from usage, their levels,
alerts, burn rate and runway."""
