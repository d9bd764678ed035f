"""Recovery: restarting bots (by control message, command or signal, and automatically with a
restart policy), diagnostics and health, and stale-resource cleanup."""
