"""The commands the default policy blocks, judged on the parsed command (see :mod:`.shell`).

Each check looks at one simple command (program by base name, its options in any spelling) or at
a pipeline; none of them greps the raw text, so ``echo "rm -rf /"`` and ``grep -rn format src``
are not blocked while ``sudo env X=1 /bin/rm -r -f ~`` is. Inline interpreter code (``python
-c``, ``node -e``, ``ruby -e``, ``perl -e``) is read where it is visible.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from chatops.services.approvals.shell import SHELLS, Analysis, SimpleCommand, analyse, base_name

INTERPRETERS = frozenset({"python", "python2", "python3", "node", "nodejs", "ruby", "perl", "php"})
_INTERPRETER_STEMS = frozenset(name.rstrip("0123456789") for name in INTERPRETERS)
DOWNLOADERS = frozenset({"curl", "wget", "fetch"})
_INLINE_DESTRUCTIVE = re.compile(
    r"rmtree|os\.remove|os\.unlink|unlink(Sync)?\(|rm_rf|rm_r\b|FileUtils\.rm|rimraf"
    r"|rmSync\(|rmdirSync\(|\brm\s+-\w*[rR]|git\s+(reset\s+--hard|clean\s+-\w*f)",
)
_EMBEDDED_SHELL = re.compile(r"""(?:system|execSync|exec|spawnSync|`)\(?\s*['"`](.+?)['"`]""")
_SQL_DROP = re.compile(r"\bdrop\s+(table|database|schema)\b", re.IGNORECASE)


def _short_flags(args: tuple[str, ...]) -> set[str]:
    flags: set[str] = set()
    for arg in args:
        if arg == "--":
            break
        if arg.startswith("-") and not arg.startswith("--"):
            flags.update(arg[1:])
    return flags


def _long(args: tuple[str, ...]) -> set[str]:
    return {arg.split("=", 1)[0] for arg in args if arg.startswith("--")}


def _rm(cmd: SimpleCommand) -> str | None:
    flags, long = _short_flags(cmd.args), _long(cmd.args)
    recursive = bool(flags & {"r", "R"}) or "--recursive" in long
    force = "f" in flags or "--force" in long
    if recursive and force:
        return "rm with --recursive and --force deletes a tree without asking"
    return None


def _git(cmd: SimpleCommand) -> str | None:
    args = list(cmd.args)
    while args and args[0].startswith("-"):  # global options: -C dir, -c k=v, --git-dir=…
        option = args.pop(0)
        if option in ("-C", "-c", "--git-dir", "--work-tree", "--namespace") and args:
            args.pop(0)
    if not args:
        return None
    sub, rest = args[0], tuple(args[1:])
    flags, long = _short_flags(rest), _long(rest)
    if sub == "reset" and "--hard" in long:
        return "git reset --hard discards uncommitted work"
    if sub == "clean" and ("f" in flags or "--force" in long):
        return "git clean -f deletes untracked files"
    if sub == "push" and ("f" in flags or "--force" in long) and "--force-with-lease" not in long:
        return "git push --force rewrites the remote's history"
    if sub == "push" and any(arg.startswith("+") for arg in rest):
        return "git push +refspec is a forced push"
    if sub == "branch" and ("D" in flags or ("--delete" in long and "--force" in long)):
        return "git branch -D deletes an unmerged branch"
    if sub == "stash" and rest[:1] in (("clear",), ("drop",)):
        return f"git stash {rest[0]} throws stashed work away"
    if sub in ("checkout", "restore") and "--" in rest and "." in rest[rest.index("--") + 1 :]:
        return f"git {sub} -- . discards every uncommitted change"
    if sub == "checkout" and rest == (".",):
        return "git checkout . discards every uncommitted change"
    return None


def _mkfs(cmd: SimpleCommand) -> str | None:
    return "mkfs formats a file system" if cmd.name.startswith("mkfs") else None


def _dd(cmd: SimpleCommand) -> str | None:
    if any(arg.startswith("of=/dev/") and arg != "of=/dev/null" for arg in cmd.args):
        return "dd onto a device overwrites it"
    return None


def _chmod(cmd: SimpleCommand) -> str | None:
    recursive = "R" in _short_flags(cmd.args) or "--recursive" in _long(cmd.args)
    if recursive and "777" in cmd.args and "/" in cmd.args:
        return "chmod -R 777 / opens every file to everyone"
    return None


def _windows(cmd: SimpleCommand) -> str | None:
    lowered = {arg.lower() for arg in cmd.args}
    if cmd.name.lower() in ("del", "erase") and {"/s", "/q"} <= lowered:
        return "del /S /Q deletes a tree without asking"
    if cmd.name.lower() == "format" and any(re.fullmatch(r"[a-z]:", a) for a in lowered):
        return "format erases a drive"
    return None


def _sql(cmd: SimpleCommand) -> str | None:
    if any(_SQL_DROP.search(arg) for arg in cmd.args):
        return "SQL DROP destroys a table or database"
    return None


def _inline(cmd: SimpleCommand) -> str | None:
    if base_name(cmd.name).rstrip("0123456789.") not in _INTERPRETER_STEMS:
        return None  # python3.12 is python
    code = " ".join(cmd.args)
    for shell_text in re.findall(
        r"""(?:system|execSync|exec|spawnSync|`)\(?\s*['"`](.+?)['"`]""", code
    ):
        reason = check(analyse(shell_text))
        if reason is not None:
            return f"inline code runs: {reason}"
    if _INLINE_DESTRUCTIVE.search(code):
        return "inline interpreter code deletes files"
    return None


CHECKS: dict[str, Callable[[SimpleCommand], str | None]] = {
    "rm": _rm,
    "git": _git,
    "dd": _dd,
    "chmod": _chmod,
}
GENERIC: tuple[Callable[[SimpleCommand], str | None], ...] = (_mkfs, _windows, _sql, _inline)


def check(analysis: Analysis) -> str | None:
    """Why the analysed command is dangerous, or None."""
    if analysis.fork_bomb:
        return "a fork bomb"
    for pipeline in analysis.pipelines:
        names = [cmd.name for cmd in pipeline]
        fetched = next((i for i, n in enumerate(names) if n in DOWNLOADERS), None)
        if fetched is not None and any(
            n in SHELLS or n in INTERPRETERS for n in names[fetched + 1 :]
        ):
            return "a download piped into a shell runs unreviewed code"
    for cmd in analysis.commands:
        specific = CHECKS.get(cmd.name)
        reason = specific(cmd) if specific is not None else None
        for generic in GENERIC:
            reason = reason or generic(cmd)
        if reason is not None:
            return reason
    return None
