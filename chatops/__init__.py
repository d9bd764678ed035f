"""chatops: supervise a fleet of bots and AI agents from Discord."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chatops")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
