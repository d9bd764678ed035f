"""What a shell command would really run, read with a real Bash grammar.

Chosen: tree-sitter with tree-sitter-bash (both maintained, wheels on PyPI, a full grammar:
``case``, ``[[ ]]``, heredocs, substitutions). Rejected: bashlex (unmaintained since 2023, fails
on ``case`` and ``[[ ]]``) and shlex (a tokenizer: it sees ``a;b`` as one word and knows nothing
of substitutions). Every simple command anywhere in the tree is found: lists and pipelines,
subshells and groups, ``$(…)`` and backticks, heredocs and here-strings fed to a shell, and the
payloads of ``bash -c``/``sh -c``/``eval``, recursively. Wrappers (``sudo``, ``env``, ``nice``,
``timeout``, ``xargs``, ``command``, ``exec``…) are peeled off and programs are compared by base
name. Text that does not parse is reported as such, so the policy never auto-accepts it.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from functools import lru_cache

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish"})
MAX_DEPTH = 8
"""Payloads nested deeper than this (``bash -c "bash -c …"``) count as unparseable."""

# Wrapper → options that take a value (skipped with it); the first other word is the command.
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S", "--unset", "--chdir"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "xargs": frozenset({"-I", "-L", "-n", "-P", "-s", "-d", "-E", "-a"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "nohup": frozenset(),
    "time": frozenset(),
    "command": frozenset(),
    "builtin": frozenset(),
    "exec": frozenset({"-a"}),
    "setsid": frozenset(),
    "chroot": frozenset(),
}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
"""tree-sitter-bash 0.25.1 can crash the process (a segfault in its scanner) on some non-ASCII
input, found by this module's property test. No shell operator or program name that the checks
look for is non-ASCII, so every such character is read as the letter ``x``: the structure is
the same and nothing dangerous can hide in it."""


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One program and its arguments, wrappers and quoting removed."""

    name: str
    args: tuple[str, ...]
    wrappers: tuple[str, ...] = ()


@dataclass(slots=True)
class Analysis:
    commands: list[SimpleCommand] = field(default_factory=list)
    pipelines: list[list[SimpleCommand]] = field(default_factory=list)
    """Each pipeline's commands, in order (to see ``curl … | sh``)."""
    parse_error: str | None = None
    fork_bomb: bool = False


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(Language(tree_sitter_bash.language()))


def analyse(command: str) -> Analysis:
    analysis = Analysis()
    _analyse_text(command, analysis, 0)
    return analysis


def _analyse_text(text: str, analysis: Analysis, depth: int) -> None:
    if depth > MAX_DEPTH:
        analysis.parse_error = "nested too deeply"
        return
    text = _NON_ASCII.sub("x", text)
    tree = _parser().parse(text.encode())
    if tree.root_node.has_error:
        analysis.parse_error = "not valid shell syntax"
        _salvage(text, analysis, depth)
    _walk(tree.root_node, analysis, depth)


_OPERATORS = frozenset({";", "&&", "||", "|", "&", "\n", "(", ")", "{", "}"})


def _salvage(text: str, analysis: Analysis, depth: int) -> None:
    """Text the grammar rejects is never auto-accepted, but it may still be plainly dangerous
    (a grammar gap such as ``[ -d / ]``): split it at the control operators a tokenizer sees and
    look at every segment, so such a command is denied rather than merely confirmed."""
    lexer = shlex.shlex(text.replace("\n", " ; "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return  # unbalanced quotes: nothing reliable to salvage
    segment: list[str] = []
    for token in [*tokens, ";"]:
        if token not in _OPERATORS and not set(token) <= set(";&|()"):
            segment.append(token)
            continue
        simple = _unwrap(segment)
        if simple is not None and simple not in analysis.commands:
            analysis.commands.append(simple)
            _payloads(simple, analysis, depth)
        segment = []


def _walk(node: Node, analysis: Analysis, depth: int) -> None:
    if node.type == "function_definition":
        name = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name is not None and body is not None and _calls(body, _text(name)):
            analysis.fork_bomb = True
    if node.type == "pipeline":
        analysis.pipelines.append(
            [c for child in node.named_children for c in _commands_of(child, analysis, depth)]
        )
    if node.type == "command":
        for simple in _commands_of(node, analysis, depth):
            if simple not in analysis.commands:
                analysis.commands.append(simple)
    if node.type == "redirected_statement":
        _shell_input(node, analysis, depth)
    for child in node.children:
        _walk(child, analysis, depth)


def _commands_of(node: Node, analysis: Analysis, depth: int) -> list[SimpleCommand]:
    """The simple command ``node`` is (after peeling wrappers), with any payload analysed."""
    if node.type == "redirected_statement":
        inner = node.child_by_field_name("body") or (node.named_children or [node])[0]
        return _commands_of(inner, analysis, depth)
    if node.type != "command":
        return []
    found = [_word(child) for child in node.named_children if child.type != "variable_assignment"]
    simple = _unwrap([w for w in found if w is not None])
    if simple is None:
        return []
    _payloads(simple, analysis, depth)
    for child in node.named_children:
        if child.type == "herestring_redirect" and simple.name in SHELLS:
            content = child.named_children[-1] if child.named_children else None
            if content is not None:
                _analyse_text(_word(content) or "", analysis, depth + 1)
    return [simple]


def _shell_input(node: Node, analysis: Analysis, depth: int) -> None:
    """A heredoc fed to a shell is a script: analyse it too."""
    commands = [c for c in node.named_children if c.type == "command"]
    if not commands:
        return
    found = [_word(c) for c in commands[0].named_children if c.type != "variable_assignment"]
    simple = _unwrap([w for w in found if w is not None])
    if simple is None or simple.name not in SHELLS:
        return
    for child in node.named_children:
        if child.type == "heredoc_redirect":
            for part in child.named_children:
                if part.type == "heredoc_body":
                    _analyse_text(_text(part), analysis, depth + 1)


def _payloads(simple: SimpleCommand, analysis: Analysis, depth: int) -> None:
    if simple.name in SHELLS:
        args = list(simple.args)
        for index, arg in enumerate(args):
            if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
                if index + 1 < len(args):
                    _analyse_text(args[index + 1], analysis, depth + 1)
                break
    elif simple.name == "eval" and simple.args:
        _analyse_text(" ".join(simple.args), analysis, depth + 1)


def _unwrap(words: list[str]) -> SimpleCommand | None:
    wrappers: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if _ASSIGNMENT.match(word):
            index += 1  # an environment prefix (after env, or left by a wrapper)
            continue
        name = base_name(word)
        if name in _WRAPPERS and index + 1 < len(words):
            wrappers.append(name)
            index += 1
            takes_value = _WRAPPERS[name]
            while index < len(words) and words[index].startswith("-"):
                option = words[index]
                index += 1
                if option == "--":
                    break
                if option in takes_value and "=" not in option:
                    index += 1
            if name == "timeout" and index < len(words):
                index += 1  # the duration
            continue
        return SimpleCommand(name, tuple(words[index + 1 :]), tuple(wrappers))
    return None


def base_name(word: str) -> str:
    """``/usr/bin/git`` and ``\\git`` are ``git``."""
    return posixpath.basename(word.lstrip("\\")) or word


def _word(node: Node) -> str | None:
    kind = node.type
    if kind in ("word", "number"):
        return _unescape(_text(node))
    if kind == "raw_string":
        return _text(node)[1:-1]
    if kind == "string":
        return "".join(_text(c) for c in node.named_children) if node.named_children else ""
    if kind == "concatenation":
        parts = [_word(child) for child in node.named_children]
        return "".join(p for p in parts if p is not None)
    if kind in ("simple_expansion", "expansion", "command_substitution", "ansi_c_string"):
        return _text(node)
    if kind == "command_name":
        inner = node.named_children[0] if node.named_children else None
        return None if inner is None else _word(inner)
    return None


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _text(node: Node) -> str:
    return (node.text or b"").decode(errors="replace")


def _calls(body: Node, name: str) -> bool:
    if body.type == "command":
        first = body.child_by_field_name("name")
        if first is not None and _text(first) == name:
            return True
    return any(_calls(child, name) for child in body.children)
