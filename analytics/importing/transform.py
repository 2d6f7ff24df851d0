"""Turns staged text rows into canonical candidate rows, each with a reject reason or none.

Every rule is a SQL condition of our own; values from the mapping (null
markers, event-name maps, time patterns, the pseudonymisation key) are bound
parameters. A row gets the first rule it breaks, in `REJECT_RULES` order.
Natural keys make re-imports idempotent: an event is the same event when its
user, time, type, product, session and query are (EVENT_NATURAL_KEY); an
order line's key is its order id and line number. Purchase events of an
events import become order lines too (`derive_order_lines`), with order ids
hashed from their natural key so that re-imports find them again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from analytics.errors import ShopLensError
from analytics.importing.mapping import Mapping
from analytics.importing.readers import FileRead, number_lines

# Rules that reject a row, with what they mean; the report and docs list them in this order.
REJECT_RULES: dict[str, str] = {
    "malformed line": "the line does not split into the file's columns (wrong delimiter, stray quote, too long)",
    "text in an unknown encoding": "the line is neither UTF-8 nor GBK",
    "missing id": "a user, order or product id is empty",
    "unparseable timestamp": "the time is empty or not in the mapping's time format",
    "unknown event type": "the event name is not in the mapping's event types",
    "unparseable number": "a quantity, price or amount is not a number",
    "negative or zero quantity": "an order line that is not a cancellation has quantity <= 0",
    "negative or zero price": "a price or amount is <= 0",
    "date in the future": "the time is more than a day after the import",
    "duplicate row": "the same event or order line appears earlier in this import",
}
UNKNOWN = "(unknown)"
# What makes an event the same event: who, when, what, on which product, in which visit, for which query.
# Used on the staged rows and on `source_events`, so both sides must spell it identically.
EVENT_NATURAL_KEY = (
    "concat_ws('|', user_id, cast(event_time as varchar), event_type, coalesce(product_id, ''), "
    "coalesce(session_id, ''), coalesce(search_query, ''))"
)
FUTURE_TOLERANCE = timedelta(days=1)


def _text(slot: str, mapped: bool, mapping: Mapping) -> str:
    if not mapped:
        return "cast(null as varchar)"
    if set(mapping.null_values) <= {""}:
        # The common case, and much cheaper than a list lookup per value.
        return f"nullif(trim({slot}), '')"
    return f"case when list_contains($null_values, trim({slot})) then null else trim({slot}) end"


def _time(text: str, mapping: Mapping) -> str:
    if mapping.time_format == "unix_seconds":
        parsed = f"try(make_timestamp(try_cast(try_cast({text} as double) * 1000000 as bigint)))"
    elif mapping.time_format == "unix_milliseconds":
        parsed = f"try(make_timestamp(try_cast(try_cast({text} as double) * 1000 as bigint)))"
    elif mapping.time_format == "unix_microseconds":
        parsed = f"try(make_timestamp(try_cast({text} as bigint)))"
    else:
        # Offsets ("-0500", "+08:00", " UTC") are honoured; the session time zone is UTC.
        # TIMESTAMPTZ parsing is fast and reads ISO text with or without "Z", "+08:00" or " UTC";
        # strptime only runs for what it leaves (such as Shopify's "-0500").
        parsed = (f"coalesce(try(cast(try_cast({text} as timestamptz) as timestamp)), "
                  f"try(cast(try_strptime({text}, '%Y-%m-%d %H:%M:%S %z') as timestamp)), try_cast({text} as timestamp))")
        if mapping.time_format != "auto":
            # A pattern first, then the ISO forms (CSV conversions of the same export differ).
            parsed = f"coalesce(try(cast(try_strptime({text}, $time_format) as timestamp)), {parsed})"
    if mapping.time_offset_milliseconds is not None:
        parsed = f"({parsed} + to_milliseconds(try_cast(time_offset_text as bigint)))"
    return parsed


def _user(mapping: Mapping, pseudonymize: bool) -> str:
    user = "user_id_text" if "user_id" in mapping.fields else f"'{UNKNOWN}'"
    if mapping.anonymous_user_from is not None:
        user = f"coalesce({user}, 'anonymous:' || anonymous_text)"
    if pseudonymize:
        # A keyed hash: the key is bound, never stored; the same key gives the same pseudonym.
        user = f"case when {user} is null or {user} = '{UNKNOWN}' then {user} else 'p_' || left(sha256($secret || {user}), 20) end"
    return user


def _parameters(mapping: Mapping, file_number: int, secret: str | None, now: datetime) -> dict:
    sources, canonical = mapping.event_type_pairs()
    parameters = {
        "file_number": file_number,
        "future_limit": (now + FUTURE_TOLERANCE).replace(tzinfo=None),
    }
    if not set(mapping.null_values) <= {""}:
        parameters["null_values"] = sorted(set(mapping.null_values) | {""})
    if mapping.time_format not in ("auto", "unix_seconds", "unix_milliseconds", "unix_microseconds"):
        parameters["time_format"] = mapping.time_format
    if mapping.target == "events":
        if mapping.event_type is not None:
            parameters["constant_type"] = mapping.event_type
        else:
            parameters.update({
                "source_types": sources, "canonical_types": canonical,
                "ignored_types": [name.lower() for name in mapping.ignored_event_types],
            })
        if mapping.category_separator is not None:
            parameters["category_separator"] = mapping.category_separator
    else:
        if mapping.cancellation_prefix is not None:
            parameters["cancellation_prefix"] = mapping.cancellation_prefix
    if secret is not None:
        parameters["secret"] = secret
    return parameters


_TEXT_SLOTS_EVENTS = ("user_id", "session_id", "event_time", "event_type", "product_id", "quantity", "price",
                      "search_query", "device", "channel", "category", "brand", "title", "order_id")
_TEXT_SLOTS_ORDERS = ("order_id", "user_id", "ordered_at", "product_id", "title", "category", "quantity",
                      "unit_price", "line_amount", "discount_amount", "channel", "device")


def _cleaned(mapping: Mapping, slots: tuple[str, ...], reader_sql: str) -> str:
    columns = [f"{_text(slot, slot in mapping.fields, mapping)} as {slot}_text" for slot in slots]
    columns.append(f"{_text('time_offset', mapping.time_offset_milliseconds is not None, mapping)} as time_offset_text")
    columns.append(f"{_text('anonymous_user', mapping.anonymous_user_from is not None, mapping)} as anonymous_text")
    # Lines get their numbers after the insert, so lines in no known encoding are marked then (`mark_bad_encoding`).
    return (
        "select $file_number as file_number, line, false as has_bad_encoding, "
        f"{', '.join(columns)} from ({reader_sql}) as raw"
    )


def _row_text(mapping: Mapping, slots: tuple[str, ...]) -> str:
    # The values as read, for the report's examples and the rejects table; built only for rejected rows.
    parts = " || ' | ' || ".join(f"coalesce({slot}_text, '')" for slot in slots if slot in mapping.fields)
    return f"case when reason is not null then {parts or repr('')} end"


def stage_events(
    con: duckdb.DuckDBPyConnection, read: FileRead, file_number: int, *, secret: str | None, now: datetime
) -> int:
    """Read one file into `import_events` as canonical candidates with reasons; returns the rows read."""
    mapping = read.mapping
    time_column = "event_time_text"
    event_type = ("$constant_type" if mapping.event_type is not None else
                  "list_extract($canonical_types, list_position($source_types, lower(event_type_text)))")
    is_ignored = "false" if mapping.event_type is not None else "list_contains($ignored_types, lower(event_type_text))"
    category = ("replace(category_text, $category_separator, ' > ')" if mapping.category_separator is not None
                else "category_text")
    product_required = "product_id" in mapping.fields
    sql = f"""
insert into import_events by name
with cleaned as ({_cleaned(mapping, _TEXT_SLOTS_EVENTS, read.reader_sql)}),
typed as (
    select
        cleaned.*,
        {_user(mapping, secret is not None)} as user_id,
        session_id_text as session_id,
        {_time(time_column, mapping)} as event_time,
        {event_type} as event_type,
        {is_ignored} as is_ignored,
        product_id_text as product_id,
        try_cast(quantity_text as integer) as quantity,
        try_cast(price_text as double) as price,
        search_query_text as search_query,
        lower(device_text) as device,
        lower(channel_text) as channel,
        {category} as category_path,
        brand_text as brand,
        title_text as title
    from cleaned
),
judged as (
    select
        *,
        case
        when has_bad_encoding then 'text in an unknown encoding'
        when user_id is null then 'missing id'
        when event_time_text is null or event_time is null then 'unparseable timestamp'
        when is_ignored then null
        when event_type is null then 'unknown event type'
        when {str(product_required).lower()} and product_id is null and event_type <> 'search' then 'missing id'
        when (price_text is not null and price is null) or (quantity_text is not null and quantity is null)
            then 'unparseable number'
        when price <= 0 then 'negative or zero price'
        when event_time > $future_limit then 'date in the future'
    end as reason
    from typed
)
select
    file_number, line, has_bad_encoding, user_id, session_id, event_time, event_type, is_ignored, product_id,
    quantity, price, search_query, device, channel, category_path, brand, title, reason,
    order_id_text as source_order_id,
    false as is_loaded,
    {EVENT_NATURAL_KEY} as natural_key,
    {_row_text(mapping, _TEXT_SLOTS_EVENTS)} as row_text
from judged
"""
    return _run(con, sql, read, _parameters(mapping, file_number, secret, now), "import_events")


def stage_orders(
    con: duckdb.DuckDBPyConnection, read: FileRead, file_number: int, *, secret: str | None, now: datetime
) -> int:
    """Read one file into `import_order_lines` as canonical candidates with reasons; returns the rows read."""
    mapping = read.mapping
    fields = mapping.fields
    is_cancellation = ("coalesce(starts_with(order_id_text, $cancellation_prefix), false)"
                       if mapping.cancellation_prefix is not None else "false")
    quantity = "try_cast(quantity_text as integer)" if "quantity" in fields else "1"
    if "unit_price" in fields:
        unit_price = "try_cast(unit_price_text as double)"
    elif "line_amount" in fields:
        unit_price = "try_cast(line_amount_text as double) / nullif(abs(source_quantity), 0)"
    else:
        unit_price = "cast(null as double)"
    checks = []
    for slot in ("order_id", "user_id", "product_id"):
        if slot in fields:
            checks.append(f"{slot}_text is null")
    missing_id = " or ".join(checks) or "false"
    numbers = " or ".join(
        f"({slot}_text is not null and try_cast({slot}_text as {kind}) is null)"
        for slot, kind in (("quantity", "integer"), ("unit_price", "double"), ("line_amount", "double"),
                           ("discount_amount", "double"))
        if slot in fields
    ) or "false"
    price_checked = "unit_price" in fields or "line_amount" in fields
    sql = f"""
insert into import_order_lines by name
with cleaned as ({_cleaned(mapping, _TEXT_SLOTS_ORDERS, read.reader_sql)}),
typed as (
    select
        cleaned.*,
        {is_cancellation} as is_cancellation,
        {_user(mapping, secret is not None)} as user_id,
        {_time("ordered_at_text", mapping)} as ordered_at,
        coalesce(product_id_text, '{UNKNOWN}') as product_id,
        title_text as title,
        category_text as category_path,
        {quantity} as source_quantity,
        lower(channel_text) as channel,
        lower(device_text) as device
    from cleaned
),
priced as (
    select
        *,
        if(is_cancellation, -abs(source_quantity), source_quantity) as quantity,
        {unit_price} as unit_price,
        coalesce(try_cast(discount_amount_text as double), 0) as discount_amount
    from typed
),
judged as (
    select
        *,
        case
            when has_bad_encoding then 'text in an unknown encoding'
            when {missing_id} then 'missing id'
            when ordered_at_text is null or ordered_at is null then 'unparseable timestamp'
            when {numbers} then 'unparseable number'
            when not is_cancellation and source_quantity <= 0 then 'negative or zero quantity'
            when {str(price_checked).lower()} and (unit_price is null or unit_price <= 0) then 'negative or zero price'
            when ordered_at > $future_limit then 'date in the future'
        end as reason
    from priced
)
select
    file_number, line, {_row_text(mapping, _TEXT_SLOTS_ORDERS)} as row_text, user_id, ordered_at, product_id, title,
    category_path, quantity, unit_price, discount_amount, channel, device, is_cancellation, reason,
    {"order_id_text" if "order_id" in fields else "null"} as source_order_id
from judged
"""
    return _run(con, sql, read, _parameters(mapping, file_number, secret, now), "import_order_lines")


def _run(con: duckdb.DuckDBPyConnection, sql: str, read: FileRead, parameters: dict, candidates: str) -> int:
    try:
        inserted = con.execute(sql, parameters | read.reader_parameters).fetchone()[0]
    except duckdb.Error as error:
        message = str(error).strip().splitlines()[0]
        raise ShopLensError(f"cannot read {read.path.name}: {message}; "
                            "check that the file is complete and uses the preset's format") from None
    number_lines(con, read, parameters["file_number"], candidates)
    return inserted


def mark_bad_encoding(con: duckdb.DuckDBPyConnection, file_number: int, candidates: str) -> None:
    """Reject the file's rows on lines that were in no known encoding (listed in `import_bad_lines`)."""
    con.execute(
        f"update {candidates} set has_bad_encoding = true, reason = 'text in an unknown encoding', "
        "row_text = coalesce(row_text, concat_ws(' | ', user_id, product_id, category_path, title)) "
        "where file_number = $file_number "
        "and line in (select line from import_bad_lines where file_number = $file_number)",
        {"file_number": file_number},
    )


def create_candidates(con: duckdb.DuckDBPyConnection) -> None:
    """Create the empty temp tables the stage functions append to."""
    con.execute("create or replace temp table import_bad_lines (file_number integer, line bigint)")
    con.execute(
        "create or replace temp table import_events (file_number integer, line bigint, row_text varchar, "
        "has_bad_encoding boolean, natural_key varchar, user_id varchar, session_id varchar, event_time timestamp, "
        "event_type varchar, is_ignored boolean, product_id varchar, quantity integer, price double, "
        "search_query varchar, device varchar, channel varchar, category_path varchar, brand varchar, "
        "title varchar, source_order_id varchar, is_loaded boolean, reason varchar)"
    )
    con.execute(
        "create or replace temp table import_order_lines (file_number integer, line bigint, row_text varchar, "
        "source_order_id varchar, user_id varchar, ordered_at timestamp, product_id varchar, title varchar, "
        "category_path varchar, quantity integer, unit_price double, discount_amount double, channel varchar, "
        "device varchar, is_cancellation boolean, reason varchar)"
    )


def mark_duplicates_and_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Reject repeats within this import and give order lines their natural keys.

    Events: a later row with the same natural key (same user, time, type,
    product, session and query) is a duplicate. Order lines with an order id from the
    file: a later identical line of the same order is a duplicate. Orders
    without an id in the file get one per customer, product and time, numbered
    by their order in the file.
    """
    con.execute("""
update import_events set reason = 'duplicate row',
    row_text = concat_ws(' | ', user_id, cast(event_time as varchar), event_type, product_id, session_id, search_query)
from (
    select file_number, line from (
        select file_number, line,
               row_number() over (partition by natural_key order by file_number, line) as occurrence
        from import_events where reason is null and not is_ignored
    ) where occurrence > 1
) as repeats
where import_events.file_number = repeats.file_number and import_events.line = repeats.line
""")
    con.execute("""
update import_order_lines set reason = 'duplicate row',
    row_text = concat_ws(' | ', source_order_id, product_id, cast(quantity as varchar), cast(unit_price as varchar))
from (
    select file_number, line from (
        select file_number, line,
               row_number() over (
                   partition by source_order_id, product_id, quantity, unit_price, discount_amount
                   order by file_number, line
               ) as occurrence
        from import_order_lines where reason is null and source_order_id is not null
    ) where occurrence > 1
) as repeats
where import_order_lines.file_number = repeats.file_number and import_order_lines.line = repeats.line
""")
    con.execute("""
create or replace temp table import_order_keys as
with accepted as (
    select * from import_order_lines where reason is null
),
with_order as (
    select
        *,
        coalesce(
            source_order_id,
            concat_ws('|', 'auto', user_id, product_id, strftime(ordered_at, '%Y-%m-%d %H:%M:%S'),
                      cast(row_number() over (
                          partition by user_id, product_id, ordered_at order by file_number, line
                      ) as varchar))
        ) as order_id
    from accepted
)
select
    *,
    cast(row_number() over (partition by order_id order by file_number, line) as integer) as line_number
from with_order
""")


# Orders derived from purchase events get ids with this prefix, so they can be told from orders read from a file.
DERIVED_ORDER_PREFIX = "purchase-"
# Hex digits of SHA-256 kept in a derived order id (96 bits: collisions are negligible at billions of orders).
DERIVED_ORDER_HASH_DIGITS = 24


def derive_order_lines(con: duckdb.DuckDBPyConnection) -> None:
    """Turn this import's accepted purchase events into order lines, in `import_derived_lines`.

    An order is one transaction id where the file has one (the event field
    `order_id`, e.g. RetailRocket's transactionid), otherwise one (user,
    session, purchase time). Its id is DERIVED_ORDER_PREFIX plus the first
    DERIVED_ORDER_HASH_DIGITS hex digits of SHA-256 of that natural key, so the
    same purchases give the same ids in every import. Each purchase event is
    one line: quantity from the event (1 when it has none), unit price = the
    event's price (null when it has none), discount 0; lines are numbered by
    time, then product, then position in the files.

    Result columns: file_number, line, order_id, line_number, user_id,
    session_id, ordered_at, product_id, quantity, unit_price, channel, device.
    """
    con.execute(f"""
create or replace temp table import_derived_lines as
with purchases as (
    select
        *,
        case
            when source_order_id is not null then concat_ws('|', 'transaction', source_order_id)
            else concat_ws('|', 'purchase', user_id, coalesce(session_id, ''), cast(event_time as varchar))
        end as order_key
    from import_events
    where reason is null and not is_ignored and event_type = 'purchase'
)
select
    file_number,
    line,
    '{DERIVED_ORDER_PREFIX}' || left(sha256(order_key), {DERIVED_ORDER_HASH_DIGITS}) as order_id,
    cast(row_number() over (
        partition by order_key order by event_time, coalesce(product_id, ''), file_number, line
    ) as integer) as line_number,
    user_id,
    session_id,
    event_time as ordered_at,
    coalesce(product_id, '{UNKNOWN}') as product_id,
    coalesce(quantity, 1) as quantity,
    price as unit_price,
    channel,
    device
from purchases
""")


def now_utc() -> datetime:
    """The current time, UTC (a function so tests can see what "the future" means)."""
    return datetime.now(UTC)
