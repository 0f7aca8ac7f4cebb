# SPDX-License-Identifier: Apache-2.0
"""Frozen-dataclass configs loaded from YAML with strict keys and dotted overrides."""

from __future__ import annotations

import dataclasses
import math
import pathlib
import types
import typing
from typing import Any, TypeVar

import yaml

T = TypeVar('T')


class ConfigError(ValueError):
    """A configuration that names an unknown key or holds a value of the wrong type."""


def load_yaml(path: str | pathlib.Path) -> dict:
    """Read a YAML mapping; a missing file or a non-mapping document is a ConfigError."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError(f'config file not found: {path}')
    with open(path, encoding='utf-8') as stream:
        try:
            data = yaml.safe_load(stream)
        except yaml.YAMLError as error:
            raise ConfigError(f'{path}: not valid YAML: {error}') from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f'{path}: expected a mapping at the top level, got {type(data).__name__}')
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split 'a.b.c=value' into (['a', 'b', 'c'], value parsed as YAML)."""
    if '=' not in text:
        raise ConfigError(f"override '{text}' is not of the form key.sub=value")
    key, raw = text.split('=', 1)
    if not key:
        raise ConfigError(f"override '{text}' has an empty key")
    return key.split('.'), yaml.safe_load(raw) if raw else ''


def apply_overrides(data: dict, overrides: typing.Iterable[str]) -> dict:
    """Return a copy of ``data`` with each dotted ``key=value`` override set."""
    result = _deep_copy(data)
    for text in overrides:
        keys, value = parse_override(text)
        node = result
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        node[keys[-1]] = value
    return result


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _deep_copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_deep_copy(value) for value in data]
    return data


def from_dict(cls: type[T], data: dict | None, where: str = '') -> T:
    """Build the dataclass ``cls`` from ``data``, rejecting unknown keys and naming valid ones.

    Nested dataclass fields are built recursively; tuples and dicts are converted from YAML lists
    and mappings. ``where`` is the dotted path used in error messages.
    """
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f'{where or cls.__name__}: expected a mapping, got {data!r}')
    fields = {field.name: field for field in dataclasses.fields(cls) if field.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        prefix = f'{where}.' if where else ''
        raise ConfigError(
            f"unknown config key(s) {', '.join(prefix + key for key in unknown)} in "
            f"{cls.__name__}; valid keys: {', '.join(sorted(fields))}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        path = f'{where}.{name}' if where else name
        kwargs[name] = _convert(hints[name], value, path)
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise ConfigError(f'{where or cls.__name__}: {error}') from error


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, path)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [arg for arg in args if arg is not type(None)]
        if len(non_none) == 1:
            return _convert(non_none[0], value, path)
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f'{path}: expected a list, got {value!r}')
        item = args[0] if args else Any
        return tuple(_convert(item, element, path) for element in value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f'{path}: expected a number, got {value!r}')
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f'{path}: expected an integer, got {value!r}')
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f'{path}: expected true or false, got {value!r}')
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f'{path}: expected a string, got {value!r}')
        return value
    return value


def to_dict(config: Any) -> Any:
    """Turn a (nested) dataclass into plain dicts, lists and scalars for YAML output."""
    if dataclasses.is_dataclass(config):
        return {field.name: to_dict(getattr(config, field.name))
                for field in dataclasses.fields(config)}
    if isinstance(config, (list, tuple)):
        return [to_dict(value) for value in config]
    if isinstance(config, dict):
        return {key: to_dict(value) for key, value in config.items()}
    return config


def load_config(cls: type[T], path: str | pathlib.Path | None,
                overrides: typing.Iterable[str] = ()) -> T:
    """Load ``cls`` from a YAML file (or defaults when ``path`` is None) plus dotted overrides."""
    data = load_yaml(path) if path is not None else {}
    return from_dict(cls, apply_overrides(data, overrides))


def require_positive(owner: str, **values: float) -> None:
    """Raise a ConfigError naming the first value that is not a finite number > 0.

    ``owner`` names the config in the message (``SimConfig: sim_dt must be ...``).
    """
    for name, value in values.items():
        if not _is_number(value) or not value > 0:
            raise ConfigError(f'{owner}: {name} must be a finite number > 0, got {value!r}')


def require_non_negative(owner: str, **values: float) -> None:
    """Raise a ConfigError naming the first value that is not a finite number >= 0."""
    for name, value in values.items():
        if not _is_number(value) or not value >= 0:
            raise ConfigError(f'{owner}: {name} must be a finite number >= 0, got {value!r}')


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))
