"""Places no agent may write to, whatever the rules say.

A ``file_write`` accepted by the policy goes through without a human (and, through the Claude
Code hook, without Claude Code's own prompt), so the locations whose change would hand over
the machine or the operator's accounts are denied before any rule is read: the system's own
trees, the keys and credentials in the home directory, the shell's start-up files (code run at
the next login), the coding agent's own settings (where its hooks are declared) and chatops's
config and database (where its rules and audit live; the cache folders below it stay
writable). Paths are compared after ``~`` expansion
and symlink resolution, so a link inside the workspace cannot lead to one of them.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from wcmatch import fnmatch

from chatops.paths import config_dir, state_dir

SYSTEM_TREES = ("/etc", "/usr", "/boot", "/dev", "/proc", "/sys", "/bin", "/sbin", "/lib")
HOME_TREES = (
    ".ssh",
    ".aws",
    ".gnupg",
    ".kube",
    ".docker",
    ".azure",
    ".password-store",
    ".config/gcloud",
    ".config/gh",
    ".config/hub",
    ".config/op",
    ".config/rclone",
    ".config/fish",
    ".claude",
)
"""Directories under the home directory whose files are keys, tokens or start-up code."""
HOME_FILES = frozenset(
    {
        ".bashrc",
        ".bash_profile",
        ".bash_login",
        ".bash_logout",
        ".profile",
        ".zshrc",
        ".zshenv",
        ".zprofile",
        ".zlogin",
        ".zlogout",
        ".kshrc",
        ".cshrc",
        ".tcshrc",
        ".login",
        ".xprofile",
        ".netrc",
        ".git-credentials",
        ".gitconfig",
        ".pgpass",
        ".npmrc",
        ".pypirc",
    }
)
"""Shell rc and profile files, and credential files, directly in the home directory."""
CREDENTIAL_NAMES = (
    "*credential*",
    "*token*",
    "*secret*",
    "*password*",
    "auth.json",
    "hosts.yml",
    "*.pem",
    "*.key",
)
"""Under ``~/.config``, a file (or a folder on its way) with one of these names is a credential."""
GIT_CODE = frozenset({"config"})
"""Inside a ``.git`` folder, ``config`` (``core.fsmonitor``, ``core.hooksPath``) and ``hooks/``
hold commands git runs itself: the agent's next ``git status`` would run what it wrote."""
RUN_ON_ENTRY = frozenset({".envrc"})
"""direnv runs a folder's ``.envrc`` when a shell enters it."""
AGENT_SETTINGS = frozenset({"settings.json", "settings.local.json"})
"""A coding agent's settings inside any ``.claude`` folder declare its hooks: an agent that
rewrites them can switch the approvals off."""


def protected_reason(path: Path) -> str | None:
    """What ``path`` (absolute, already resolved) is, when an agent may never write it: a
    phrase that reads after "is" ("a system location (/etc)"); None for an ordinary place."""
    text = path.as_posix()
    for tree in SYSTEM_TREES:
        if text == tree or text.startswith(tree + "/"):
            return f"a system location ({tree})"
    parts = path.parts
    if len(parts) >= 2 and parts[-2] == ".claude" and parts[-1] in AGENT_SETTINGS:
        return "the coding agent's own settings (where its hooks are declared)"
    if ".git" in parts[:-1]:
        inside_git = parts[parts.index(".git") + 1 :]
        if inside_git[0] in GIT_CODE or inside_git[0] == "hooks":
            return "git's config or hooks, which git runs on its next command"
    if path.name in RUN_ON_ENTRY:
        return "a file a tool runs by itself when a shell enters its folder"
    if _under(path, _real(config_dir())):
        return "chatops's own config"
    if path.parent == _real(state_dir()):
        return "chatops's own state (its database and locks)"
    home = _real(Path.home())
    if not _under(path, home) or path == home:
        return None
    inside = PurePosixPath(path.relative_to(home).as_posix())
    if len(inside.parts) == 1 and inside.name in HOME_FILES:
        return "a shell start-up or credential file"
    for tree in HOME_TREES:
        if inside.as_posix() == tree or inside.as_posix().startswith(tree + "/"):
            return f"under ~/{tree}, which holds keys, tokens or start-up code"
    if inside.parts[0] == ".config" and any(
        fnmatch.fnmatch(part.lower(), CREDENTIAL_NAMES) for part in inside.parts[1:]
    ):
        return "a credential file under ~/.config"
    return None


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _under(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents
