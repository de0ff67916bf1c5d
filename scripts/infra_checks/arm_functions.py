"""The ARM template functions and operators the offline renderer evaluates on known values, and the
ones whose result only Azure knows."""

from __future__ import annotations

import json
import re
from typing import Any

OPAQUE_FUNCTIONS = {
    "uniqueString", "resourceGroup", "subscription", "tenant", "environment", "deployment", "guid",
    "reference", "resourceId", "subscriptionResourceId", "tenantResourceId", "extensionResourceId",
    "managementGroup", "utcNow", "newGuid", "loadTextContent", "loadJsonContent", "loadFileAsBase64",
    "map", "filter", "reduce", "sort", "toObject", "dateTimeAdd", "base64", "uri",
}  # fmt: skip


def text(value: Any) -> str:
    """A value as ARM's string() writes it."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return "" if value is None else str(value)


def binary(operator: str, left: Any, right: Any) -> Any:
    if operator == "==":
        return left == right
    if operator == "!=":
        return left != right
    if operator in ("=~", "!~"):
        same = str(left).lower() == str(right).lower()
        return same if operator == "=~" else not same
    if operator in ("<", ">", "<=", ">="):
        return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[operator]
    if operator in ("+", "-", "*", "/", "%") and isinstance(left, int) and isinstance(right, int):
        return {
            "+": left + right,
            "-": left - right,
            "*": left * right,
            "/": int(left / right) if right else 0,
            "%": left % right if right else 0,
        }[operator]
    raise ValueError(f"operator {operator} on {left!r} and {right!r} is not evaluated offline")


def call(name: str, arguments: list[Any]) -> Any:
    """The ARM template functions the checks need, on known values."""
    first = arguments[0] if arguments else None
    if name == "concat":
        if all(isinstance(argument, list) for argument in arguments):
            return [item for argument in arguments for item in argument]
        return "".join(text(argument) for argument in arguments)
    if name == "union":
        if all(isinstance(argument, dict) for argument in arguments):
            merged: dict[str, Any] = {}
            for argument in arguments:
                merged.update(argument)
            return merged
        merged_list: list[Any] = []
        for argument in arguments:
            merged_list += [item for item in argument if item not in merged_list]
        return merged_list
    if name == "empty":
        return first is None or len(first) == 0
    if name == "contains":
        return (arguments[1] in first) if not isinstance(first, str) else str(arguments[1]) in first
    if name == "length":
        return len(first)
    if name in ("toLower", "toUpper"):
        return first.lower() if name == "toLower" else first.upper()
    if name == "string":
        return text(first)
    if name == "int":
        return int(first)
    if name == "bool":
        return first if isinstance(first, bool) else str(first).lower() == "true"
    if name == "take":
        return first[: arguments[1]]
    if name == "skip":
        return first[arguments[1] :]
    if name == "first":
        return first[0]
    if name == "last":
        return first[-1]
    if name == "join":
        return arguments[1].join(text(item) for item in first)
    if name == "replace":
        return first.replace(arguments[1], arguments[2])
    if name == "coalesce":
        return next((argument for argument in arguments if argument is not None), None)
    if name in ("startsWith", "endsWith"):
        low, part = first.lower(), arguments[1].lower()
        return low.startswith(part) if name == "startsWith" else low.endswith(part)
    if name == "format":
        return re.sub(r"\{(\d+)\}", lambda match: text(arguments[int(match.group(1)) + 1]), first)
    if name == "split":
        return first.split(arguments[1])
    if name == "range":
        return list(range(first, first + arguments[1]))
    raise ValueError(f"function {name} is not evaluated offline")
