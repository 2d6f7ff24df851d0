"""A mapping says how the columns of one export become canonical rows.

Every preset is a mapping (or a few variants of one, told apart by their
header), and a user can write their own as a TOML file:

```toml
name = "my_shop"
target = "events"              # or "orders", "products" (a catalogue), "promotions"
delimiter = ","                # omit to use the file's extension (.tsv = tab)
header = "auto"                # "auto", "yes" or "no"
columns = ["ts", "visitor", "action", "sku"]   # the file's columns, needed when it has no header
time_format = "unix_milliseconds"             # see TIME_FORMATS, or a strptime pattern like "%d/%m/%Y %H:%M"
time_zone = "Europe/London"    # times without an offset are local times there (default: UTC)
null_values = ["", "NA"]

[fields]                       # canonical field = source column
event_time = "ts"
user_id = "visitor"
event_type = "action"
product_id = "sku"

[event_types]                  # source value = canonical event type
click = "view"
basket = "cart"
order = "purchase"
```

A field may name several columns (`category = ["department", "aisle"]`):
category levels are joined with " > ", other text with a space, empty parts
skipped. `[constants]` gives a field one value for every row (`scope = "all"`).

Column names and values from a mapping never become SQL text: the reader
renames the file's columns to positional names and every value is bound.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analytics.errors import ShopLensError
from analytics.schema import EVENT_TYPES

TARGETS = ("events", "orders", "products", "promotions")
TIME_FORMATS = ("auto", "unix_seconds", "unix_milliseconds", "unix_microseconds")
UNIX_TIME_FORMATS = TIME_FORMATS[1:]
HEADER_MODES = ("auto", "yes", "no")

# Canonical fields a mapping may fill, per target. Extra product fields
# (category, brand, title) fill the products table.
EVENT_FIELDS = (
    "user_id", "session_id", "event_time", "event_type", "product_id", "quantity", "price",
    "search_query", "device", "channel", "category", "brand", "title", "order_id",
)
ORDER_FIELDS = (
    "order_id", "user_id", "ordered_at", "product_id", "title", "category", "quantity", "unit_price",
    "line_amount", "discount_amount", "channel", "device",
)
PRODUCT_FIELDS = ("product_id", "title", "category", "brand", "list_price")
PROMOTION_FIELDS = ("promotion_id", "name", "start_date", "end_date", "scope", "scope_value", "discount_rate")
FIELDS = {"events": EVENT_FIELDS, "orders": ORDER_FIELDS, "products": PRODUCT_FIELDS, "promotions": PROMOTION_FIELDS}
# A field is required when it is neither mapped to a column nor given as a constant.
REQUIRED_FIELDS = {
    "events": ("user_id", "event_time"),
    "orders": ("ordered_at",),
    "products": ("product_id",),
    "promotions": ("promotion_id", "start_date", "end_date", "scope", "discount_rate"),
}
# Text fields that may join several columns, and the separator between the parts.
JOINED_FIELDS = {"category": " > ", "title": " ", "brand": " ", "name": " ", "search_query": " "}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Mapping:
    """How one file layout maps onto the canonical tables.

    Attributes:
        name: short machine name, lower case with underscores.
        target: "events" (a behaviour log), "orders" (order lines), "products" (a catalogue) or
            "promotions".
        fields: canonical field -> source column name, or a tuple of names whose texts are joined
            (category levels with " > ", other text with a space; see JOINED_FIELDS).
        columns: the file's columns in order; used to name a headerless file and to recognise the layout.
        delimiter: the CSV separator; None means by extension (tab for .tsv, else comma).
        header: "auto" (a first line naming the mapped columns is a header), "yes" or "no".
        time_format: one of TIME_FORMATS or a strptime pattern.
        time_zone: IANA name (e.g. "Europe/London") of the local time of times without an offset;
            None means UTC. Times with an offset and Unix times are absolute; all are stored as UTC.
        time_offset_milliseconds: source column whose milliseconds are added to the time (Diginetica's timeframe).
        event_types: source value (case-insensitive) -> canonical event type; canonical names always map to themselves.
        event_type: a constant event type for logs of one kind (Diginetica has only views).
        ignored_event_types: source values that are not shop events (GA4's session_start); skipped, not rejected.
        null_values: source texts that mean "no value".
        anonymous_user_from: when user_id is empty, use "anonymous:" plus this column (e.g. the session id).
        category_separator: separator of levels in the category text (REES46 uses ".").
        cancellation_prefix: order ids starting with it are cancellations; their quantities become negative returns.
        constants: canonical field -> one value for every row (text, as in a file), for fields no column holds.
        optional_fields: mapped fields whose columns a file may lack (they are then empty); the layout is
            recognised by the other columns.
        description: one line for people.
    """

    name: str
    target: str
    fields: dict[str, str | tuple[str, ...]]
    columns: tuple[str, ...] = ()
    delimiter: str | None = None
    header: str = "auto"
    time_format: str = "auto"
    time_offset_milliseconds: str | None = None
    event_types: dict[str, str] = field(default_factory=dict)
    event_type: str | None = None
    ignored_event_types: tuple[str, ...] = ()
    null_values: tuple[str, ...] = ("",)
    anonymous_user_from: str | None = None
    category_separator: str | None = None
    cancellation_prefix: str | None = None
    constants: dict[str, str] = field(default_factory=dict)
    time_zone: str | None = None
    optional_fields: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        check_mapping(self)

    def columns_of(self, name: str) -> tuple[str, ...]:
        """The source columns of field `name` (one, several joined, or none)."""
        value = self.fields.get(name)
        if value is None:
            return ()
        return (value,) if isinstance(value, str) else tuple(value)

    @property
    def time_field(self) -> str | None:
        """The field holding the row's time: event_time, ordered_at, or None (catalogues, promotions)."""
        return {"events": "event_time", "orders": "ordered_at"}.get(self.target)

    @property
    def source_columns(self) -> tuple[str, ...]:
        """Every source column the mapping reads, without repeats, in a stable order."""
        used = [column for name in self.fields for column in self.columns_of(name)]
        for extra in (self.time_offset_milliseconds, self.anonymous_user_from):
            if extra is not None:
                used.append(extra)
        return tuple(dict.fromkeys(used))

    @property
    def required_columns(self) -> tuple[str, ...]:
        """The source columns a file must have to be read with this mapping (all but optional fields')."""
        optional = {column for name in self.optional_fields for column in self.columns_of(name)}
        required = {column for name in self.fields if name not in self.optional_fields for column in self.columns_of(name)}
        return tuple(column for column in self.source_columns if column in required or column not in optional)

    def event_type_pairs(self) -> tuple[list[str], list[str]]:
        """Return (source values, canonical types), lower-cased, canonical names mapping to themselves."""
        pairs = {name: name for name in EVENT_TYPES}
        pairs.update({source.strip().lower(): canonical for source, canonical in self.event_types.items()})
        return list(pairs), list(pairs.values())


def check_mapping(mapping: Mapping) -> None:
    """Raise ShopLensError naming the first thing wrong with `mapping`."""
    where = f"mapping {mapping.name!r}"
    if not _NAME.match(mapping.name):
        raise ShopLensError(f"{where}: the name must be lower case letters, digits and underscores, like 'my_shop'")
    if mapping.target not in TARGETS:
        raise ShopLensError(f"{where}: target must be one of {', '.join(TARGETS)}, not {mapping.target!r}")
    allowed = FIELDS[mapping.target]
    unknown = sorted((set(mapping.fields) | set(mapping.constants)) - set(allowed))
    if unknown:
        raise ShopLensError(f"{where}: unknown canonical field(s) {', '.join(unknown)}; use {', '.join(allowed)}")
    both = sorted(set(mapping.fields) & set(mapping.constants))
    if both:
        raise ShopLensError(f"{where}: {', '.join(both)} is both mapped to a column and given as a constant; keep one")
    for name in mapping.fields:
        columns = mapping.columns_of(name)
        if not columns or not all(isinstance(column, str) and column for column in columns):
            raise ShopLensError(f"{where}: field {name} must name a column, or a list of columns")
        if len(columns) > 1 and name not in JOINED_FIELDS:
            raise ShopLensError(f"{where}: only {', '.join(JOINED_FIELDS)} may join several columns, not {name}")
    not_mapped = sorted(set(mapping.optional_fields) - set(mapping.fields))
    if not_mapped:
        raise ShopLensError(f"{where}: optional field(s) {', '.join(not_mapped)} must also be mapped under [fields]")
    missing = [name for name in REQUIRED_FIELDS[mapping.target]
               if (name not in mapping.fields or name in mapping.optional_fields) and name not in mapping.constants]
    if missing:
        raise ShopLensError(f"{where}: map a source column to {', '.join(missing)} under [fields] "
                            "(or give it under [constants])")
    if mapping.target == "events" and "event_type" not in mapping.fields and mapping.event_type is None:
        raise ShopLensError(f"{where}: map a column to event_type, or set event_type = \"view\" for a log of one kind")
    bad_types = sorted({value for value in mapping.event_types.values() if value not in EVENT_TYPES})
    if mapping.event_type is not None and mapping.event_type not in EVENT_TYPES:
        bad_types.append(mapping.event_type)
    if bad_types:
        raise ShopLensError(f"{where}: event type(s) {', '.join(bad_types)} are not canonical; use {', '.join(EVENT_TYPES)}")
    if mapping.header not in HEADER_MODES:
        raise ShopLensError(f"{where}: header must be one of {', '.join(HEADER_MODES)}")
    if mapping.header == "no" and not mapping.columns:
        raise ShopLensError(f"{where}: a file without a header needs columns = [...] listing its columns in order")
    if mapping.columns:
        absent = [column for column in mapping.source_columns if column not in mapping.columns]
        if absent:
            raise ShopLensError(f"{where}: column(s) {', '.join(absent)} are mapped but not listed in columns")
    if mapping.delimiter is not None and len(mapping.delimiter) != 1:
        raise ShopLensError(f"{where}: delimiter must be one character, like \",\" or \";\"")
    if mapping.time_format not in TIME_FORMATS and "%" not in mapping.time_format:
        raise ShopLensError(
            f"{where}: time_format must be one of {', '.join(TIME_FORMATS)} or a strptime pattern like '%Y-%m-%d %H:%M'"
        )
    if mapping.time_zone is not None:
        check_time_zone(mapping.time_zone, where=where)


def check_time_zone(name: str, *, where: str = "time zone") -> str:
    """Return `name` if it is an IANA time zone such as "Europe/London"; raise ShopLensError otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ShopLensError(
            f"{where}: {name!r} is not a time zone name; use one like Europe/London, America/New_York or UTC"
        ) from None
    return name


_SCALAR_KEYS = (
    "name", "target", "delimiter", "header", "time_format", "time_zone", "time_offset_milliseconds", "event_type",
    "anonymous_user_from", "category_separator", "cancellation_prefix", "description",
)
_LIST_KEYS = ("columns", "ignored_event_types", "null_values", "optional_fields")
_TABLE_KEYS = ("fields", "event_types", "constants")


def mapping_from_dict(data: dict[str, Any], *, origin: str = "mapping") -> Mapping:
    """Build a Mapping from parsed TOML, naming any key that does not fit.

    Args:
        data: the TOML document as a dict.
        origin: how to name the source in errors (a file path).

    Returns:
        The checked Mapping.

    Raises:
        ShopLensError: unknown keys, wrong types or an inconsistent mapping.
    """
    known = set(_SCALAR_KEYS) | set(_LIST_KEYS) | set(_TABLE_KEYS)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ShopLensError(f"{origin}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
    values: dict[str, Any] = {}
    for key in _SCALAR_KEYS:
        if key in data:
            if not isinstance(data[key], str):
                raise ShopLensError(f"{origin}: {key} must be a text value in quotes")
            values[key] = data[key]
    for key in _LIST_KEYS:
        if key in data:
            if not isinstance(data[key], list) or not all(isinstance(item, str) for item in data[key]):
                raise ShopLensError(f"{origin}: {key} must be a list of texts, like [\"a\", \"b\"]")
            values[key] = tuple(data[key])
    for key in _TABLE_KEYS:
        if key in data:
            table = data[key]
            if key == "fields" and isinstance(table, dict):
                # A field may name a list of columns (joined); keep lists as tuples.
                table = {name: tuple(value) if isinstance(value, list) else value for name, value in table.items()}
            if not isinstance(table, dict) or not all(
                isinstance(v, str) or (key == "fields" and isinstance(v, tuple) and all(isinstance(i, str) for i in v))
                for v in table.values()
            ):
                raise ShopLensError(f"{origin}: [{key}] must be a table of text values"
                                    + (" (or lists of column names)" if key == "fields" else ""))
            values[key] = dict(table)
    for key in ("name", "target", "fields"):
        if key not in values:
            raise ShopLensError(f"{origin}: the mapping needs {key}")
    return Mapping(**values)


def load_mapping(path: Path) -> Mapping:
    """Read a mapping saved as TOML.

    Raises:
        ShopLensError: the file is missing, is not TOML, or does not describe a valid mapping.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShopLensError(f"mapping file {path} does not exist; save one with `shoplens import --save-mapping`") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ShopLensError(f"{path} is not valid TOML ({error}); fix the line it names") from None
    return mapping_from_dict(data, origin=str(path))


def mapping_to_toml(mapping: Mapping) -> str:
    """Write `mapping` as TOML text that `load_mapping` reads back to an equal Mapping."""
    defaults = {f.name: f.default for f in dataclass_fields(Mapping)}
    lines = []
    for key in _SCALAR_KEYS:
        value = getattr(mapping, key)
        if value is not None and value != defaults.get(key):
            lines.append(f"{key} = {_toml_string(value)}")
    for key in _LIST_KEYS:
        value = getattr(mapping, key)
        if value != defaults.get(key):
            lines.append(f"{key} = [{', '.join(_toml_string(item) for item in value)}]")
    for key in _TABLE_KEYS:
        table = getattr(mapping, key)
        if table:
            lines.append("")
            lines.append(f"[{key}]")
            lines.extend(f"{_toml_string(name)} = {_toml_value(value)}" for name, value in table.items())
    return "\n".join(lines) + "\n"


def save_mapping(mapping: Mapping, path: Path) -> Path:
    """Save `mapping` as TOML at `path`, creating the folder; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(mapping_to_toml(mapping), encoding="utf-8")
    return path


def _toml_value(value: str | tuple[str, ...]) -> str:
    if isinstance(value, str):
        return _toml_string(value)
    return "[" + ", ".join(_toml_string(item) for item in value) + "]"


def _toml_string(text: str) -> str:
    # A TOML basic string: escape backslash, quote and control characters.
    escaped = []
    for character in text:
        if character in ('"', "\\"):
            escaped.append("\\" + character)
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            escaped.append(f"\\u{ord(character):04x}")
        else:
            escaped.append(character)
    return '"' + "".join(escaped) + '"'
