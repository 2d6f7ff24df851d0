"""Turns staged text rows into canonical candidate rows, each with a reject reason or none.

Every rule is a SQL condition of our own; values from the mapping (null
markers, event-name maps, time patterns, constants, the time zone, the
pseudonymisation pads) are bound parameters. A row gets the first rule it
breaks, in `REJECT_RULES` order.

Duplicates and natural keys (the rule docs/importing.md states):
- an event is the same event when its user, time, type, product, session and
  query (EVENT_NATURAL_KEY) and its order id are; the order id (a basket,
  transaction or invoice) counts only when the file has one, so two baskets of
  one household in the same second with the same product stay two events;
- an order line repeats when a later line of the same order id has the same
  product, quantity, price and discount; an order line's key in the warehouse
  is its order id and line number;
- a product repeats when a later row has the same product id; a promotion when
  a later row has the same promotion id.
Purchase events of an events import become order lines too
(`derive_order_lines`), with order ids hashed from their natural key so that
re-imports find them again.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import duckdb

from analytics.errors import ShopLensError
from analytics.importing.mapping import JOINED_FIELDS, UNIX_TIME_FORMATS, Mapping
from analytics.importing.pseudonyms import PseudonymKey, pseudonym_sql
from analytics.importing.readers import FileRead, describe_duckdb_failure, file_format, number_lines
from analytics.schema import PROMOTION_SCOPES

# Rules that reject a row, with what they mean; the report and docs list them in this order.
REJECT_RULES: dict[str, str] = {
    "malformed line": "the line does not split into the file's columns (wrong delimiter, stray quote, too long)",
    "text in an unknown encoding": "the line is neither UTF-8 nor GBK",
    "missing id": "a user, order, product or promotion id is empty",
    "unparseable timestamp": "the time or date is empty or not in the mapping's time format",
    "unknown event type": "the event name is not in the mapping's event types",
    "unknown promotion scope": "a promotion's scope is not one of " + ", ".join(PROMOTION_SCOPES),
    "unparseable number": "a quantity, price, amount or rate is not a number",
    "revenue adjustment (zero quantity)": "an order line with quantity 0 but a positive amount: revenue without "
                                          "units, which an order line cannot hold (the report gives the total)",
    "negative or zero quantity": "an order line that is not a cancellation has quantity < 0, or 0 and no amount",
    "negative or zero price": "an event's price is <= 0",
    "missing or negative price": "an order line's or product's price is empty or below 0 (0 is a free item)",
    "discount rate outside 0 to 1": "a promotion's discount rate is below 0 or above 1",
    "end before start": "a promotion ends before it starts",
    "date in the future": "the time is more than a day after the import",
    "duplicate row": "the same event, order line, product or promotion appears earlier in this import",
}
UNKNOWN = "(unknown)"
# What makes an event the same event: who, when, what, on which product, in which visit, for which query.
# Used on the staged rows and on `source_events`, so both sides must spell it identically. The order id
# (`source_order_id` staged, `order_id` stored) is compared beside it: see `mark_duplicates_and_keys`.
EVENT_NATURAL_KEY = (
    "concat_ws('|', user_id, cast(event_time as varchar), event_type, coalesce(product_id, ''), "
    "coalesce(session_id, ''), coalesce(search_query, ''))"
)
FUTURE_TOLERANCE = timedelta(days=1)
# Times that carry their own offset ("... 10:23:45 -0500", "...Z", "... UTC") are absolute; a time zone
# option applies only to the others. The offset must follow a clock time, so a bare date is never read as one.
OFFSET_PATTERN = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(?i:z|utc|gmt|[+-]\d{2}(:?\d{2})?)\s*$"


def _clean(slot: str, mapping: Mapping) -> str:
    if set(mapping.null_values) <= {""}:
        # The common case, and much cheaper than a list lookup per value.
        return f"nullif(trim({slot}), '')"
    return f"case when list_contains($null_values, trim({slot})) then null else trim({slot}) end"


def field_text(name: str, mapping: Mapping) -> str:
    """SQL for the text of canonical field `name`: its column, its columns joined, its constant, or null."""
    columns = mapping.columns_of(name)
    if len(columns) == 1:
        return _clean(name, mapping)
    if columns:
        parts = ", ".join(_clean(f"{name}__{number}", mapping) for number in range(1, len(columns) + 1))
        return f"nullif(concat_ws({JOINED_FIELDS[name]!r}, {parts}), '')"
    if name in mapping.constants:
        return f"nullif(trim(cast($const_{name} as varchar)), '')"
    return "cast(null as varchar)"


def _has(name: str, mapping: Mapping) -> bool:
    return name in mapping.fields or name in mapping.constants


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
        if mapping.time_zone is not None:
            # A time without an offset is a wall-clock time in the mapping's zone: make it UTC.
            parsed = (f"case when regexp_matches({text}, $offset_pattern) then {parsed} "
                      f"else try(timezone('UTC', timezone($time_zone, {parsed}))) end")
    if mapping.time_offset_milliseconds is not None:
        parsed = f"({parsed} + to_milliseconds(try_cast(time_offset_text as bigint)))"
    return parsed


def _date(text: str, mapping: Mapping) -> str:
    parsed = f"coalesce(try_cast({text} as date), try(cast(try_cast({text} as timestamp) as date)))"
    if mapping.time_format not in ("auto", *UNIX_TIME_FORMATS):
        parsed = f"coalesce(try(cast(try_strptime({text}, $time_format) as date)), {parsed})"
    return parsed


def _user(mapping: Mapping, pseudonymize: bool) -> str:
    user = "user_id_text" if _has("user_id", mapping) else f"'{UNKNOWN}'"
    if mapping.anonymous_user_from is not None:
        user = f"coalesce({user}, 'anonymous:' || anonymous_text)"
    if pseudonymize and (_has("user_id", mapping) or mapping.anonymous_user_from is not None):
        # A keyed HMAC computed here, so the raw id never reaches a table; the key is bound, never stored.
        user = f"case when {user} is null or {user} = '{UNKNOWN}' then {user} else {pseudonym_sql(user)} end"
    return user


def _parameters(mapping: Mapping, file_number: int, key: PseudonymKey | None, now: datetime) -> dict:
    # DuckDB refuses parameters a statement does not use, so each is bound only where its SQL needs it.
    parameters = {"file_number": file_number}
    if mapping.target in ("events", "orders"):
        parameters["future_limit"] = (now + FUTURE_TOLERANCE).replace(tzinfo=None)
    if not set(mapping.null_values) <= {""} and mapping.source_columns:
        parameters["null_values"] = sorted(set(mapping.null_values) | {""})
    if mapping.time_format not in ("auto", *UNIX_TIME_FORMATS) and mapping.target != "products":
        parameters["time_format"] = mapping.time_format
    if mapping.time_zone is not None and mapping.time_format not in UNIX_TIME_FORMATS and mapping.time_field:
        parameters["time_zone"] = mapping.time_zone
        parameters["offset_pattern"] = OFFSET_PATTERN
    for name, value in mapping.constants.items():
        parameters[f"const_{name}"] = value
    if mapping.target == "events":
        if mapping.event_type is not None:
            parameters["constant_type"] = mapping.event_type
        else:
            sources, canonical = mapping.event_type_pairs()
            parameters.update({
                "source_types": sources, "canonical_types": canonical,
                "ignored_types": [name.lower() for name in mapping.ignored_event_types],
            })
    if mapping.category_separator is not None and mapping.target in ("events", "orders", "products"):
        parameters["category_separator"] = mapping.category_separator
    if mapping.target == "orders" and mapping.cancellation_prefix is not None:
        parameters["cancellation_prefix"] = mapping.cancellation_prefix
    if mapping.target == "promotions":
        parameters["scopes"] = list(PROMOTION_SCOPES)
    if key is not None and (_has("user_id", mapping) or mapping.anonymous_user_from is not None):
        parameters.update(key.sql_parameters())
    return parameters


_TEXT_SLOTS = {
    "events": ("user_id", "session_id", "event_time", "event_type", "product_id", "quantity", "price",
               "search_query", "device", "channel", "category", "brand", "title", "order_id"),
    "orders": ("order_id", "user_id", "ordered_at", "product_id", "title", "category", "quantity",
               "unit_price", "line_amount", "discount_amount", "channel", "device"),
    "products": ("product_id", "title", "category", "brand", "list_price"),
    "promotions": ("promotion_id", "name", "start_date", "end_date", "scope", "scope_value", "discount_rate"),
}


def _cleaned(mapping: Mapping, reader_sql: str) -> str:
    columns = [f"{field_text(slot, mapping)} as {slot}_text" for slot in _TEXT_SLOTS[mapping.target]]
    offset = _clean("time_offset", mapping) if mapping.time_offset_milliseconds is not None else "cast(null as varchar)"
    anonymous = _clean("anonymous_user", mapping) if mapping.anonymous_user_from is not None else "cast(null as varchar)"
    columns.append(f"{offset} as time_offset_text")
    columns.append(f"{anonymous} as anonymous_text")
    # Lines get their numbers after the insert, so lines in no known encoding are marked then (`mark_bad_encoding`).
    return (
        "select $file_number as file_number, line, false as has_bad_encoding, "
        f"{', '.join(columns)} from ({reader_sql}) as raw"
    )


def _row_text(mapping: Mapping, pseudonymize: bool) -> str:
    # The values as read, for the report's examples and the rejects table; built only for rejected rows.
    # With pseudonymisation the user is shown by pseudonym: a raw id is never stored or printed.
    parts = []
    for slot in _TEXT_SLOTS[mapping.target]:
        if slot not in mapping.fields:
            continue
        value = "user_id" if slot == "user_id" and pseudonymize else f"{slot}_text"
        parts.append(f"coalesce({value}, '')")
    joined = " || ' | ' || ".join(parts)
    return f"case when reason is not null then {joined or repr('')} end"


def _category(mapping: Mapping) -> str:
    return ("replace(category_text, $category_separator, ' > ')" if mapping.category_separator is not None
            else "category_text")


def stage_events(
    con: duckdb.DuckDBPyConnection, read: FileRead, file_number: int, *, key: PseudonymKey | None, now: datetime
) -> int:
    """Read one file into `import_events` as canonical candidates with reasons; returns the rows read."""
    mapping = read.mapping
    event_type = ("$constant_type" if mapping.event_type is not None else
                  "list_extract($canonical_types, list_position($source_types, lower(event_type_text)))")
    is_ignored = "false" if mapping.event_type is not None else "list_contains($ignored_types, lower(event_type_text))"
    product_required = "product_id" in mapping.fields and "product_id" not in mapping.optional_fields
    sql = f"""
insert into import_events by name
with cleaned as ({_cleaned(mapping, read.reader_sql)}),
typed as (
    select
        cleaned.*,
        {_user(mapping, key is not None)} as user_id,
        session_id_text as session_id,
        {_time("event_time_text", mapping)} as event_time,
        {event_type} as event_type,
        {is_ignored} as is_ignored,
        product_id_text as product_id,
        try_cast(quantity_text as integer) as quantity,
        try_cast(price_text as double) as price,
        search_query_text as search_query,
        lower(device_text) as device,
        lower(channel_text) as channel,
        {_category(mapping)} as category_path,
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
    {_row_text(mapping, key is not None)} as row_text
from judged
"""
    return _run(con, sql, read, _parameters(mapping, file_number, key, now), "import_events")


def stage_orders(
    con: duckdb.DuckDBPyConnection, read: FileRead, file_number: int, *, key: PseudonymKey | None, now: datetime
) -> int:
    """Read one file into `import_order_lines` as canonical candidates with reasons; returns the rows read.

    A line with quantity 0 and a positive amount is a revenue adjustment: it is rejected with its
    own reason (an order line cannot carry revenue without units) and its amount is kept in
    `amount`, so the report can give the total instead of losing it silently. A price of 0 is a
    free item and is kept.
    """
    mapping = read.mapping
    is_cancellation = ("coalesce(starts_with(order_id_text, $cancellation_prefix), false)"
                       if mapping.cancellation_prefix is not None else "false")
    quantity = "try_cast(quantity_text as integer)" if _has("quantity", mapping) else "1"
    if _has("unit_price", mapping):
        unit_price = "try_cast(unit_price_text as double)"
    elif _has("line_amount", mapping):
        unit_price = "try_cast(line_amount_text as double) / nullif(abs(source_quantity), 0)"
    else:
        unit_price = "cast(null as double)"
    checks = [f"{slot}_text is null" for slot in ("order_id", "user_id", "product_id") if _has(slot, mapping)]
    missing_id = " or ".join(checks) or "false"
    numbers = " or ".join(
        f"({slot}_text is not null and try_cast({slot}_text as {kind}) is null)"
        for slot, kind in (("quantity", "integer"), ("unit_price", "double"), ("line_amount", "double"),
                           ("discount_amount", "double"))
        if _has(slot, mapping)
    ) or "false"
    price_checked = _has("unit_price", mapping) or _has("line_amount", mapping)
    sql = f"""
insert into import_order_lines by name
with cleaned as ({_cleaned(mapping, read.reader_sql)}),
typed as (
    select
        cleaned.*,
        {is_cancellation} as is_cancellation,
        {_user(mapping, key is not None)} as user_id,
        {_time("ordered_at_text", mapping)} as ordered_at,
        coalesce(product_id_text, '{UNKNOWN}') as product_id,
        title_text as title,
        {_category(mapping)} as category_path,
        {quantity} as source_quantity,
        try_cast(line_amount_text as double) as amount,
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
            when not is_cancellation and source_quantity = 0 and amount > 0 then 'revenue adjustment (zero quantity)'
            when not is_cancellation and source_quantity <= 0 then 'negative or zero quantity'
            when {str(price_checked).lower()} and (unit_price is null or unit_price < 0) then 'missing or negative price'
            when ordered_at > $future_limit then 'date in the future'
        end as reason
    from priced
)
select
    file_number, line, {_row_text(mapping, key is not None)} as row_text, user_id, ordered_at, product_id, title,
    category_path, quantity, unit_price, discount_amount, amount, channel, device, is_cancellation, reason,
    {"order_id_text" if _has("order_id", mapping) else "null"} as source_order_id
from judged
"""
    return _run(con, sql, read, _parameters(mapping, file_number, key, now), "import_order_lines")


def stage_products(
    con: duckdb.DuckDBPyConnection, read: FileRead, file_number: int, *, key: PseudonymKey | None, now: datetime
) -> int:
    """Read one catalogue file into `import_products` as canonical candidates with reasons; returns the rows read."""
    mapping = read.mapping
    sql = f"""
insert into import_products by name
with cleaned as ({_cleaned(mapping, read.reader_sql)}),
typed as (
    select
        cleaned.*,
        product_id_text as product_id,
        title_text as title,
        {_category(mapping)} as category_path,
        brand_text as brand,
        try_cast(list_price_text as double) as list_price
    from cleaned
),
judged as (
    select
        *,
        case
            when has_bad_encoding then 'text in an unknown encoding'
            when product_id is null then 'missing id'
            when list_price_text is not null and list_price is null then 'unparseable number'
            when list_price < 0 then 'missing or negative price'
        end as reason
    from typed
)
select
    file_number, line, has_bad_encoding, product_id, title, category_path, brand, list_price, reason,
    false as is_loaded, false as is_update,
    {_row_text(mapping, False)} as row_text
from judged
"""
    return _run(con, sql, read, _parameters(mapping, file_number, key, now), "import_products")


def stage_promotions(
    con: duckdb.DuckDBPyConnection, read: FileRead, file_number: int, *, key: PseudonymKey | None, now: datetime
) -> int:
    """Read one promotions file into `import_promotions` as canonical candidates with reasons; returns the rows read."""
    mapping = read.mapping
    sql = f"""
insert into import_promotions by name
with cleaned as ({_cleaned(mapping, read.reader_sql)}),
typed as (
    select
        cleaned.*,
        promotion_id_text as promotion_id,
        coalesce(name_text, promotion_id_text) as name,
        {_date("start_date_text", mapping)} as start_date,
        {_date("end_date_text", mapping)} as end_date,
        lower(scope_text) as scope,
        scope_value_text as scope_value,
        try_cast(discount_rate_text as double) as discount_rate
    from cleaned
),
judged as (
    select
        *,
        case
            when has_bad_encoding then 'text in an unknown encoding'
            when promotion_id is null then 'missing id'
            when start_date is null or end_date is null then 'unparseable timestamp'
            when scope is null or not list_contains($scopes, scope) then 'unknown promotion scope'
            when discount_rate is null then 'unparseable number'
            when discount_rate < 0 or discount_rate > 1 then 'discount rate outside 0 to 1'
            when end_date < start_date then 'end before start'
        end as reason
    from typed
)
select
    file_number, line, has_bad_encoding, promotion_id, name, start_date, end_date, scope, scope_value,
    discount_rate, reason, false as is_loaded, false as is_update,
    {_row_text(mapping, False)} as row_text
from judged
"""
    return _run(con, sql, read, _parameters(mapping, file_number, key, now), "import_promotions")


STAGES = {"events": stage_events, "orders": stage_orders, "products": stage_products, "promotions": stage_promotions}
CANDIDATES = {"events": "import_events", "orders": "import_order_lines", "products": "import_products",
              "promotions": "import_promotions"}


def _run(con: duckdb.DuckDBPyConnection, sql: str, read: FileRead, parameters: dict, candidates: str) -> int:
    try:
        inserted = con.execute(sql, parameters | read.reader_parameters).fetchone()[0]
    except duckdb.Error as error:
        # DuckDB's message can quote the file's text: say what is wrong in our own words instead
        # (SHOPLENS_DEBUG=1 adds DuckDB's own message, for whoever runs the server).
        message = describe_duckdb_failure(error, read.path.name, file_format(read.path))
        if os.environ.get("SHOPLENS_DEBUG"):
            message += f" [DuckDB: {str(error).strip().splitlines()[0]}]"
        raise ShopLensError(message) from None
    number_lines(con, read, parameters["file_number"], candidates)
    return inserted


def mark_bad_encoding(con: duckdb.DuckDBPyConnection, file_number: int, candidates: str) -> None:
    """Reject the file's rows on lines that were in no known encoding (listed in `import_bad_lines`)."""
    con.execute(
        f"update {candidates} set has_bad_encoding = true, reason = 'text in an unknown encoding', "
        "row_text = '(the line is in no known encoding)' where file_number = $file_number "
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
        "has_bad_encoding boolean, source_order_id varchar, user_id varchar, ordered_at timestamp, "
        "product_id varchar, title varchar, category_path varchar, quantity integer, unit_price double, "
        "discount_amount double, amount double, channel varchar, device varchar, is_cancellation boolean, "
        "reason varchar)"
    )
    con.execute(
        "create or replace temp table import_products (file_number integer, line bigint, row_text varchar, "
        "has_bad_encoding boolean, product_id varchar, title varchar, category_path varchar, brand varchar, "
        "list_price double, is_loaded boolean, is_update boolean, reason varchar)"
    )
    con.execute(
        "create or replace temp table import_promotions (file_number integer, line bigint, row_text varchar, "
        "has_bad_encoding boolean, promotion_id varchar, name varchar, start_date date, end_date date, "
        "scope varchar, scope_value varchar, discount_rate double, is_loaded boolean, is_update boolean, "
        "reason varchar)"
    )


def mark_duplicates_and_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Reject repeats within this import and give order lines their natural keys (see the module docstring).

    Orders without an id in the file get one per customer, product and time, numbered
    by their order in the file.
    """
    # The order id joins the key only when some row has one: a second partition column costs a
    # tenth of a large import's time, and most event logs have no order ids.
    has_order_ids = con.execute(
        "select exists (select 1 from import_events where source_order_id is not null)").fetchone()[0]
    event_key = "natural_key, coalesce(source_order_id, '')" if has_order_ids else "natural_key"
    con.execute(f"""
update import_events set reason = 'duplicate row',
    row_text = concat_ws(' | ', user_id, cast(event_time as varchar), event_type, product_id, session_id,
                         search_query, source_order_id)
from (
    select file_number, line from (
        select file_number, line,
               row_number() over (partition by {event_key} order by file_number, line) as occurrence
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
    for table, key in (("import_products", "product_id"), ("import_promotions", "promotion_id")):
        # Our own table and column names.
        con.execute(f"""
update {table} set reason = 'duplicate row', row_text = coalesce(row_text, {key})
from (
    select file_number, line from (
        select file_number, line, row_number() over (partition by {key} order by file_number, line) as occurrence
        from {table} where reason is null
    ) where occurrence > 1
) as repeats
where {table}.file_number = repeats.file_number and {table}.line = repeats.line
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
