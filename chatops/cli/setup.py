"""``chatops setup claude-code|codex``: put chatops's hooks into an agent's own settings file.

Hand-editing ``settings.json`` is where installs go wrong: a hook timeout below the wait for a
human, a relative path that breaks in another project, a statusLine silently replaced, a comma
that makes the whole file unreadable to the agent. So the file is merged, not written over:
every key and hook of the user's stays where it was, chatops's own entries (recognised by their
command: the ``chatops`` program, or ``python -m chatops.cli``, then ``hook claude-code``,
``hook codex`` or ``statusline claude-code``) are replaced in place, and running it twice gives
the same file. A file that does not read as a JSON object is refused and left alone.

Claude Code (https://docs.claude.com/en/docs/claude-code/hooks): ``hooks.<Event>`` is a list of
``{"matcher": …, "hooks": [{"type": "command", "command": …, "timeout": seconds}]}``; the
matcher only means something on tool events. ``statusLine`` is one command.

Codex: read from openai/codex ``codex-rs/config/src/hook_config.rs`` (``HooksFile``,
``HookEventsToml``, ``HookHandlerConfig``; commit 012d0aa0) and
``codex-rs/hooks/src/engine/discovery.rs`` (``load_hooks_json``, commit 0082977c), Codex
0.124+ where hooks are on by default. Codex reads ``hooks.json`` beside each config layer
(``$CODEX_HOME``, default ``~/.codex``) in the same shape as Claude Code's, ``timeout`` in
seconds (600 when left out). Inline ``[hooks]`` in ``config.toml`` work too, but writing TOML
would need a writer for the user's whole file; ``hooks.json`` is JSON, so it gets the same merge.
Codex runs a user's hook only once it is trusted, and keys that trust by the hook's position:
replacing chatops's entry in place keeps the position, and a changed command asks again.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import stat
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXIT_REFUSED = 1
CLAUDE_TOOLS = "Bash|Write|Edit|MultiEdit|NotebookEdit"
CODEX_TOOLS = "Bash|apply_patch"
HUMAN_HOOK_TIMEOUT = 400
"""Seconds Claude Code / Codex give a hook that may wait for a human: above the hook's own wait
(``--timeout``, 300 s by default) and the 90 s it allows for a controller restart meanwhile, so
the agent never kills the hook before chatops's answer."""
QUICK_HOOK_TIMEOUT = 30
"""Seconds for an event chatops only records: it must never hold the agent up for long."""
WAIT_REPLY_MARGIN = 60
CLAUDE_EVENTS = (
    "SessionStart",
    "SessionEnd",
    "Notification",
    "Stop",
    "SubagentStop",
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "StopFailure",
)
CODEX_EVENTS = ("SessionStart", "PreToolUse", "PermissionRequest", "Stop")
HOOK_WORDS = {"claude-code": ("hook", "claude-code"), "codex": ("hook", "codex")}
STATUSLINE_WORDS = ("statusline", "claude-code")


class SetupError(Exception):
    """A settings file chatops will not touch: told on stderr, nothing written."""


@dataclass(frozen=True)
class HookEntry:
    """One chatops hook as an agent's settings spell it."""

    event: str
    matcher: str | None
    command: str
    timeout: int

    def group(self) -> dict[str, Any]:
        hook = {"type": "command", "command": self.command, "timeout": self.timeout}
        return {**({} if self.matcher is None else {"matcher": self.matcher}), "hooks": [hook]}


def chatops_program() -> list[str]:
    """The running chatops, as words an agent's shell can run from any directory: the
    ``chatops`` script this process was started as, else the one on PATH when it belongs to this
    Python (another install's would run other code), else ``python -m chatops.cli``."""
    started_as = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started_as is not None and started_as.name == "chatops" and started_as.exists():
        return [str(started_as.absolute())]
    found = shutil.which("chatops")
    if found is not None and Path(found).absolute().parent == Path(sys.executable).parent:
        return [str(Path(found).absolute())]
    return [sys.executable, "-m", "chatops.cli"]


def chatops_words(program: Sequence[str], config: str | None) -> list[str]:
    """The program and the global options every installed command carries: an absolute
    ``--config``, since the agent runs hooks in the project's directory, not this one."""
    if config is None:
        return list(program)
    return [*program, "--config", os.path.abspath(os.path.expanduser(config))]


def _words(command: object) -> list[str] | None:
    if not isinstance(command, str):
        return None
    try:
        return shlex.split(command)
    except ValueError:  # unbalanced quotes: not one of ours, which are shlex-joined
        return None


def _subcommand(words: list[str]) -> list[str] | None:
    """What follows the chatops program and its global options, or None for another program."""
    for index, word in enumerate(words):
        if Path(word).name == "chatops" or (
            word == "chatops.cli" and index > 0 and words[index - 1] == "-m"
        ):
            rest = words[index + 1 :]
            at = 0
            while at < len(rest) and rest[at].startswith("-"):
                at += 2 if rest[at] in ("--config", "--log-level") else 1
            return rest[at:]
    return None


def is_chatops_command(command: object, words: Sequence[str]) -> bool:
    """Whether an agent's hook or statusLine command is the chatops one named by ``words``."""
    split = _words(command)
    sub = None if split is None else _subcommand(split)
    return sub is not None and sub[: len(words)] == list(words)


def then_of(command: object) -> str | None:
    """The user's own statusLine kept by a chatops status line (its ``--then``), if any."""
    split = _words(command)
    sub = None if split is None else _subcommand(split)
    if not sub:
        return None
    for index, word in enumerate(sub):
        if word == "--then" and index + 1 < len(sub):
            return sub[index + 1]
        if word.startswith("--then="):
            return word.removeprefix("--then=")
    return None


def claude_hooks(
    base: Sequence[str], agent: str | None, wait_reply: float | None
) -> list[HookEntry]:
    """Every hook chatops installs in Claude Code, one command for all (it reads the event)."""
    hook = [*base, *HOOK_WORDS["claude-code"], *(["--agent", agent] if agent else [])]
    entries = []
    for event in CLAUDE_EVENTS:
        words, timeout = hook, QUICK_HOOK_TIMEOUT
        if event in ("PreToolUse", "PermissionRequest"):
            timeout = HUMAN_HOOK_TIMEOUT
        elif event == "Stop" and wait_reply is not None:
            seconds = f"{wait_reply:g}"
            words = [*hook, "--wait-reply", seconds]
            timeout = math.ceil(wait_reply) + WAIT_REPLY_MARGIN
        matcher = {"PreToolUse": CLAUDE_TOOLS, "PermissionRequest": "*", "PostToolUse": "*"}
        entries.append(HookEntry(event, matcher.get(event), shlex.join(words), timeout))
    return entries


def codex_hooks(base: Sequence[str], agent: str | None) -> list[HookEntry]:
    """The Codex events chatops acts on: the two that decide, and the session's edges."""
    command = shlex.join([*base, *HOOK_WORDS["codex"], *(["--agent", agent] if agent else [])])
    human = {"PreToolUse", "PermissionRequest"}
    return [
        HookEntry(
            event,
            CODEX_TOOLS if event == "PreToolUse" else None,
            command,
            HUMAN_HOOK_TIMEOUT if event in human else QUICK_HOOK_TIMEOUT,
        )
        for event in CODEX_EVENTS
    ]


def merged_hooks(
    existing: dict[str, Any], entries: Sequence[HookEntry], words: Sequence[str]
) -> dict[str, Any]:
    """``existing`` with chatops's hooks: each event's chatops entries are taken out of their
    groups (a group left empty goes), and chatops's group goes where the first of them was, or
    last. The user's groups keep their order, matchers and other hooks."""
    hooks = existing.get("hooks", {})
    if not isinstance(hooks, dict):
        raise SetupError('"hooks" is not a JSON object')
    merged = dict(hooks)
    for entry in entries:
        groups = merged.get(entry.event, [])
        if not isinstance(groups, list):
            raise SetupError(f'"hooks.{entry.event}" is not a JSON list')
        kept: list[Any] = []
        slot: int | None = None
        for group in groups:
            inner = group.get("hooks") if isinstance(group, dict) else None
            if not isinstance(inner, list):
                kept.append(group)
                continue
            theirs = [h for h in inner if not _is_ours(h, words)]
            if len(theirs) < len(inner) and slot is None:
                slot = len(kept)
            if theirs or len(theirs) == len(inner):
                kept.append({**group, "hooks": theirs})
        kept.insert(len(kept) if slot is None else slot, entry.group())
        merged[entry.event] = kept
    return {**existing, "hooks": merged}


def _is_ours(hook: object, words: Sequence[str]) -> bool:
    return isinstance(hook, dict) and is_chatops_command(hook.get("command"), words)


def merged_claude_settings(
    existing: dict[str, Any],
    entries: Sequence[HookEntry],
    base: Sequence[str],
    agent: str | None = None,
) -> dict[str, Any]:
    """Claude Code's settings with chatops's hooks and status line. A statusLine of the user's
    own is kept, run by chatops's (``--then``), so installing chatops takes nothing away. The
    status line names the session as the hooks do (``--agent``): one fleet member, not two."""
    merged = merged_hooks(existing, entries, HOOK_WORDS["claude-code"])
    status = existing.get("statusLine")
    if status is not None and not isinstance(status, dict):
        raise SetupError('"statusLine" is not a JSON object')
    theirs = (status or {}).get("command")
    if is_chatops_command(theirs, STATUSLINE_WORDS):
        theirs = then_of(theirs)
    words = [*base, *STATUSLINE_WORDS, *(["--agent", agent] if agent else [])]
    if isinstance(theirs, str) and theirs.strip():
        words += ["--then", theirs]
    merged["statusLine"] = {**(status or {}), "type": "command", "command": shlex.join(words)}
    return merged


def merged_codex_hooks(existing: dict[str, Any], entries: Sequence[HookEntry]) -> dict[str, Any]:
    """Codex's ``hooks.json`` with chatops's hooks."""
    return merged_hooks(existing, entries, HOOK_WORDS["codex"])


def read_settings(path: Path) -> dict[str, Any]:
    """The file's JSON object; ``{}`` when there is no file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"{path} cannot be read: {exc}") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise SetupError(f"{path} is not valid JSON ({exc}); fix it first") from None
    if not isinstance(value, dict):
        raise SetupError(f"{path} holds JSON that is not an object; fix it first")
    return value


def render(settings: dict[str, Any]) -> str:
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"


def write_settings(path: Path, text: str, now: datetime) -> Path | None:
    """Write ``text`` to ``path`` atomically (a temp file beside it, then ``os.replace``), so
    the agent never reads half a file. The old file is first copied, mode and all, to
    ``NAME.bak-YYYYmmdd-HHMMSS`` (UTC), which is returned. A symlinked settings file (dotfiles)
    is written through, not replaced by a plain file. A new file is 0600."""
    target = Path(os.path.realpath(path))
    try:
        old = target.stat()
    except FileNotFoundError:
        old = None
    backup = None
    if old is not None:
        backup = _backup(target, stat.S_IMODE(old.st_mode), now)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, 0o600 if old is None else stat.S_IMODE(old.st_mode))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return backup


def _backup(target: Path, mode: int, now: datetime) -> Path:
    """A copy nobody else can have written: created exclusively, a suffix when the name of this
    second is taken."""
    data = target.read_bytes()
    stamp = now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    for attempt in range(100):
        name = f"{target.name}.bak-{stamp}" + (f"-{attempt}" if attempt else "")
        backup = target.with_name(name)
        try:
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.chmod(backup, mode)  # the umask may have taken bits off
        return backup
    raise SetupError(f"no free backup name beside {target}")


def claude_settings_path(project: str | None, settings: str | None) -> Path:
    if settings is not None:
        return Path(settings).expanduser().absolute()
    root = Path(project).expanduser().absolute() if project is not None else Path.home()
    return root / ".claude" / "settings.json"


def codex_hooks_path() -> Path:
    home = os.environ.get("CODEX_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".codex").absolute() / "hooks.json"


def _codex_notes(hooks_path: Path) -> list[str]:
    """What in Codex's config.toml would keep the hooks from running as installed."""
    import tomllib

    try:
        config = tomllib.loads((hooks_path.parent / "config.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    notes = []
    features = config.get("features")
    if isinstance(features, dict) and False in (features.get("hooks"), features.get("codex_hooks")):
        notes.append("config.toml turns hooks off ([features] hooks = false): turn them on")
    if isinstance(config.get("hooks"), dict):
        notes.append("config.toml has [hooks] too: Codex runs both; keep chatops in one place")
    return notes


def setup_command(args: Any) -> int:
    """``chatops setup claude-code|codex``: print the merged file, or write it with ``--write``."""
    base = chatops_words(chatops_program(), args.config)
    if args.config is not None and not Path(base[-1]).is_file():
        print(f"chatops: note: {base[-1]} does not exist (yet)", file=sys.stderr)
    notes: list[str] = []
    try:
        if args.setup_command == "claude-code":
            path = claude_settings_path(args.project, args.settings)
            existing = read_settings(path)
            entries = claude_hooks(base, args.agent, args.wait_reply)
            merged = merged_claude_settings(existing, entries, base, args.agent)
            if existing.get("disableAllHooks") is True:
                notes.append('"disableAllHooks" is true there: Claude Code runs no hook')
            installed = [entry.event for entry in entries] + ["statusLine"]
        else:
            path = codex_hooks_path()
            existing = read_settings(path)
            entries = codex_hooks(base, args.agent)
            merged = merged_codex_hooks(existing, entries)
            notes += _codex_notes(path)
            installed = [entry.event for entry in entries]
        text = render(merged)
        current = path.is_file() and path.read_text(encoding="utf-8") == text
        if not args.write:
            print(text, end="")
            if current:
                what = f"{path} already has chatops's entries: --write would change nothing"
            elif path.exists():
                what = f"--write would write {path} (after a backup)"
            else:
                what = f"--write would create {path}"
            print(f"chatops: {what}", file=sys.stderr)
        elif current:
            print(f"{path} already has chatops's {', '.join(installed)}; nothing written")
        else:
            backup = write_settings(path, text, datetime.now(UTC))
            print(f"Wrote {path}: chatops's {', '.join(installed)}")
            print(f"Backup of the previous file: {backup}" if backup else "(a new file)")
    except (SetupError, OSError) as exc:
        print(f"chatops: {exc}; nothing written", file=sys.stderr)
        return EXIT_REFUSED
    for note in notes:
        print(f"chatops: note: {note}", file=sys.stderr)
    return 0
