"""The cache over the socket: agents write, register and finish entries; operators plan and
clean. The rules (who may, how much) are :class:`~chatops.services.cache.writes.CacheWrites`';
here the files are decoded and the answers shaped."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from chatops.api.cache_views import (
    entry_to_dict,
    plan_to_dict,
    preview_to_dict,
    result_to_dict,
    stats_to_dict,
)
from chatops.api.callers import Callers
from chatops.composition.services import Services
from chatops.services.errors import Invalid
from chatops.wire.outcomes import Committed, Handler, Immediate, Later, Outcome
from chatops.wire.peer import Peer
from chatops.wire.protocol import (
    CacheCreate,
    CacheExecute,
    CacheFinish,
    CacheList,
    CachePlan,
    CachePreview,
    CacheRegister,
    GetCacheSummary,
)

QUERY_TIMEOUT = 60.0


def decoded_files(msg: CacheCreate) -> dict[str, bytes]:
    """The entry's files: text as UTF-8, ``files_b64`` decoded."""
    try:
        content = {name: text.encode() for name, text in msg.files.items()}
        for name, encoded in msg.files_b64.items():
            content[name] = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("files_b64 holds something that is not base64") from None
    return content


def cache_handlers(services: Services, callers: Callers) -> dict[type, Handler]:
    cache, writes = services.cache, services.cache_writes

    def create(peer: Peer, msg: CacheCreate) -> Outcome:
        content = decoded_files(msg)

        async def write() -> dict[str, Any]:
            entry = await writes.create(
                callers.of(peer),
                msg.task_id,
                msg.agent_type,
                content,
                preview=msg.preview or "",
                agent=msg.agent,
            )
            return entry_to_dict(entry, running=True)

        return Later(write(), QUERY_TIMEOUT)

    def register(peer: Peer, msg: CacheRegister) -> Outcome:
        caller = callers.of(peer)
        writes.check_register(caller, msg.task_id, msg.path, msg.agent)

        async def index() -> dict[str, Any]:
            entry = await writes.register(
                caller,
                msg.task_id,
                msg.agent_type,
                path=msg.path,
                preview=msg.preview or "",
                agent=msg.agent,
            )
            return entry_to_dict(entry, running=True)

        return Later(index(), QUERY_TIMEOUT)

    def finish(peer: Peer, msg: CacheFinish) -> Outcome:
        entry = writes.finish(callers.of(peer), msg.task_id, msg.agent)
        return Committed(entry_to_dict(entry, running=False))

    def summary(peer: Peer, msg: GetCacheSummary) -> Outcome:
        stats = stats_to_dict(cache.statistics())
        if services.hosts is not None:
            stats["hosts"] = {
                host: {"count": count, "size_bytes": size}
                for host, (count, size) in services.hosts.cache_by_host().items()
            }
        return Immediate(stats)

    def listing(peer: Peer, msg: CacheList) -> Outcome:
        entries = cache.get_cache_entries()[: msg.limit]
        return Immediate({"entries": [entry_to_dict(e, cache.running(e)) for e in entries]})

    async def previewed(msg: CachePreview) -> dict[str, Any]:
        return preview_to_dict(await cache.preview_cache_entry(msg.task_id, msg.lines))

    def preview(peer: Peer, msg: CachePreview) -> Outcome:
        return Later(previewed(msg), QUERY_TIMEOUT)

    def on_host(host: str, action: str, args: dict[str, Any]) -> Outcome:
        if services.hosts is None:
            raise Invalid("this controller is not a hub (nats.url): it has no other hosts")
        hosts = services.hosts
        return Later(hosts.cache_command(host, action, args, by="hub"), QUERY_TIMEOUT)

    def plan(peer: Peer, msg: CachePlan) -> Outcome:
        if msg.host is not None:
            args = {"kind": msg.kind, "task_id": msg.task_id, "force": msg.force}
            return on_host(msg.host, "cache_plan", {**args, "max_age_days": msg.max_age_days})
        return Immediate(
            plan_to_dict(writes.plan(msg.kind, msg.task_id, msg.max_age_days, msg.force))
        )

    def execute(peer: Peer, msg: CacheExecute) -> Outcome:
        planned = [(item.task_id, item.inode) for item in msg.items]
        if msg.host is not None:
            services.operators.require(callers.of(peer))  # as a local clean is
            args = {"kind": msg.kind, "items": planned, "force": msg.force}
            return on_host(msg.host, "cache_execute", args)

        async def run() -> dict[str, Any]:
            result = await writes.execute(callers.of(peer), msg.kind, planned, msg.force)
            return result_to_dict(result, cache.total)

        return Later(run(), QUERY_TIMEOUT)

    return {
        CacheCreate: create,
        CacheRegister: register,
        CacheFinish: finish,
        GetCacheSummary: summary,
        CacheList: listing,
        CachePreview: preview,
        CachePlan: plan,
        CacheExecute: execute,
    }
