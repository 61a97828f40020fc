"""Validating a config: every problem found at once, each said by key with the form
expected, and copies of a config with some keys replaced."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from facesort.config.model import Config
from facesort.errors import ConfigError


def _describe_error(err: dict[str, Any], known: dict[str, list[str]]) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    got = err.get("input")
    if kind == "extra_forbidden":
        parent = ".".join(str(p) for p in err["loc"][:-1])
        name = str(err["loc"][-1])
        close = difflib.get_close_matches(name, known.get(parent, []), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{loc}: unknown key{hint}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    expected = {
        "float_parsing": "a number",
        "float_type": "a number",
        "int_parsing": "a whole number",
        "int_type": "a whole number",
        "int_from_float": "a whole number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "list_type": "a list",
        "string_type": "a text value",
        "path_type": "a folder path",
        "model_type": "a mapping of keys",
        "model_attributes_type": "a mapping of keys",
    }.get(kind)
    if expected:
        return f"{loc}: expected {expected} (got {got!r})"
    message = err["msg"]
    message = message.removeprefix("Value error, ")
    if kind == "literal_error":
        return f"{loc}: {message[0].lower() + message[1:]} (got {got!r})"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return f"{loc}: {message[0].lower() + message[1:]} (got {got!r})"
    return f"{loc}: {message}"


def _known_keys(model: type[BaseModel], prefix: str = "") -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {prefix: [k for k in model.model_fields if k != "source"]}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.update(_known_keys(annotation, f"{prefix}.{name}" if prefix else name))
    return keys


def validate(data: dict[str, Any], where: str, problems: list[str]) -> Config:
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        known = _known_keys(Config)
        problems.extend(_describe_error(e, known) for e in exc.errors())
        config = None
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(
            f"Invalid facesort config {where}:\n{lines}\n"
            "Fix these keys and run again (README.md, section Configuration, lists every key)."
        )
    assert config is not None
    return config


def with_overrides(config: Config, overrides: dict[str, Any], where: str = "overrides") -> Config:
    """A copy of ``config`` with some keys replaced, validated like the file itself.

    ``overrides`` is nested like the YAML: ``{"matching": {"sure_distance": 0.5}}``.
    """

    def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
        return out

    data = merge(config.model_dump(exclude={"source"}), overrides)
    return validate({**data, "source": config.source}, where, [])
