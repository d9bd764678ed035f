"""The bounds of an operator's reply to a coding-agent session, shared by the hook that waits
for it, the wire that carries it and the service that holds it.

Constants only, no imports: ``chatops hook`` loads this on a ``Stop``."""

MAX_REPLY_CHARS = 4000
"""The longest reply: a few paragraphs, and within a Discord modal's 4,000 characters."""
MAX_REPLY_WAIT = 3600.0
"""The longest a hook may wait for a reply in one request."""
DEFAULT_MAX_REPLIES = 3
"""How many replies in a row may continue a session before its hook lets it stop."""
