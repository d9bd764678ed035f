"""Which ``CHATOPS_`` variable set a key: so an error names its source.

pydantic-settings merges the environment over the YAML file before validating, so a bad value
arrives with a key (``monitoring.stale_timeout``) and no word of where it came from. These
helpers map a key back to the variables that set it, so the message can name
``CHATOPS_MONITORING__STALE_TIMEOUT`` (and say "environment") even when a ``config.yaml``
exists; and they name the variable for each secret a readable file should not hold.
"""

from __future__ import annotations

import json
import os
import types
from collections.abc import Iterator, Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr

from chatops.config_file import CONFIG_ENV, ENV_PREFIX

KeyPath = tuple[str, ...]


def environment_paths() -> dict[KeyPath, str]:
    """Every ``CHATOPS_`` variable (but ``CHATOPS_CONFIG``) by the key path it sets, lower
    case as the settings read it: ``CHATOPS_MONITORING__STALE_TIMEOUT`` sets
    ``("monitoring", "stale_timeout")``."""
    paths: dict[KeyPath, str] = {}
    for name in sorted(os.environ):
        upper = name.upper()
        if upper.startswith(ENV_PREFIX) and upper != CONFIG_ENV:
            paths[tuple(upper[len(ENV_PREFIX) :].lower().split("__"))] = name
    return paths


def variable_name(path: Sequence[str]) -> str:
    """The variable that would set ``path``: ``("alerts", "webhook_urls")`` is
    ``CHATOPS_ALERTS__WEBHOOK_URLS``."""
    return ENV_PREFIX + "__".join(part.upper() for part in path)


def setting_variables(loc: Sequence[Any], paths: dict[KeyPath, str]) -> tuple[list[str], bool]:
    """The variables behind an error at ``loc``, and whether one of them set that very key
    (or a mapping holding it). For an error about a whole section (a check across its keys),
    the variables that set any key of it are named, as having taken part."""
    key = tuple(str(part).lower() for part in loc)
    direct = [name for path, name in paths.items() if key[: len(path)] == path]
    if direct:
        return direct, True
    within = [name for path, name in paths.items() if key and path[: len(key)] == key]
    return within, False


def _plain(annotation: Any) -> Any:
    """``X | None`` is X."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _annotation_at(model: type[BaseModel], path: KeyPath) -> Any:
    """The type the settings expect at ``path`` under ``model``, or None when unknown."""
    annotation: Any = model
    for part in path:
        annotation = _plain(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part)
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
    return _plain(annotation)


def _takes_json(annotation: Any) -> bool:
    """A list, mapping or model: pydantic-settings reads such a variable as JSON."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return get_origin(annotation) in (list, dict, set, tuple, frozenset)


def unparsable_variables(model: type[BaseModel], section: str) -> list[str]:
    """The variables of ``section`` that hold a list, mapping or model and are not JSON: the
    ones pydantic-settings could not read (it says only which section)."""
    found = []
    for path, name in environment_paths().items():
        if path[0] != section or not _takes_json(_annotation_at(model, path)):
            continue
        try:
            json.loads(os.environ[name])
        except ValueError:
            found.append(name)
    return found


def secret_paths(model: type[BaseModel], prefix: KeyPath = ()) -> Iterator[KeyPath]:
    """Every key whose value is a secret (``SecretStr``, or a list of them), depth first."""
    for name, field in model.model_fields.items():
        annotation = _plain(field.annotation)
        inner = _plain(get_args(annotation)[0]) if get_origin(annotation) is list else None
        if annotation is SecretStr or inner is SecretStr:
            yield (*prefix, name)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from secret_paths(annotation, (*prefix, name))
