"""Presentation helpers shared by every front end (CLI, Discord): durations, escaping, charts."""
