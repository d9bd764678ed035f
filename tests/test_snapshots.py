"""The encoded status snapshot: always the live fleet, re-encoding only what changed."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from chatops.wire.snapshots import SLICE, EncodedList
from tests.conftest import RawClient


@dataclass
class Item:
    name: str
    value: int


async def test_changes_are_seen_and_large_changes_are_encoded_in_slices() -> None:
    encoded_items: list[str] = []

    def to_dict(item: Item) -> dict[str, object]:
        encoded_items.append(item.name)
        return {"name": item.name, "value": item.value}

    items = [Item(f"i{n}", n) for n in range(3 * SLICE)]
    snapshot = EncodedList[Item](lambda item: item.name, to_dict)
    for item in items:
        snapshot.mark(item)
    assert snapshot.stale == 3 * SLICE
    turns = 0
    refresh = snapshot.refresh_gradually()
    # Drive the coroutine by hand: each yield is one turn of the loop given back.
    try:
        while True:
            refresh.send(None)
            turns += 1
    except StopIteration:
        pass
    assert turns == 3 and snapshot.stale == 0
    assert json.loads(snapshot.all()) == [{"name": i.name, "value": i.value} for i in items]

    encoded_items.clear()
    items[7].value = -1
    snapshot.mark(items[7])
    assert json.loads(snapshot.all())[7] == {"name": "i7", "value": -1}
    assert encoded_items == ["i7"]  # only what changed
    assert snapshot.all() is snapshot.all()  # nothing changed: the same bytes, not rebuilt


async def test_status_over_the_socket_after_many_changes(raw) -> None:
    client: RawClient = await raw()
    count = SLICE + 100  # more than one slice changed since the last read
    await client.send(
        *(
            {"id": n, "type": "register", "channel": f"b{n:04d}", "pid": os.getpid()}
            for n in range(count)
        )
    )
    assert all([(await client.recv())["ok"] for _ in range(count)])
    status = await client.request({"id": "s", "type": "get_status"})
    assert [bot["channel"] for bot in status["bots"]] == [f"b{n:04d}" for n in range(count)]
    assert (
        await client.request({"id": "h", "type": "heartbeat", "channel": "b0003", "rss_mb": 9.5})
    )["ok"]
    one = await client.request({"id": "o", "type": "get_status", "channel": "b0003"})
    assert [bot["rss_mb"] for bot in one["bots"]] == [9.5]
    again = await client.request({"id": "a", "type": "get_status"})
    assert again["bots"][3]["rss_mb"] == 9.5 and len(again["bots"]) == count
