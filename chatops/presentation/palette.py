"""One palette for every front end: the colour and emoji of each severity and bot status.

Alert embeds (channel and Discord webhooks) and the cogs' embeds both read it, so a red alert
and a red status page are the same red.
"""

from __future__ import annotations

from chatops.records.alerts import Severity
from chatops.records.fleet import BotStatus

RED = 0xE74C3C
ORANGE = 0xE67E22
YELLOW = 0xF1C40F
GREEN = 0x2ECC71
BLUE = 0x3498DB
GREY = 0x95A5A6
PURPLE = 0x9B59B6

SEVERITY_COLOUR = {
    Severity.CRITICAL: RED,
    Severity.WARNING: ORANGE,
    Severity.INFO: BLUE,
    Severity.RESOLVED: GREEN,
}
SEVERITY_EMOJI = {
    Severity.CRITICAL: "🔴",
    Severity.WARNING: "🟠",
    Severity.INFO: "🔵",
    Severity.RESOLVED: "🟢",
}
STATUS_COLOUR = {
    BotStatus.ONLINE: GREEN,
    BotStatus.LATE: YELLOW,
    BotStatus.STALE: ORANGE,
    BotStatus.DOWN: RED,
    BotStatus.OFFLINE: GREY,
    BotStatus.UNREACHABLE: PURPLE,
}
STATUS_EMOJI = {
    BotStatus.ONLINE: "🟢",
    BotStatus.LATE: "🟡",
    BotStatus.STALE: "🟠",
    BotStatus.DOWN: "🔴",
    BotStatus.OFFLINE: "⚫",
    BotStatus.UNREACHABLE: "🟣",
}
