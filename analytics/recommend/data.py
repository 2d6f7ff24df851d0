"""Interactions every recommender learns from: the warehouse, MovieLens 100K and the Diginetica sample.

All models take an `InteractionMatrix`: a users × items sparse matrix of
interest weights with the ids of its rows and columns, and (when known) the
item descriptions content models and reasons need. Loaders return the long
frame (`user_id`, `product_id`, `weight`, `event_time`); `InteractionMatrix.from_frame`
turns it into the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import scipy.sparse as sp

from analytics.errors import ShopLensError
from analytics.queries import run_report

# Interest weights by event type: a purchase says more than a view. Chosen so a
# bought item (view + cart + purchase ≈ 9) outweighs a handful of browses.
EVENT_WEIGHTS: dict[str, float] = {"view": 1.0, "favorite": 2.0, "cart": 3.0, "purchase": 5.0}
INTERACTION_COLUMNS: tuple[str, ...] = ("user_id", "product_id", "weight", "event_time")
# Price bands: quantiles of list price within the top-level category.
PRICE_BANDS: tuple[str, ...] = ("budget", "mid", "upper", "premium")


@dataclass(frozen=True)
class InteractionMatrix:
    """Users × items interest weights with their ids.

    Attributes:
        user_ids: row -> user_id, unique.
        item_ids: column -> product_id, unique; may include items nobody touched (cold start).
        matrix: CSR float32, shape (len(user_ids), len(item_ids)), weights > 0 where a user showed interest.
        last_event_days: CSR float32 of the same shape: 1 + days from the user's latest interaction with
            the item to the latest interaction in the data (1 = newest), for time decay; None when times
            are unknown.
        first_event_days: the same for the user's first interaction with the item (for "first touched
            in the last N days" labels); None when times are unknown.
    """

    user_ids: pd.Index
    item_ids: pd.Index
    matrix: sp.csr_matrix
    last_event_days: sp.csr_matrix | None = None
    first_event_days: sp.csr_matrix | None = None

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, item_ids: pd.Index | None = None,
                   user_ids: pd.Index | None = None) -> InteractionMatrix:
        """Build the matrix from one row per interaction (repeats are summed).

        Args:
            frame: columns user_id, product_id, weight (> 0) and optionally event_time (the last
                interaction) and first_event_time (the first; default event_time).
            item_ids: the columns to use (default: the products in `frame`, sorted); rows on
                other products are dropped.
            user_ids: the rows to use (default: the users in `frame`, sorted); rows of other
                users are dropped.

        Returns:
            The matrix.
        """
        check_interactions(frame)
        items = pd.Index(sorted(frame["product_id"].unique())) if item_ids is None else pd.Index(item_ids)
        users = pd.Index(sorted(frame["user_id"].unique())) if user_ids is None else pd.Index(user_ids)
        rows = users.get_indexer(frame["user_id"])
        columns = items.get_indexer(frame["product_id"])
        keep = (rows >= 0) & (columns >= 0)
        rows, columns = rows[keep], columns[keep]
        shape = (len(users), len(items))
        weights = frame["weight"].to_numpy(np.float32)[keep]
        matrix = sp.csr_matrix((weights, (rows, columns)), shape=shape, dtype=np.float32)
        matrix.sum_duplicates()
        last_ages = first_ages = None
        if "event_time" in frame and frame["event_time"].notna().any():
            last = pd.to_datetime(frame["event_time"]).to_numpy("datetime64[s]")[keep].astype(np.int64)
            first = last
            if "first_event_time" in frame:
                first = pd.to_datetime(frame["first_event_time"]).to_numpy("datetime64[s]")[keep].astype(np.int64)
            newest = last.max()
            # +1 so the newest interaction stays a stored entry (0 would be dropped as sparse).
            pairs = pd.DataFrame({"row": rows, "column": columns,
                                  "last": (newest - last) / 86_400.0 + 1.0, "first": (newest - first) / 86_400.0 + 1.0})
            # Repeats keep the most recent last time and the oldest first time (a CSR built from repeats
            # would sum them).
            ages = pairs.groupby(["row", "column"], sort=False).agg(last=("last", "min"), first=("first", "max"))
            ages = ages.reset_index()
            coordinates = (ages["row"].to_numpy(), ages["column"].to_numpy())
            last_ages = sp.csr_matrix((ages["last"].to_numpy(np.float32), coordinates), shape=shape)
            first_ages = sp.csr_matrix((ages["first"].to_numpy(np.float32), coordinates), shape=shape)
        return cls(users, items, matrix, last_ages, first_ages)

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def binary(self) -> sp.csr_matrix:
        """The matrix with every stored weight set to 1."""
        binary = self.matrix.copy()
        binary.data[:] = 1.0
        return binary

    def user_items(self, row: int) -> np.ndarray:
        """Column indices the user at `row` interacted with."""
        return self.matrix.indices[self.matrix.indptr[row]:self.matrix.indptr[row + 1]]

    def rows_of(self, user_ids) -> np.ndarray:
        """Row index per user id, -1 for users not in the matrix."""
        return self.user_ids.get_indexer(pd.Index(user_ids))


def check_interactions(frame: pd.DataFrame) -> None:
    """Raise ShopLensError naming the column or row when interactions are unusable."""
    missing = [column for column in ("user_id", "product_id", "weight") if column not in frame]
    if missing:
        raise ShopLensError(f"interactions lack the column(s) {', '.join(missing)}; "
                            "pass one row per interaction with user_id, product_id and weight")
    for column in ("user_id", "product_id"):
        if frame[column].isna().any():
            row = frame.index[frame[column].isna()][0]
            raise ShopLensError(f"interactions row {row} has no {column}; drop rows without a {column}")
    bad = ~(frame["weight"] > 0)
    if bad.any():
        row = frame.index[bad][0]
        raise ShopLensError(f"interactions row {row} has weight {frame['weight'][row]!r}; weights must be > 0")


# --------------------------------------------------------------------------- the warehouse


def data_end_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last day with a view, favourite, cart or purchase, or None when there is none."""
    value = run_report(con, "recommend/data_end", {})["data_end_date"].iloc[0]
    return None if pd.isna(value) else pd.Timestamp(value).date()


def load_interactions(con: duckdb.DuckDBPyConnection, end_date: date | None = None,
                      weights: dict[str, float] | None = None, start_date: date | None = None) -> pd.DataFrame:
    """One row per user and product with the summed interest weight, from the warehouse.

    Args:
        con: a warehouse connection.
        end_date: last day to read, inclusive (default: the data end).
        start_date: first day to read, inclusive (default: the data start).
        weights: event type -> weight (default `EVENT_WEIGHTS`).

    Returns:
        Columns user_id, product_id, weight (> 0), purchases (count), events (count),
        first_event_time and event_time (the first and the last interaction, UTC).
    """
    weights = {**EVENT_WEIGHTS, **(weights or {})}
    end_date = end_date or data_end_date(con)
    if end_date is None:
        return pd.DataFrame(columns=[*INTERACTION_COLUMNS, "purchases", "events", "first_event_time"])
    frame = run_report(con, "recommend/interactions", {
        "start_date": start_date or date.min, "end_date": end_date, **{f"{name}_weight": float(value) for name, value in weights.items()},
    })
    return frame.rename(columns={"last_event_time": "event_time"})


def load_products(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The catalogue, indexed by product_id: title, category_path, category, brand, list_price, price_band."""
    products = run_report(con, "recommend/products", {}).set_index("product_id")
    products["price_band"] = price_bands(products["list_price"], products["category"])
    return products


def load_users(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Users indexed by user_id: segment (region, else acquisition channel), order_count, session_count."""
    return run_report(con, "recommend/users", {}).set_index("user_id")


def load_baskets(con: duckdb.DuckDBPyConnection, kind: str, end_date: date | None = None) -> pd.DataFrame:
    """Baskets for co-occurrence: "session" (products viewed in one visit) or "order" (bought in one order).

    Returns:
        Columns basket_id, product_id; one row per product per basket.
    """
    if kind not in ("session", "order"):
        raise ShopLensError(f"basket kind {kind!r} is unknown; use 'session' or 'order'")
    end_date = end_date or data_end_date(con) or date.max
    return run_report(con, f"recommend/{kind}_baskets", {"end_date": end_date})


def price_bands(list_price: pd.Series, group: pd.Series | None = None) -> pd.Series:
    """Price band per item: quartile of list price within its group (e.g. top-level category).

    Args:
        list_price: prices, any index; nulls give "unknown".
        group: same index; quartiles are taken within each group (default: all items together).

    Returns:
        One of `PRICE_BANDS` or "unknown" per item, same index.
    """
    group = pd.Series("all", index=list_price.index) if group is None else group.fillna("none")
    ranks = list_price.groupby(group).rank(pct=True, method="average")
    band = np.ceil(ranks * len(PRICE_BANDS)).clip(1, len(PRICE_BANDS))
    labels = pd.Series("unknown", index=list_price.index, dtype=object)
    known = band.notna()
    labels[known] = [PRICE_BANDS[int(value) - 1] for value in band[known]]
    return labels


def item_text(products: pd.DataFrame) -> pd.Series:
    """The text content models read per item: title, category path, brand and price band."""
    parts = [products[column].fillna("").astype(str) for column in ("title", "category_path", "brand")
             if column in products]
    if "price_band" in products:
        parts.append("price " + products["price_band"].fillna("unknown").astype(str))
    text = parts[0]
    for part in parts[1:]:
        text = text + " | " + part
    return text


# --------------------------------------------------------------------------- public data sets


@dataclass(frozen=True)
class Dataset:
    """An interaction log with its catalogue, ready for evaluation.

    Attributes:
        name: e.g. "movielens100k".
        interactions: user_id, product_id, weight, event_time (and rating for MovieLens).
        products: indexed by product_id: title, category_path, category, brand, price_band (may be empty).
        users: indexed by user_id: segment.
    """

    name: str
    interactions: pd.DataFrame
    products: pd.DataFrame
    users: pd.DataFrame = field(default_factory=pd.DataFrame)


MOVIELENS_GENRES: tuple[str, ...] = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)


def load_movielens_100k(folder: Path) -> Dataset:
    """MovieLens 100K as implicit interactions: every rating is an interaction of weight 1.

    Args:
        folder: the folder with u.data(.gz), u.item(.gz) and u.user(.gz).

    Returns:
        100,000 interactions of 943 users on 1,682 movies; products carry the title, the genres
        as a category path, the first genre as category and the release decade as "brand".
    """
    folder = Path(folder)
    ratings_file = _first_existing(folder, "u.data")
    ratings = pd.read_csv(ratings_file, sep="\t", names=["user_id", "product_id", "rating", "timestamp"])
    interactions = pd.DataFrame({
        "user_id": ratings["user_id"].astype(str),
        "product_id": ratings["product_id"].astype(str),
        "weight": 1.0,
        "rating": ratings["rating"],
        "event_time": pd.to_datetime(ratings["timestamp"], unit="s"),
    })
    items = pd.read_csv(_first_existing(folder, "u.item"), sep="|", header=None, encoding="latin-1")
    genres = items.iloc[:, 5:5 + len(MOVIELENS_GENRES)].to_numpy(bool)
    genre_lists = [[g for g, on in zip(MOVIELENS_GENRES, row) if on] or ["unknown"] for row in genres]
    release = pd.to_datetime(items[2], format="%d-%b-%Y", errors="coerce")
    products = pd.DataFrame({
        "title": items[1].astype(str),
        "category_path": [" > ".join(names) for names in genre_lists],
        "category": [names[0] for names in genre_lists],
        "brand": [f"{int(year) // 10 * 10}s" if pd.notna(year) else "unknown" for year in release.dt.year],
        "list_price": np.nan,
        "price_band": "unknown",
    }, index=pd.Index(items[0].astype(str), name="product_id"))
    users_file = _first_existing(folder, "u.user", required=False)
    users = pd.DataFrame()
    if users_file is not None:
        table = pd.read_csv(users_file, sep="|", names=["user_id", "age", "gender", "occupation", "zip"])
        users = pd.DataFrame({"segment": table["occupation"].to_numpy()},
                             index=pd.Index(table["user_id"].astype(str), name="user_id"))
    return Dataset("movielens100k", interactions, products, users)


def load_diginetica_sample(folder: Path) -> Dataset:
    """The Diginetica item-view sample: sessions as users, views as weight-1 interactions.

    Args:
        folder: the folder holding sample_train-item-views.csv (semicolon-separated).

    Returns:
        One interaction per session and item viewed; event_time from eventdate plus timeframe (ms).
    """
    path = Path(folder) / "sample_train-item-views.csv"
    if not path.is_file():
        raise ShopLensError(f"{path} does not exist; pass the folder holding sample_train-item-views.csv")
    views = pd.read_csv(path, sep=";", na_values=["NA"])
    times = pd.to_datetime(views["eventdate"]) + pd.to_timedelta(views["timeframe"], unit="ms")
    interactions = pd.DataFrame({
        "user_id": views["session_id"].astype(str),
        "product_id": views["item_id"].astype(str),
        "weight": 1.0,
        "event_time": times,
    })
    return Dataset("diginetica_sample", interactions, pd.DataFrame(index=pd.Index([], name="product_id")))


def _first_existing(folder: Path, name: str, required: bool = True) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    if required:
        raise ShopLensError(f"{folder} has no {name} or {name}.gz; pass the unpacked ml-100k folder")
    return None


def stratified_split(frame: pd.DataFrame, ratio: float = 0.75, seed: int = 42,
                     by: str = "user_id") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split each user's rows at random into train and test, as Microsoft Recommenders does.

    Same steps as `recommenders.datasets.python_splitters.python_stratified_split`: a uniform random
    number per row from `np.random.seed(seed)`, rows ordered by (`by`, random), and a row goes to
    train when its rank within its group divided by the group size is <= `ratio`.

    Args:
        frame: interactions, in their original order (the random numbers follow row order).
        ratio: train share per group, 0 < ratio < 1.
        seed: the seed (42 in the published benchmark).
        by: the column to stratify by.

    Returns:
        (train, test), each a subset of `frame`'s rows.
    """
    if not 0 < ratio < 1:
        raise ShopLensError(f"split ratio {ratio} must be between 0 and 1")
    rng = np.random.RandomState(seed)
    random = rng.rand(len(frame))
    ordered = frame.assign(_random=random).sort_values([by, "_random"])
    groups = ordered.groupby(by, sort=False)
    share = (groups.cumcount() + 1) / groups[by].transform("count")
    is_train = share <= ratio
    ordered = ordered.drop(columns="_random")
    return ordered[is_train.to_numpy()], ordered[~is_train.to_numpy()]


def time_split(frame: pd.DataFrame, holdout_days: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Hold out the last `holdout_days` days: train before the cut, test from it on.

    Returns:
        (train, test, cut), cut being the first held-out instant.
    """
    if holdout_days < 1:
        raise ShopLensError(f"holdout of {holdout_days} days must be at least 1 day")
    times = pd.to_datetime(frame["event_time"])
    cut = times.max().normalize() - pd.Timedelta(days=holdout_days - 1)
    return frame[times < cut], frame[times >= cut], cut
