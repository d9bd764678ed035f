"""What an approver (and the audit) sees of an action: a one-line summary and a preview of
the content, truncated, with secrets masked before anything is shown or stored.

The masks cover what agents most often carry by accident: private key blocks, provider keys
with a recognisable prefix (OpenAI/Anthropic ``sk-``, GitHub ``ghp_``…, AWS ``AKIA``, Slack
``xox?-``, Google ``AIza``), bearer tokens, URLs with a password, and ``KEY=value`` /
``"key": "value"`` pairs whose key names a secret. A dedicated scanner (detect-secrets) was
considered: it scans files for commit hooks and is far heavier than one pass of these patterns
over a preview that is at most a few kB.
"""

from __future__ import annotations

import re
from typing import Any

PREVIEW_CHARS = 900
SUMMARY_CHARS = 300
MASK = "••••••"

_MASKS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S
        ),
        MASK,
    ),
    (
        re.compile(
            r"\b(?:sk-(?:ant-)?[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
            r"|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}"
            r"|AIza[0-9A-Za-z_-]{30,})"
        ),
        MASK,
    ),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\g<1>{MASK}"),
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+(@)"), rf"\g<1>{MASK}\g<2>"),
    (
        re.compile(
            r"""(?i)((?:api[_-]?key|secret|token|passw(?:or)?d|pwd|credential|private[_-]?key)"""
            r"""[A-Za-z0-9_-]*["']?\s*[:=]\s*["']?)[^\s"',;]{3,}"""
        ),
        rf"\g<1>{MASK}",
    ),
]


def mask_secrets(text: str) -> str:
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarise(action_type: str, data: dict[str, Any]) -> str:
    """The command, or the path and size: what the prompt's title line says."""
    command = data.get("command")
    if isinstance(command, str):
        cwd = data.get("cwd")
        where = f" (in {cwd})" if isinstance(cwd, str) and cwd else ""
        return truncate(mask_secrets(command.strip()) + where, SUMMARY_CHARS)
    path = data.get("file_path")
    if isinstance(path, str):
        size = data.get("file_size")
        content = data.get("content")
        if not isinstance(size, int | float) and isinstance(content, str):
            size = len(content.encode())
        sized = f" ({_size(size)})" if isinstance(size, int | float) else ""
        return truncate(mask_secrets(path) + sized, SUMMARY_CHARS)
    description = data.get("description") or data.get("task") or action_type
    return truncate(mask_secrets(str(description)), SUMMARY_CHARS)


def preview(data: dict[str, Any]) -> str:
    """The start of the content (or a script's text), masked and truncated."""
    content = data.get("content")
    if not isinstance(content, str):
        content = data.get("diff") if isinstance(data.get("diff"), str) else None
    if not isinstance(content, str) or not content:
        return ""
    return truncate(mask_secrets(content), PREVIEW_CHARS)


def _size(size: float) -> str:
    if size < 1024:
        return f"{size:.0f} B"
    if size < 1_048_576:
        return f"{size / 1024:.1f} kB"
    return f"{size / 1_048_576:.1f} MB"


def mask_data(value: Any) -> Any:
    """``value`` (an action's data) with every string in it masked: the copy the audit keeps
    and the doors show, so a key the agent sent never reaches the database or a screen."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {str(key): mask_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_data(item) for item in value]
    return value
