"""Discord's documented limits on a new message, for the fake to refuse what Discord would.

A message is refused with 400 Invalid Form Body (code 50035) when its text is over a limit, and
with 413 (code 40005) when a file is over the upload limit, so a test against the fake fails
where the real channel would have refused the message.
"""

from __future__ import annotations

from typing import Any

MESSAGE_CONTENT_LIMIT = 2000
EMBED_LIMITS = {"title": 256, "description": 4096, "footer": 2048, "author": 256}
EMBEDS_TOTAL_LIMIT = 6000
"""Every embed's title, description, field names and values, footer and author, together."""
FIELDS_LIMIT = 25
EMBEDS_LIMIT = 10
FILES_LIMIT = 10
UPLOAD_LIMIT = 10 * 1024 * 1024
"""Discord's upload limit per file in a server without boosts: 10 MiB."""


def embed_text(embed: dict[str, Any], key: str) -> str:
    """The text of one part of an embed that counts towards its limits."""
    if key == "footer":
        return str((embed.get("footer") or {}).get("text", ""))
    if key == "author":
        return str((embed.get("author") or {}).get("name", ""))
    if key == "fields":
        fields = embed.get("fields") or []
        return "".join(f"{f.get('name', '')}{f.get('value', '')}" for f in fields)
    return str(embed.get(key) or "")


def message_refusal(
    body: dict[str, Any], upload_limit: int = UPLOAD_LIMIT
) -> tuple[int, dict[str, Any]] | None:
    """The status and JSON Discord answers to a new message ``body`` (with its uploads in
    ``files``, each with its ``size``) over its limits, or None when it is within them."""
    errors: list[str] = []
    if len(body.get("content") or "") > MESSAGE_CONTENT_LIMIT:
        errors.append(f"content: must be {MESSAGE_CONTENT_LIMIT} or fewer in length")
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_LIMIT:
        errors.append(f"embeds: must be {EMBEDS_LIMIT} or fewer in length")
    total = 0
    for index, embed in enumerate(embeds):
        for key, limit in EMBED_LIMITS.items():
            if len(embed_text(embed, key)) > limit:
                errors.append(f"embeds.{index}.{key}: must be {limit} or fewer in length")
        if len(embed.get("fields") or []) > FIELDS_LIMIT:
            errors.append(f"embeds.{index}.fields: must be {FIELDS_LIMIT} or fewer in length")
        total += sum(len(embed_text(embed, key)) for key in (*EMBED_LIMITS, "fields"))
    if total > EMBEDS_TOTAL_LIMIT:
        errors.append(f"embeds: embed size exceeds maximum size of {EMBEDS_TOTAL_LIMIT}")
    files = body.get("files") or []
    if len(files) > FILES_LIMIT:
        errors.append(f"files: must be {FILES_LIMIT} or fewer in length")
    if errors:
        return 400, {"message": "Invalid Form Body", "code": 50035, "errors": errors}
    if any(upload["size"] > upload_limit for upload in files):
        return 413, {"message": "Request entity too large", "code": 40005}
    return None
