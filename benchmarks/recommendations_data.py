"""The Complete Journey as a ShopLens warehouse, for the recommendation benchmark.

Reads `transactions.csv.gz` and `products.csv.gz` from the shared data folder (never copied into the
repository) with DuckDB and writes the canonical tables the way an events import would:

- `events.parquet`: one purchase event per transaction line; user_id = household_id,
  session_id = basket_id, event_time = transaction_timestamp (taken as UTC, see PROVENANCE.md),
  quantity, price = sales_value / quantity (null when the quantity is 0).
- `products.parquet`: title = product type and package size (the data has no product name),
  category_path = department > product category, brand (National or Private), list_price = the
  median regular unit price paid, (sales_value + retail_disc + coupon_match_disc) / quantity.

The warehouse is built with `analytics.warehouse.build_warehouse` and cached under
`benchmarks/.data/completejourney/` (gitignored); delete the folder to rebuild.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from benchmarks.common import DATA, ROOT



def shared_data_folder() -> Path:
    """The shared data folder: `shared/data` beside the checkout or beside any folder above it.

    The main checkout sits next to `shared/`; a worktree one level deeper finds it further up.
    """
    for parent in ROOT.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return ROOT.parent / "shared" / "data"


COMPLETEJOURNEY = shared_data_folder() / "completejourney"
FOLDER = DATA / "completejourney"


def is_available(source: Path = COMPLETEJOURNEY) -> bool:
    """Whether the shared Complete Journey files are present."""
    return (source / "transactions.csv.gz").is_file() and (source / "products.csv.gz").is_file()


def write_canonical_tables(source: Path, target: Path) -> Path:
    """Write events.parquet and products.parquet for Complete Journey into `target` and return it."""
    target.mkdir(parents=True, exist_ok=True)
    transactions = str(source / "transactions.csv.gz")
    products = str(source / "products.csv.gz")
    with duckdb.connect() as con:
        # Identifiers are read as text: basket ids have 11 digits and ids are strings in ShopLens.
        con.execute(f"""
            create table lines as
            select * from read_csv('{transactions}', header = true, types = {{
                'household_id': 'VARCHAR', 'store_id': 'VARCHAR', 'basket_id': 'VARCHAR',
                'product_id': 'VARCHAR', 'transaction_timestamp': 'TIMESTAMP'}})
        """)
        con.execute(f"""
            copy (
                select
                    row_number() over (order by transaction_timestamp, basket_id, product_id)::bigint as event_id,
                    household_id as user_id,
                    basket_id as session_id,
                    transaction_timestamp as event_time,
                    'purchase' as event_type,
                    product_id,
                    quantity::integer as quantity,
                    case when quantity > 0 then sales_value / quantity end as price,
                    cast(null as varchar) as search_query,
                    cast(null as varchar) as device,
                    cast(null as varchar) as channel
                from lines
            ) to '{target / "events.parquet"}' (format parquet)
        """)
        con.execute(f"""
            copy (
                with catalogue as (
                    select * from read_csv('{products}', header = true, all_varchar = true)
                ),
                prices as (
                    select product_id,
                        median((sales_value + retail_disc + coupon_match_disc) / quantity) as list_price
                    from lines
                    where quantity > 0
                    group by product_id
                )
                select
                    catalogue.product_id,
                    trim(concat_ws(' ', coalesce(product_type, product_category, department), package_size))
                        as title,
                    concat_ws(' > ', department, product_category) as category_path,
                    brand,
                    round(prices.list_price, 2) as list_price
                from catalogue
                left join prices using (product_id)
            ) to '{target / "products.parquet"}' (format parquet)
        """)
    return target


def completejourney_warehouse(source: Path = COMPLETEJOURNEY, folder: Path = FOLDER) -> Path:
    """The Complete Journey warehouse, built on first use and cached in `folder`."""
    from analytics.warehouse import build_warehouse

    target = folder / "warehouse.duckdb"
    if not target.is_file():
        tables = write_canonical_tables(source, folder / "source")
        build_warehouse(tables, target, source_label="The Complete Journey (benchmark loader)")
    return target


if __name__ == "__main__":
    print(completejourney_warehouse())
