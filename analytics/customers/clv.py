"""Customer lifetime value: BG/NBD for repeat purchases and Gamma-Gamma for spend (PyMC-Marketing).

The models follow Fader, Hardie & Lee (2005, "Counting your customers the easy way") and Fader,
Hardie & Lee (2005, "RFM and CLV: using iso-value curves"). Each customer is summarised at the
calibration end date, in the chosen time unit (day, week or month = 365.25 / 12 days):

- frequency: repeat purchase days (purchase days after the first one; same-day orders count once);
- recency: time from the first to the last purchase day;
- T: time from the first purchase day to the calibration end;
- monetary_value: mean revenue of the repeat purchase days (0 without repeats).

The fit is a maximum a posteriori estimate with flat (improper uniform) priors on every
parameter, so it equals the maximum-likelihood estimate the papers report, and is deterministic
and fast. Parameter uncertainty comes from a Laplace (normal) approximation of the log-parameters
at the optimum; CLV intervals are percentiles of CLV over parameter draws from it.

PyMC and PyMC-Marketing are imported inside the functions that need them: importing them takes
seconds, and the other pages must not pay for it.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Literal

import duckdb
import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.queries import run_report

TimeUnit = Literal["day", "week", "month"]
TIME_UNITS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
# PyMC-Marketing's CLV helper names time units by letter and converts them to months itself.
_LIBRARY_UNITS = {"day": "D", "week": "W", "month": "M"}
SUMMARY_COLUMNS: tuple[str, ...] = ("user_id", "first_purchase_date", "frequency", "recency", "T", "monetary_value")
PREDICTION_COLUMNS: tuple[str, ...] = (
    "user_id", "frequency", "recency", "T", "monetary_value", "expected_purchases", "probability_alive",
    "expected_spend", "clv", "clv_lower", "clv_upper",
)
DEFAULT_DRAWS = 200
INTERVAL = 0.9
INTERVAL_CUSTOMERS = 5000


def purchase_summary(transactions: pd.DataFrame, calibration_end: date, time_unit: TimeUnit = "week") -> pd.DataFrame:
    """Summarise purchase days into frequency, recency, T and monetary value at `calibration_end`.

    Args:
        transactions: user_id, order_date (date), revenue; several rows on one day are merged.
        calibration_end: last day of the calibration period, inclusive; later rows are ignored.
        time_unit: "day", "week" or "month" (365.25 / 12 days).

    Returns:
        `SUMMARY_COLUMNS`, one row per customer whose first purchase is on or before
        calibration_end, sorted by user_id: frequency (int >= 0), recency and T (>= 0, in
        time units, recency <= T), monetary_value (mean repeat-day revenue, 0 without repeats).

    Raises:
        ShopLensError: a required column is missing or the time unit is unknown.
    """
    _check_unit(time_unit)
    missing = {"user_id", "order_date", "revenue"} - set(transactions.columns)
    if missing:
        raise ShopLensError(f"the transactions lack the column(s) {', '.join(sorted(missing))}; "
                            "give user_id, order_date and revenue")
    days = transactions[["user_id", "order_date", "revenue"]].copy()
    days["order_date"] = pd.to_datetime(days["order_date"]).dt.normalize()
    end = pd.Timestamp(calibration_end)
    days = days[days["order_date"] <= end]
    if days.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    days = days.groupby(["user_id", "order_date"], as_index=False, sort=True)["revenue"].sum()
    grouped = days.groupby("user_id", sort=True)
    first = grouped["order_date"].min()
    last = grouped["order_date"].max()
    count = grouped.size()
    total = grouped["revenue"].sum()
    first_revenue = days.drop_duplicates("user_id", keep="first").set_index("user_id")["revenue"]
    unit_days = TIME_UNITS[time_unit]
    frequency = (count - 1).astype(int)
    repeat_revenue = total - first_revenue
    summary = pd.DataFrame({
        "user_id": first.index,
        "first_purchase_date": first.dt.date.to_numpy(),
        "frequency": frequency.to_numpy(),
        "recency": ((last - first).dt.days / unit_days).to_numpy(),
        "T": ((end - first).dt.days / unit_days).to_numpy(),
        "monetary_value": np.where(frequency > 0, repeat_revenue / frequency.where(frequency > 0, 1), 0.0),
    })
    return summary.reset_index(drop=True)


def holdout_purchases(transactions: pd.DataFrame, calibration_end: date, holdout_end: date) -> pd.Series:
    """Purchase days per customer in the holdout period (calibration_end, holdout_end].

    Args:
        transactions: user_id, order_date, revenue (revenue unused).
        calibration_end: last calibration day.
        holdout_end: last holdout day, inclusive.

    Returns:
        int Series indexed by user_id (customers without a holdout purchase are absent).
    """
    dates = pd.to_datetime(transactions["order_date"]).dt.normalize()
    chosen = transactions.loc[(dates > pd.Timestamp(calibration_end)) & (dates <= pd.Timestamp(holdout_end)),
                              ["user_id"]].assign(order_date=dates)
    return chosen.drop_duplicates().groupby("user_id").size().astype(int)


class ClvModel:
    """BG/NBD + Gamma-Gamma, fitted by flat-prior MAP (= MLE) through PyMC-Marketing.

    Follows scikit-learn: `__init__` stores parameters, `fit` returns self, learned attributes end
    in "_".

    Args:
        time_unit: the unit recency and T are in ("day", "week", "month").
        draws: Laplace draws of the parameters for intervals (0 = no intervals).
        interval: central probability of the CLV interval, in (0, 1).
        random_seed: seed of the parameter draws.
        interval_customers: intervals are computed for this many customers with the highest CLV
            (all when there are fewer); the others get NaN.
    """

    def __init__(self, time_unit: TimeUnit = "week", draws: int = DEFAULT_DRAWS, interval: float = INTERVAL,
                 random_seed: int = 5, interval_customers: int = INTERVAL_CUSTOMERS) -> None:
        self.time_unit = time_unit
        self.draws = draws
        self.interval = interval
        self.random_seed = random_seed
        self.interval_customers = interval_customers

    def fit(self, summary: pd.DataFrame, progress: Callable[[str], None] | None = None) -> ClvModel:
        """Fit both models to a purchase summary.

        Args:
            summary: `purchase_summary` output. Customers with T = 0 (first purchase on the
                calibration end day) carry no information and are left out of the fit.
            progress: called with a short message before each stage (for a progress display).

        Returns:
            self, with bgnbd_params_ (r, alpha, a, b), gamma_gamma_params_ (p, q, v),
            bgnbd_model_, gamma_gamma_model_, parameter_draws_ (one row per draw, empty when
            draws = 0), fit_customers_, spend_customers_, fit_seconds_.

        Raises:
            ShopLensError: too few customers or repeat buyers to fit.
        """
        _check_unit(self.time_unit)
        report = progress or (lambda message: None)
        started = time.perf_counter()
        data = _model_frame(summary)
        data = data[data["T"] > 0]
        repeaters = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
        if len(data) < 10 or len(repeaters) < 5:
            raise ShopLensError(
                f"{len(data):,} customers and {len(repeaters):,} repeat buyers before the calibration end are too few "
                "for a CLV model (at least 10 and 5); move the calibration end later or widen the filters")
        report("Importing PyMC-Marketing")
        from pymc_extras.prior import Prior
        from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

        flat = {name: Prior("HalfFlat") for name in ("r", "alpha", "a", "b")}
        report(f"Fitting BG/NBD to {len(data):,} customers")
        bgnbd = BetaGeoModel(model_config=flat)
        _quiet_fit(bgnbd, data[["customer_id", "frequency", "recency", "T"]])
        report(f"Fitting Gamma-Gamma to {len(repeaters):,} repeat buyers")
        flat_spend = {name: Prior("HalfFlat") for name in ("p", "q", "v")}
        gamma_gamma = GammaGammaModel(model_config=flat_spend)
        _quiet_fit(gamma_gamma, repeaters[["customer_id", "frequency", "monetary_value"]])
        self.bgnbd_model_ = bgnbd
        self.gamma_gamma_model_ = gamma_gamma
        self.bgnbd_params_ = {name: float(bgnbd.fit_result[name].values.ravel()[0])
                              for name in ("r", "alpha", "a", "b")}
        self.gamma_gamma_params_ = {name: float(gamma_gamma.fit_result[name].values.ravel()[0])
                                    for name in ("p", "q", "v")}
        self.fit_customers_ = len(data)
        self.spend_customers_ = len(repeaters)
        if self.draws > 0:
            report("Drawing parameter uncertainty (Laplace)")
            x, t_x, big_t = (data[name].to_numpy(float) for name in ("frequency", "recency", "T"))
            spend_x, spend_z = (repeaters[name].to_numpy(float) for name in ("frequency", "monetary_value"))
            self.parameter_draws_ = pd.concat(
                [_laplace_draws(lambda theta: bgnbd_log_likelihood(theta, x, t_x, big_t), self.bgnbd_params_,
                                self.draws, self.random_seed),
                 _laplace_draws(lambda theta: gamma_gamma_log_likelihood(theta, spend_x, spend_z),
                                self.gamma_gamma_params_, self.draws, self.random_seed + 1)], axis=1)
        else:
            self.parameter_draws_ = pd.DataFrame()
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def predict(self, summary: pd.DataFrame, horizon: float, clv_months: int = 12,
                discount_rate: float = 0.01) -> pd.DataFrame:
        """Per-customer predictions.

        Args:
            summary: `purchase_summary` output (may hold customers the model was not fitted on).
            horizon: length of the future period for expected purchases, in time units, > 0.
            clv_months: months of future value in CLV, >= 1.
            discount_rate: monthly discount rate for CLV, >= 0 (0.01 = 1 % a month).

        Returns:
            `PREDICTION_COLUMNS`, same customers and order as `summary`: expected_purchases (in the
            next `horizon`), probability_alive (0..1), expected_spend (per purchase, Gamma-Gamma
            conditional mean), clv (discounted value over clv_months), clv_lower and clv_upper (the
            central `interval` of CLV over the parameter draws; NaN without draws and beyond the
            `interval_customers` most valuable customers).

        Raises:
            ShopLensError: the model is not fitted or an argument is out of range.
        """
        if not hasattr(self, "bgnbd_model_"):
            raise ShopLensError("the CLV model is not fitted; call fit first")
        if horizon <= 0 or clv_months < 1 or discount_rate < 0:
            raise ShopLensError(f"horizon {horizon} must be > 0, clv_months {clv_months} >= 1 and "
                                f"discount_rate {discount_rate} >= 0")
        data = _model_frame(summary)
        predictions = summary[["user_id", "frequency", "recency", "T", "monetary_value"]].copy().reset_index(drop=True)
        if data.empty:
            return pd.DataFrame(columns=list(PREDICTION_COLUMNS))
        point = _predict_with(self.bgnbd_model_, self.gamma_gamma_model_, data, horizon, clv_months, discount_rate,
                              self.time_unit)
        for column, values in point.items():
            predictions[column] = values.mean(axis=0)
        predictions["clv_lower"] = np.nan
        predictions["clv_upper"] = np.nan
        if not self.parameter_draws_.empty:
            # Intervals cost draws x months x customers evaluations of a hypergeometric function,
            # so they are computed for the most valuable `interval_customers` customers only.
            chosen = predictions["clv"].nlargest(self.interval_customers).index
            bgnbd = _with_draws(self.bgnbd_model_, self.parameter_draws_[["r", "alpha", "a", "b"]])
            gamma_gamma = _with_draws(self.gamma_gamma_model_, self.parameter_draws_[["p", "q", "v"]])
            clv = _predict_with(bgnbd, gamma_gamma, data.loc[chosen].reset_index(drop=True), horizon, clv_months,
                                discount_rate, self.time_unit, clv_only=True)["clv"]
            tail = (1 - self.interval) / 2
            predictions.loc[chosen, "clv_lower"] = np.quantile(clv, tail, axis=0)
            predictions.loc[chosen, "clv_upper"] = np.quantile(clv, 1 - tail, axis=0)
        return predictions[list(PREDICTION_COLUMNS)]

    def expected_purchases(self, summary: pd.DataFrame, horizon: float) -> np.ndarray:
        """Expected repeat purchase days in the next `horizon` time units, one per summary row."""
        data = _model_frame(summary)
        values = self.bgnbd_model_.expected_purchases(data=data, future_t=horizon)
        return np.asarray(values).reshape(-1, len(data)).mean(axis=0)


@dataclass(frozen=True)
class Clv:
    """A fitted CLV analysis of one warehouse (or transactions file).

    Attributes:
        calibration_end: last day of the calibration period.
        time_unit: "day", "week" or "month".
        horizon: future period of expected_purchases, in time units.
        clv_months: months of value in CLV; discount_rate: monthly discount rate.
        bgnbd: r, alpha (in time units), a, b. gamma_gamma: p, q, v (in revenue units).
        customers: customers in the summary; fit_customers: with T > 0; spend_customers: repeat
            buyers the Gamma-Gamma model was fitted on.
        predictions: `PREDICTION_COLUMNS` per customer, highest CLV first.
        holdout: when data follows the calibration end, one row per calibration frequency
            (0..6 and "7+"): customers, actual and predicted mean holdout purchases; else empty.
        holdout_end: last holdout day, or None.
        holdout_totals: actual and predicted total holdout purchases, or empty.
        fit_seconds: wall time of fitting (both models and the draws).
    """

    calibration_end: date
    time_unit: str
    horizon: float
    clv_months: int
    discount_rate: float
    bgnbd: dict[str, float]
    gamma_gamma: dict[str, float]
    customers: int
    fit_customers: int
    spend_customers: int
    predictions: pd.DataFrame
    holdout: pd.DataFrame
    holdout_end: date | None
    holdout_totals: dict[str, float] = field(default_factory=dict)
    fit_seconds: float = 0.0

    @property
    def totals(self) -> dict[str, float]:
        """Sums over customers: expected_purchases and clv; and the mean probability_alive (0..1)."""
        return {
            "expected_purchases": float(self.predictions["expected_purchases"].sum()),
            "clv": float(self.predictions["clv"].sum()),
            "mean_probability_alive": float(self.predictions["probability_alive"].mean()),
        }

    def document(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (the CLI's `--format json`)."""
        top = self.predictions.head(10)
        return {
            "calibration_end": self.calibration_end,
            "time_unit": self.time_unit,
            "horizon": self.horizon,
            "clv_months": self.clv_months,
            "discount_rate": self.discount_rate,
            "customers": self.customers,
            "fit_customers": self.fit_customers,
            "spend_customers": self.spend_customers,
            "bgnbd": self.bgnbd,
            "gamma_gamma": self.gamma_gamma,
            "totals": self.totals,
            "holdout_end": self.holdout_end,
            "holdout": self.holdout_totals,
            "holdout_by_frequency": self.holdout.to_dict("records"),
            "top_customers": top.to_dict("records"),
            "fit_seconds": self.fit_seconds,
        }


def load_transactions(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Purchase days up to `filters.end_date` with their revenue (category/channel/device filters apply).

    Returns:
        user_id, order_date (date), revenue; one row per customer and day.
    """
    return run_report(con, "customers/clv_transactions", filters.sql_parameters())


def read_transactions_csv(path: Path) -> pd.DataFrame:
    """Read a transactions file such as CDNOW's (customer_id, date, number_of_cds, dollar_value).

    Args:
        path: CSV (optionally .gz) with a customer column (user_id or customer_id), a date column
            (order_date or date) and a revenue column (revenue or dollar_value).

    Returns:
        user_id (str), order_date (date), revenue (float).

    Raises:
        ShopLensError: the file is missing or a column cannot be found.
    """
    if not Path(path).is_file():
        raise ShopLensError(f"{path} does not exist; give a CSV with customer, date and revenue columns")
    frame = pd.read_csv(path)
    names = {"user_id": ("user_id", "customer_id"), "order_date": ("order_date", "date"),
             "revenue": ("revenue", "dollar_value")}
    chosen = {}
    for target, candidates in names.items():
        found = next((name for name in candidates if name in frame.columns), None)
        if found is None:
            raise ShopLensError(f"{path} has no {' or '.join(candidates)} column (it has {', '.join(frame.columns)})")
        chosen[target] = found
    result = pd.DataFrame({
        "user_id": frame[chosen["user_id"]].astype(str),
        "order_date": pd.to_datetime(frame[chosen["order_date"]]).dt.date,
        "revenue": frame[chosen["revenue"]].astype(float),
    })
    return result


def analyse_clv(transactions: pd.DataFrame, calibration_end: date, time_unit: TimeUnit = "week",
                horizon: float | None = None, clv_months: int = 12, discount_rate: float = 0.01,
                draws: int = DEFAULT_DRAWS, progress: Callable[[str], None] | None = None) -> Clv:
    """Fit BG/NBD and Gamma-Gamma on the calibration period and predict per customer.

    Args:
        transactions: user_id, order_date, revenue (any number of rows per day).
        calibration_end: last day of the calibration period; later days form the holdout.
        time_unit: "day", "week" or "month".
        horizon: future period for expected purchases, in time units; default one year
            (365 days, 52 weeks or 12 months).
        clv_months: months of future value in CLV, >= 1.
        discount_rate: monthly discount rate, >= 0.
        draws: Laplace parameter draws for CLV intervals (0 = none).
        progress: called with a message before each stage.

    Returns:
        A `Clv`.

    Raises:
        ShopLensError: too few customers, or arguments out of range.
    """
    _check_unit(time_unit)
    horizon = horizon if horizon is not None else {"day": 365.0, "week": 52.0, "month": 12.0}[time_unit]
    summary = purchase_summary(transactions, calibration_end, time_unit)
    model = ClvModel(time_unit, draws=draws).fit(summary, progress)
    if progress:
        progress("Predicting purchases, P(alive) and CLV")
    predictions = model.predict(summary, horizon, clv_months, discount_rate)
    predictions = predictions.sort_values(["clv", "user_id"], ascending=[False, True]).reset_index(drop=True)
    holdout, holdout_end, totals = _holdout(model, summary, transactions, calibration_end, time_unit)
    return Clv(calibration_end, time_unit, float(horizon), clv_months, discount_rate, model.bgnbd_params_,
               model.gamma_gamma_params_, len(summary), model.fit_customers_, model.spend_customers_,
               predictions, holdout, holdout_end, totals, model.fit_seconds_)


def load_clv(con: duckdb.DuckDBPyConnection, filters: Filters, calibration_end: date | None = None,
             time_unit: TimeUnit = "week", horizon: float | None = None, clv_months: int = 12,
             discount_rate: float = 0.01, draws: int = DEFAULT_DRAWS,
             progress: Callable[[str], None] | None = None) -> Clv:
    """`analyse_clv` on the warehouse's orders up to `filters.end_date`.

    Args:
        con: a warehouse connection.
        filters: end_date closes the data used (the holdout ends there); category, channel and
            device filters apply; start_date is not used (the models need each customer's whole history).
        calibration_end: last calibration day; default `filters.end_date` (no holdout).
        time_unit, horizon, clv_months, discount_rate, draws, progress: as for `analyse_clv`.

    Returns:
        A `Clv`.

    Raises:
        ShopLensError: the calibration end is after the end date, or too few customers.
    """
    calibration_end = calibration_end or filters.end_date
    if calibration_end > filters.end_date:
        raise ShopLensError(f"the calibration end {calibration_end} is after the data's end {filters.end_date}; "
                            "choose an earlier calibration end")
    transactions = load_transactions(con, filters)
    return analyse_clv(transactions, calibration_end, time_unit, horizon, clv_months, discount_rate, draws, progress)


# --------------------------------------------------------------------------- internals


def _check_unit(time_unit: str) -> None:
    if time_unit not in TIME_UNITS:
        raise ShopLensError(f"time unit {time_unit!r} is not known; choose day, week or month")


def _model_frame(summary: pd.DataFrame) -> pd.DataFrame:
    # PyMC-Marketing names the customer column customer_id; keep ours as user_id elsewhere.
    frame = summary[["user_id", "frequency", "recency", "T", "monetary_value"]]
    frame = frame.rename(columns={"user_id": "customer_id"})
    types = {"frequency": int, "recency": float, "T": float, "monetary_value": float}
    return frame.astype(types).reset_index(drop=True)


def _quiet_fit(model: Any, data: pd.DataFrame) -> None:
    import logging
    import warnings

    logging.getLogger("pymc").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data=data, method="map", progressbar=False)


def bgnbd_log_likelihood(params: np.ndarray, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> float:
    """BG/NBD log-likelihood, Fader, Hardie & Lee (2005) equation 6, summed over customers.

    Args:
        params: r, alpha, a, b (all > 0).
        frequency, recency, T: per customer, in one time unit.

    Returns:
        The total log-likelihood.
    """
    from scipy.special import gammaln

    r, alpha, a, b = params
    x = frequency
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + recency),
                      -np.inf)
    return float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


def gamma_gamma_log_likelihood(params: np.ndarray, frequency: np.ndarray, monetary_value: np.ndarray) -> float:
    """Gamma-Gamma log-likelihood of mean repeat spend (Fader, Hardie & Lee 2005b), summed over repeat buyers.

    Args:
        params: p, q, v (all > 0).
        frequency: repeat purchases, > 0; monetary_value: their mean value, > 0.

    Returns:
        The total log-likelihood.
    """
    from scipy.special import gammaln

    p, q, v = params
    x, z = frequency, monetary_value
    return float(np.sum(gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(z)
                        + p * x * np.log(x) - (p * x + q) * np.log(x * z + v)))


def _laplace_draws(log_likelihood: Callable[[np.ndarray], float], params: dict[str, float], draws: int,
                   seed: int) -> pd.DataFrame:
    """Normal draws of the log-parameters around the optimum; covariance = inverse observed information.

    The Hessian is taken by central differences of the closed-form log-likelihood in log-parameter
    space (a compiled symbolic Hessian takes minutes to build; this takes milliseconds).
    """
    names = list(params)
    centre = np.log([params[name] for name in names])
    step = 1e-4

    def value(theta: np.ndarray) -> float:
        return log_likelihood(np.exp(theta))

    size = len(names)
    hessian = np.zeros((size, size))
    for i in range(size):
        for j in range(i, size):
            shifts = []
            for di, dj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                theta = centre.copy()
                theta[i] += di * step
                theta[j] += dj * step
                shifts.append(value(theta))
            hessian[i, j] = hessian[j, i] = (shifts[0] - shifts[1] - shifts[2] + shifts[3]) / (4 * step * step)
    covariance = np.linalg.pinv(-hessian)
    covariance = (covariance + covariance.T) / 2
    generator = np.random.default_rng(seed)
    samples = generator.multivariate_normal(centre, covariance, size=draws, method="eigh")
    return pd.DataFrame(np.exp(samples), columns=names)


def _with_draws(model: Any, draws: pd.DataFrame) -> Any:
    """A shallow copy of a fitted model whose posterior is the given parameter draws (chain 1)."""
    import arviz as az

    clone = copy.copy(model)
    clone.idata = az.from_dict(posterior={name: draws[name].to_numpy()[None, :] for name in draws.columns})
    return clone


def _predict_with(bgnbd: Any, gamma_gamma: Any, data: pd.DataFrame, horizon: float, clv_months: int,
                  discount_rate: float, time_unit: str, clv_only: bool = False) -> dict[str, np.ndarray]:
    """Predictions as arrays of shape (draws, customers); draws pair the two models' draws by index."""
    import warnings

    from pymc_marketing.clv.utils import customer_lifetime_value

    customers = len(data)

    def flat(values: Any) -> np.ndarray:
        return np.asarray(values).reshape(-1, customers)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The Gamma-Gamma conditional mean applies to every customer: with no repeats it is the
        # population mean spend, which is what a customer's future purchases are worth.
        spend = flat(gamma_gamma.expected_customer_spend(data=data))
        # CLV = spend x discounted expected purchases, and spend is the same in every month, so
        # the library's discounted sum is taken once with a unit spend and scaled per draw.
        unit = data.copy()
        unit["future_spend"] = 1.0
        discounted_purchases = flat(customer_lifetime_value(
            bgnbd, unit, future_t=clv_months, discount_rate=discount_rate, time_unit=_LIBRARY_UNITS[time_unit]))
        result = {"clv": discounted_purchases * spend}
        if not clv_only:
            result["expected_purchases"] = flat(bgnbd.expected_purchases(data=data, future_t=horizon))
            result["probability_alive"] = flat(bgnbd.expected_probability_alive(data=data))
            result["expected_spend"] = spend
        return result


def _holdout(model: ClvModel, summary: pd.DataFrame, transactions: pd.DataFrame, calibration_end: date,
             time_unit: str) -> tuple[pd.DataFrame, date | None, dict[str, float]]:
    """Predicted against actual holdout purchase days, by calibration frequency (FHL 2005, figure 3)."""
    dates = pd.to_datetime(transactions["order_date"])
    if dates.empty or dates.max().date() <= calibration_end:
        return pd.DataFrame(columns=["frequency", "customers", "actual", "predicted"]), None, {}
    holdout_end = dates.max().date()
    length = (holdout_end - calibration_end).days / TIME_UNITS[time_unit]
    actual = holdout_purchases(transactions, calibration_end, holdout_end)
    table = summary[["user_id", "frequency"]].copy()
    table["actual"] = table["user_id"].map(actual).fillna(0).astype(int).to_numpy()
    table["predicted"] = model.expected_purchases(summary, length)
    table["frequency"] = np.where(table["frequency"] >= 7, "7+", table["frequency"].astype(str))
    grouped = table.groupby("frequency", as_index=False).agg(customers=("user_id", "size"), actual=("actual", "mean"),
                                                             predicted=("predicted", "mean"))
    order = {str(k): k for k in range(7)} | {"7+": 7}
    grouped = grouped.sort_values("frequency", key=lambda column: column.map(order)).reset_index(drop=True)
    totals = {"holdout_length": length, "actual_purchases": float(table["actual"].sum()),
              "predicted_purchases": float(table["predicted"].sum())}
    return grouped, holdout_end, totals
