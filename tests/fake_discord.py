"""A loopback fake of Discord's REST API and gateway, enough for the real discord.py client.

Gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeat ACK, RESUME, and INTERACTION_CREATE
dispatched on demand. REST: the routes chatops calls, each recorded in :attr:`FakeDiscord.requests`.
Every JSON response is served with a content-type of exactly ``application/json``, which
discord.py requires before it parses a body.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from tests.discord_limits import UPLOAD_LIMIT, message_refusal

APP_ID = "900000000000000001"
BOT_USER_ID = APP_ID
GUILD_ID = "900000000000000100"
ALERT_CHANNEL_ID = "900000000000000200"
APPROVAL_CHANNEL_ID = "900000000000000210"
ADMIN_ROLE_ID = "900000000000000300"
ADMIN_USER_ID = "900000000000000401"
MEMBER_USER_ID = "900000000000000402"
APPROVER_USER_ID = "900000000000000403"
SECOND_APPROVER_USER_ID = "900000000000000404"

_snowflakes = itertools.count(910000000000000000)


def snowflake() -> str:
    return str(next(_snowflakes))


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    at: float = field(default_factory=time.monotonic)
    status: int = 0
    """What the fake answered (200, 429, …), set once it has."""


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly application/json, no charset: discord.py parses nothing else as JSON.
    return web.Response(
        status=status, body=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )


def user(user_id: str, name: str, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


class FakeDiscord:
    def __init__(self, token: str = "fake-token") -> None:
        self.token = token
        self.requests: list[Recorded] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.identified = asyncio.Event()
        self.changed = asyncio.Event()
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.response_messages: dict[str, dict[str, Any]] = {}
        self.edits: list[tuple[str, Any]] = []
        self._clicked_on: dict[str, str] = {}
        """Interaction id → the message its component is on (an UPDATE_MESSAGE edits it)."""
        """Every message edit (PATCH), in order: (message id, body)."""
        self._runner: web.AppRunner | None = None
        self._seq = 0
        self.port = 0
        # Discord's per-channel message bucket: 5 messages per 5 s, with X-RateLimit headers and
        # a 429 carrying retry_after when it is empty. Tests may widen it.
        self.bucket_limit = 5
        self.bucket_period = 5.0
        self._buckets: dict[str, list[float]] = {}
        self.rate_limited = 0
        self.upload_limit = UPLOAD_LIMIT
        self.uploads: dict[str, bytes] = {}
        """Each attachment's content, by attachment id."""
        self.refused: list[list[str]] = []
        """What each message refused for Discord's limits broke."""
        self.stall: asyncio.Event | None = None
        """While set to an unset event, a new message is created but its answer waits for the
        event: a client that dies meanwhile posted it without ever hearing so."""
        # enforce_nonce: the same nonce within a few minutes returns the existing message.
        self._nonces: dict[tuple[str, str], dict[str, Any]] = {}

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def client_config(self, workdir: Path) -> dict[str, Any]:
        """The ``discord:`` config section that points chatops at this fake."""
        return {
            "token": self.token,
            "guild_ids": [int(GUILD_ID)],
            "alert_channel_id": int(ALERT_CHANNEL_ID),
            "admin_user_ids": [int(ADMIN_USER_ID)],
            "api_base": self.api_base,
            "gateway_url": self.gateway_url,
            "command_hash_path": str(workdir / "commands.sha256"),
        }

    # -- observations ----------------------------------------------------------------------------

    def find(self, method: str, prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def callbacks(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/callback")]

    def channel_messages(self, channel_id: str = ALERT_CHANNEL_ID) -> list[Recorded]:
        return self.find("POST", f"/channels/{channel_id}/messages")

    # -- gateway ---------------------------------------------------------------------------------

    async def _send(
        self, ws: web.WebSocketResponse, op: int, data: Any, event: str | None = None
    ) -> None:
        payload: dict[str, Any] = {"op": op, "d": data, "s": None, "t": event}
        if op == 0:
            self._seq += 1
            payload["s"] = self._seq
        await ws.send_str(json.dumps(payload))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await self._send(ws, 10, {"heartbeat_interval": 41250})
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op = frame.get("op")
                if op == 1:
                    await self._send(ws, 11, None)
                elif op == 2:
                    await self._ready(ws)
                elif op == 6:
                    await self._send(ws, 0, {}, "RESUMED")
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
        return ws

    async def _ready(self, ws: web.WebSocketResponse) -> None:
        await self._send(
            ws,
            0,
            {
                "v": 10,
                "user": user(BOT_USER_ID, "chatops", bot=True),
                "guilds": [{"id": GUILD_ID, "unavailable": True}],
                "session_id": "fake-session",
                "resume_gateway_url": self.gateway_url,
                "application": {"id": APP_ID, "flags": 0},
                "shard": [0, 1],
            },
            "READY",
        )
        await self._send(ws, 0, self.guild(), "GUILD_CREATE")
        self.identified.set()

    def guild(self) -> dict[str, Any]:
        return {
            "id": GUILD_ID,
            "name": "ops",
            "owner_id": ADMIN_USER_ID,
            "unavailable": False,
            "member_count": 3,
            "large": False,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [
                {
                    "id": GUILD_ID,
                    "name": "@everyone",
                    "permissions": "0",
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                },
                {
                    "id": ADMIN_ROLE_ID,
                    "name": "oncall",
                    "permissions": "32",
                    "position": 1,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": True,
                },
            ],
            "channels": [
                {
                    "id": ALERT_CHANNEL_ID,
                    "type": 0,
                    "name": "alerts",
                    "position": 0,
                    "permission_overwrites": [],
                    "guild_id": GUILD_ID,
                }
            ],
            "threads": [],
            "members": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "system_channel_flags": 0,
            "joined_at": "2026-01-01T00:00:00+00:00",
        }

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        await asyncio.wait_for(self.identified.wait(), 30)
        for ws in list(self.sockets):
            await self._send(ws, 0, data, event)

    # -- interactions ----------------------------------------------------------------------------

    def member(self, user_id: str, roles: list[str]) -> dict[str, Any]:
        return {
            "user": user(user_id, f"user{user_id[-3:]}"),
            "roles": roles,
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": "1099511627775",
            "nick": None,
            "avatar": None,
        }

    def _interaction(
        self,
        kind: int,
        data: dict[str, Any],
        user_id: str,
        roles: list[str],
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": snowflake(),
            "application_id": APP_ID,
            "type": kind,
            "data": data,
            "guild_id": GUILD_ID,
            "channel_id": ALERT_CHANNEL_ID,
            "channel": {
                "id": ALERT_CHANNEL_ID,
                "type": 0,
                "guild_id": GUILD_ID,
                "name": "alerts",
                "position": 0,
                "permission_overwrites": [],
            },
            "member": self.member(user_id, roles),
            "token": f"tok-{snowflake()}",
            "version": 1,
            "app_permissions": "1099511627775",
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD_ID},
            "context": 0,
            "attachment_size_limit": 8388608,
        }
        if message is not None:
            payload["message"] = message
        return payload

    async def slash(
        self,
        name: str,
        options: list[dict[str, Any]] | None = None,
        *,
        user_id: str = ADMIN_USER_ID,
        roles: list[str] | None = None,
        kind: int = 2,
    ) -> dict[str, Any]:
        """Send a slash command (or, with kind=4, its autocomplete) as a member."""
        registered = {c["name"]: c for cmds in self.commands.values() for c in cmds}
        command = registered.get(name.split()[0], {"id": snowflake(), "name": name})
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name.split()[0],
            "type": 1,
            "guild_id": GUILD_ID,
        }
        opts = options or []
        for sub in reversed(name.split()[1:]):
            opts = [{"type": 1, "name": sub, "options": opts}]
        data["options"] = opts
        payload = self._interaction(kind, data, user_id, roles or [])
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def click(
        self,
        message: dict[str, Any],
        custom_id: str,
        *,
        user_id: str = ADMIN_USER_ID,
        roles: list[str] | None = None,
    ) -> dict[str, Any]:
        data = {"custom_id": custom_id, "component_type": 2}
        payload = self._interaction(3, data, user_id, roles or [], message=message)
        self._clicked_on[payload["id"]] = message["id"]
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def submit_modal(
        self,
        modal: dict[str, Any],
        values: dict[str, str],
        *,
        message: dict[str, Any] | None = None,
        user_id: str = ADMIN_USER_ID,
        roles: list[str] | None = None,
    ) -> dict[str, Any]:
        """Submit the modal the bot opened (its callback's ``data``), typing ``values`` by each
        text input's label; the rows and labels keep the shape the bot sent."""

        def answered(component: dict[str, Any], label: str | None = None) -> dict[str, Any]:
            if component["type"] == 1:
                return {"type": 1, "components": [answered(c) for c in component["components"]]}
            if component["type"] == 18:
                return {
                    "type": 18,
                    "component": answered(component["component"], component["label"]),
                }
            name = label or component.get("label", "")
            return {"type": 4, "custom_id": component["custom_id"], "value": values.get(name, "")}

        data = {
            "custom_id": modal["custom_id"],
            "components": [answered(c) for c in modal["components"]],
        }
        payload = self._interaction(5, data, user_id, roles or [], message=message)
        if message is not None:
            self._clicked_on[payload["id"]] = message["id"]
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def wait_callback(self, interaction: dict[str, Any], timeout: float = 20) -> Any:
        """The bot's answer to one interaction (its callback body)."""
        path = f"/interactions/{interaction['id']}/{interaction['token']}/callback"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for r in self.requests:
                if r.path == path:
                    return r.body
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), 0.2)
        raise AssertionError(f"no callback for interaction {interaction['data']}")

    async def wait_followup(self, interaction: dict[str, Any], timeout: float = 20) -> Any:
        prefix = f"/webhooks/{APP_ID}/{interaction['token']}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for r in self.requests:
                if r.path.startswith(prefix) and r.method in ("POST", "PATCH"):
                    return r.body
            await asyncio.sleep(0.05)
        raise AssertionError("no followup")

    # -- REST ------------------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> Any:
        if request.content_type.startswith("multipart/"):
            parts: dict[str, Any] = {"files": []}
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    parts.update(json.loads(await part.text()))  # type: ignore[union-attr]
                else:
                    data = await part.read()  # type: ignore[union-attr]
                    parts["files"].append(
                        {
                            "name": part.filename,  # type: ignore[union-attr]
                            "size": len(data),
                            "head": bytes(data[:8]),
                            "data": bytes(data),
                        }
                    )
            return parts
        if request.can_read_body:
            try:
                return await request.json()
            except ValueError:
                return None
        return None

    def _create_message(self, channel_id: str, body: dict[str, Any]) -> web.Response:
        refused = self._over_limits(body)
        if refused is not None:
            return refused
        now = time.monotonic()
        window = [t for t in self._buckets.get(channel_id, []) if t > now - self.bucket_period]
        self._buckets[channel_id] = window
        if len(window) >= self.bucket_limit:
            self.rate_limited += 1
            retry_after = round(window[0] + self.bucket_period - now, 3)
            response = _json(
                {
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": False,
                },
                status=429,
            )
            response.headers.update(self._bucket_headers(channel_id, 0, retry_after))
            response.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
            return response
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            existing = self._nonces.get((channel_id, str(nonce)))
            if existing is not None:
                return _json(existing)
        window.append(now)
        message = self._message(channel_id, body)
        if nonce is not None:
            self._nonces[(channel_id, str(nonce))] = message
        remaining = self.bucket_limit - len(window)
        reset_after = round(window[0] + self.bucket_period - now, 3)
        response = _json(message)
        response.headers.update(self._bucket_headers(channel_id, remaining, reset_after))
        return response

    def _over_limits(self, body: dict[str, Any]) -> web.Response | None:
        """Discord's limits on a new message, answered as Discord does (see
        :mod:`tests.discord_limits`); what was refused is kept in :attr:`refused`."""
        refusal = message_refusal(body, self.upload_limit)
        if refusal is None:
            return None
        status, answer = refusal
        self.refused.append(answer.get("errors") or [answer["message"]])
        return _json(answer, status)

    def attachment(self, message: dict[str, Any], index: int = 0) -> bytes:
        """The content of one of ``message``'s attachments, as its URL would serve it."""
        return self.uploads[message["attachments"][index]["id"]]

    def _bucket_headers(
        self, channel_id: str, remaining: int, reset_after: float
    ) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.bucket_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"channel-messages-{channel_id}",
        }

    def channel_posts(self, channel_id: str = ALERT_CHANNEL_ID) -> list[dict[str, Any]]:
        """The messages that exist in the channel (a nonce replay creates none)."""
        return [m for m in self.messages.values() if m["channel_id"] == channel_id]

    def _message(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        message = {
            "id": snowflake(),
            "channel_id": channel_id,
            "author": user(BOT_USER_ID, "chatops", bot=True),
            "content": body.get("content") or "",
            "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [self._attachment(f) for f in body.get("files") or []],
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "type": 0,
            "components": body.get("components") or [],
            "flags": body.get("flags") or 0,
        }
        self.messages[message["id"]] = message
        return message

    def _attachment(self, upload: dict[str, Any]) -> dict[str, Any]:
        attachment_id = snowflake()
        self.uploads[attachment_id] = upload["data"]
        name = upload["name"]
        url = f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{name}"
        return {
            "id": attachment_id,
            "filename": name,
            "size": upload["size"],
            "url": url,
            "proxy_url": url,
            "content_type": "text/csv" if name.endswith(".csv") else "application/octet-stream",
        }

    def _edit_message(self, channel_id: str, message_id: str, body: Any) -> dict[str, Any]:
        """An edit changes the message in place (same id), as Discord does."""
        message = self.messages.get(message_id)
        if message is None:
            return self._message(channel_id, body or {})
        for key in ("content", "embeds", "components"):
            if isinstance(body, dict) and key in body:
                message[key] = body[key]
        message["edited_timestamp"] = "2026-01-01T00:00:01+00:00"
        self.edits.append((message_id, body))
        return message

    def _callback_response(self, interaction_id: str, body: dict[str, Any]) -> web.Response:
        """What Discord answers to a callback sent ``with_response``: the interaction and the
        resource it created (discord.py reads both)."""
        kind = body.get("type", 4)
        data = body.get("data") or {}
        resource: dict[str, Any] = {"type": kind}
        interaction: dict[str, Any] = {
            "id": interaction_id,
            "type": 2,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool((data.get("flags") or 0) & 64),
        }
        on = self._clicked_on.get(interaction_id)
        if kind == 7 and on is not None and on in self.messages:
            message = self._edit_message(self.messages[on]["channel_id"], on, data)
            resource["message"] = message
            interaction["response_message_id"] = message["id"]
        elif kind in (4, 7):
            message = self._message(ALERT_CHANNEL_ID, data)
            message["interaction_metadata"] = {
                "id": interaction_id,
                "type": 2,
                "user": user(ADMIN_USER_ID, "admin"),
                "authorizing_integration_owners": {},
            }
            self.response_messages[interaction_id] = message
            resource["message"] = message
            interaction["response_message_id"] = message["id"]
        return _json({"interaction": interaction, "resource": resource})

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body = await self._body(request)
        recorded = Recorded(request.method, path, body)
        self.requests.append(recorded)
        self.changed.set()
        response = await self._route(request, path, body)
        recorded.status = response.status
        return response

    async def _route(self, request: web.Request, path: str, body: Any) -> web.StreamResponse:
        parts = path.strip("/").split("/")
        method = request.method
        if path == "/users/@me":
            if request.headers.get("Authorization") != f"Bot {self.token}":
                return _json({"message": "401: Unauthorized", "code": 0}, status=401)
            return _json(user(BOT_USER_ID, "chatops", bot=True))
        if path == "/oauth2/applications/@me":
            return _json(
                {
                    "id": APP_ID,
                    "name": "chatops",
                    "icon": None,
                    "description": "",
                    "bot_public": False,
                    "bot_require_code_grant": False,
                    "verify_key": "0" * 64,
                    "flags": 0,
                    "team": None,
                    "owner": user(ADMIN_USER_ID, "owner"),
                    "summary": "",
                }
            )
        if path in ("/gateway", "/gateway/bot"):
            return _json(
                {
                    "url": self.gateway_url,
                    "shards": 1,
                    "session_start_limit": {
                        "total": 1000,
                        "remaining": 1000,
                        "reset_after": 0,
                        "max_concurrency": 1,
                    },
                }
            )
        if parts[0] == "applications" and parts[-1] == "commands":
            key = path
            if method == "PUT":
                stored = [
                    {**c, "id": snowflake(), "application_id": APP_ID, "version": "1"}
                    for c in body or []
                ]
                self.commands[key] = stored
                return _json(stored)
            return _json(self.commands.get(key, []))
        if parts[0] == "interactions" and parts[-1] == "callback":
            return self._callback_response(parts[1], body or {})
        if parts[0] == "webhooks" and len(parts) >= 3 and parts[1] == APP_ID:
            if method == "POST":
                return _json(self._message(ALERT_CHANNEL_ID, body or {}))
            if method == "PATCH":
                return _json(self._message(ALERT_CHANNEL_ID, body or {}))
            if method == "GET":
                return _json(self._message(ALERT_CHANNEL_ID, {}))
            return web.Response(status=204)
        is_message = parts[0] == "channels" and len(parts) >= 3 and parts[2] == "messages"
        if is_message and method == "POST":
            response = self._create_message(parts[1], body or {})
            if self.stall is not None and response.status == 200:
                await self.stall.wait()
            return response
        if is_message and method == "PATCH":
            return _json(self._edit_message(parts[1], parts[3] if len(parts) > 3 else "", body))
        if parts[0] == "channels" and len(parts) == 2:
            return _json(
                {
                    "id": parts[1],
                    "type": 0,
                    "guild_id": GUILD_ID,
                    "name": "alerts",
                    "position": 0,
                    "permission_overwrites": [],
                }
            )
        return _json({"message": "Unknown route in fake", "code": 0}, status=404)
