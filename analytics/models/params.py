"""A job's parameters as canonical JSON, and the job id derived from them.

Pages, the CLI and the worker pass parameters as typed values (dates, `Filters`,
`ForecastRequest`, tuples, numbers). They are stored in the job's JSON record
and hashed into its id, so the same question asked by any page or session maps
to the same job. Encoding is canonical: keys sorted, tuples and lists both as
lists, dates as `{"__date__": "2025-01-31"}`, and a dataclass as its fields
under `"__type__"`. Only the dataclasses in `ALLOWED_TYPES` are rebuilt when a
record is read, so a job file can never make the worker construct anything else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import math
from datetime import date, datetime
from typing import Any

from analytics.errors import ShopLensError

# The dataclasses a job's parameters may hold; "module:QualifiedName".
ALLOWED_TYPES: frozenset[str] = frozenset({
    "analytics.filters:Filters",
    "analytics.forecasting.run:ForecastRequest",
    "analytics.forecasting.drivers:Promotion",
})
TYPE_KEY = "__type__"
DATE_KEY = "__date__"
DATETIME_KEY = "__datetime__"
# Hex digits of the parameters' hash in a job id: 48 bits, no collision among a warehouse's jobs.
ID_HASH_LENGTH = 12


def encode(value: Any) -> Any:
    """`value` as canonical JSON-ready data (see the module docstring).

    Raises:
        ShopLensError: the value holds a type jobs cannot take (say which), or a NaN.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ShopLensError(f"a job parameter is {value}; give a finite number")
        return float(value)
    if isinstance(value, datetime):
        return {DATETIME_KEY: value.isoformat()}
    if isinstance(value, date):
        return {DATE_KEY: value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in sorted(value.items(), key=lambda pair: str(pair[0]))}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = f"{type(value).__module__}:{type(value).__qualname__}"
        if name not in ALLOWED_TYPES:
            raise ShopLensError(f"a job parameter is a {type(value).__name__}, which jobs cannot take; "
                                f"use numbers, text, dates or one of {', '.join(sorted(ALLOWED_TYPES))}")
        fields = {field.name: encode(getattr(value, field.name)) for field in dataclasses.fields(value)}
        return {TYPE_KEY: name, **fields}
    if hasattr(value, "item"):  # numpy scalars
        return encode(value.item())
    raise ShopLensError(f"a job parameter is a {type(value).__name__}, which jobs cannot take; "
                        "use numbers, text, dates, tuples or dicts")


def decode(value: Any) -> Any:
    """The typed value of `encode`'s output: lists come back as tuples, dataclasses rebuilt.

    Raises:
        ShopLensError: a dataclass outside ALLOWED_TYPES, or fields it does not accept.
    """
    if isinstance(value, list):
        return tuple(decode(item) for item in value)
    if not isinstance(value, dict):
        return value
    if DATE_KEY in value:
        return date.fromisoformat(value[DATE_KEY])
    if DATETIME_KEY in value:
        return datetime.fromisoformat(value[DATETIME_KEY])
    if TYPE_KEY in value:
        name = value[TYPE_KEY]
        if name not in ALLOWED_TYPES:
            raise ShopLensError(f"a job record names the type {name!r}, which jobs cannot take")
        module_name, _, class_name = name.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        fields = {key: decode(item) for key, item in value.items() if key != TYPE_KEY}
        try:
            return cls(**fields)
        except TypeError as error:
            raise ShopLensError(f"a job's {class_name} parameters no longer fit this release ({error}); "
                                "request the model again") from None
    return {key: decode(item) for key, item in value.items()}


def canonical_json(params: dict[str, Any]) -> str:
    """The parameters as one canonical JSON string: equal parameters give equal text."""
    return json.dumps(encode(params), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def job_id(name: str, params: dict[str, Any]) -> str:
    """The job's id: the model name and a hash of its canonical parameters, e.g. "cart_conversion-3f9a0c1b2d4e".

    Args:
        name: the job's registered name (letters, digits, underscores).
        params: the job's parameters.
    """
    digest = hashlib.sha256(canonical_json(params).encode("utf-8")).hexdigest()[:ID_HASH_LENGTH]
    return f"{name}-{digest}"
