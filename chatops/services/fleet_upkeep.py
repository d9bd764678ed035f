"""The fleet's upkeep, kept beside the state machine: the seed's ``reset_status_cache`` and
removing a bot for good (the stale-resource cleanup). A mixin of ``FleetService``, which owns the
state these read."""

from __future__ import annotations

from collections.abc import Callable

from chatops.models import ALIVE_STATUSES, BotState
from chatops.store.fleet import FleetTables
from chatops.wire.peer import Peer
from chatops.wire.protocol import Control
from chatops.wire.pushes import PushError


class FleetUpkeep:
    bots: dict[str, BotState]
    on_change: list[Callable[[BotState], None]]
    on_remove: list[Callable[[str], None]]
    _owner: dict[str, Peer]
    _vouched: set[str]
    _rows: FleetTables
    _arm: Callable[[BotState], None]
    """Sets a bot's silence timer for its status (``FleetDeadlines``)."""

    async def reset_status_cache(self) -> dict[str, int]:
        """The seed's ``reset_status_cache``: drop the in-memory statuses of bots without a
        live connection and read them again from the database; ask every connected bot to
        register again (its answer rebuilds its own)."""
        stored = {bot.channel: bot for bot in await self._rows.load_bots()}
        reloaded = 0
        for channel in list(self.bots):
            if channel in self._owner:
                continue
            fresh = stored.get(channel)
            if fresh is None:
                del self.bots[channel]
                for removed in self.on_remove:
                    removed(channel)
                continue
            self.bots[channel] = fresh
            self._arm(fresh)  # the stored status may be alive where the one in memory was not
            reloaded += 1
            for listener in self.on_change:
                listener(fresh)
        asked = 0
        for channel, peer in list(self._owner.items()):
            try:
                peer.send(Control(channel=channel, action="register", reason="status reset"))
                asked += 1
            except PushError:
                continue
        return {"reloaded": reloaded, "asked_to_register": asked}

    def forget(self, channel: str) -> bool:
        """Remove a bot that is neither connected nor alive (stale-resource cleanup)."""
        bot = self.bots.get(channel)
        if bot is None or channel in self._owner or bot.status in ALIVE_STATUSES:
            return False
        del self.bots[channel]
        self._vouched.discard(channel)
        self._rows.delete_bot(channel)
        for removed in self.on_remove:
            removed(channel)
        return True
