"""CLV: purchase summaries by hand, and BG/NBD + Gamma-Gamma against Fader, Hardie & Lee (2005) on CDNOW."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.special import hyp2f1

from analytics.cli import main
from analytics.customers.clv import (
    ClvModel, bgnbd_log_likelihood, gamma_gamma_log_likelihood, holdout_purchases, purchase_summary,
    read_transactions_csv,
)
from analytics.errors import ShopLensError
from tests.customers_fixtures import CDNOW, cdnow_sample_ids, cdnow_transactions, write_cdnow_sample

# Published maximum-likelihood estimates on the 1/10 sample (2,357 customers), calibration weeks 1-39.
FHL_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
FHL_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
CALIBRATION_END = date(1997, 9, 30)

needs_cdnow = pytest.mark.skipif(not CDNOW.is_file(), reason=f"CDNOW data not found at {CDNOW}")


def test_purchase_summary_by_hand():
    transactions = pd.DataFrame({
        "user_id": ["x", "x", "x", "x", "x", "y", "z"],
        "order_date": ["2025-01-01", "2025-01-01", "2025-01-08", "2025-01-22", "2025-02-05", "2025-01-31",
                       "2025-02-02"],
        "revenue": [10.0, 5.0, 20.0, 40.0, 7.0, 9.0, 1.0],
    })
    summary = purchase_summary(transactions, date(2025, 1, 31), "week").set_index("user_id")

    # x: days 01-01 (two orders = one purchase), 01-08, 01-22; 02-05 is after the calibration end.
    # frequency 2, recency 21 days = 3 weeks, T 30 days, monetary (20 + 40) / 2 = 30.
    assert summary.loc["x", "frequency"] == 2
    assert summary.loc["x", "recency"] == pytest.approx(3.0)
    assert summary.loc["x", "T"] == pytest.approx(30 / 7)
    assert summary.loc["x", "monetary_value"] == pytest.approx(30.0)
    # y bought once, on the calibration end day; z only after it and is left out.
    assert summary.loc["y"].tolist()[1:] == [0, 0.0, 0.0, 0.0]
    assert "z" not in summary.index
    days = purchase_summary(transactions, date(2025, 1, 31), "day").set_index("user_id")
    assert days.loc["x", "recency"] == 21.0


def test_holdout_purchases_count_days():
    transactions = pd.DataFrame({"user_id": ["x", "x", "x", "y"],
                                 "order_date": pd.to_datetime(["2025-02-01", "2025-02-01", "2025-02-03", "2025-01-02"]),
                                 "revenue": [1.0, 1.0, 1.0, 1.0]})
    assert holdout_purchases(transactions, date(2025, 1, 31), date(2025, 2, 28)).to_dict() == {"x": 2}


def test_too_few_customers_is_explained():
    summary = pd.DataFrame({"user_id": ["a", "b"], "first_purchase_date": [date(2025, 1, 1)] * 2,
                            "frequency": [1, 0], "recency": [1.0, 0.0], "T": [3.0, 3.0], "monetary_value": [5.0, 0.0]})
    with pytest.raises(ShopLensError, match="too few"):
        ClvModel().fit(summary)


def test_read_transactions_csv_names_the_missing_column(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"customer_id": [1], "when": ["2025-01-01"], "dollar_value": [1.0]}).to_csv(path, index=False)
    with pytest.raises(ShopLensError, match="no order_date or date column"):
        read_transactions_csv(path)


@pytest.fixture(scope="module")
def sample_summary() -> pd.DataFrame:
    if not CDNOW.is_file():
        pytest.skip(f"CDNOW data not found at {CDNOW}")
    transactions = cdnow_transactions()
    sample = transactions[transactions["customer_id"].isin(cdnow_sample_ids())]
    frame = pd.DataFrame({"user_id": sample["customer_id"].astype(str), "order_date": sample["date"],
                          "revenue": sample["dollar_value"]})
    return purchase_summary(frame, CALIBRATION_END, "week")


@needs_cdnow
def test_sample_summary_matches_the_paper(sample_summary):
    # FHL 2005: 2,357 customers, 1,411 with no repeat purchase in weeks 1-39.
    assert len(sample_summary) == 2357
    assert (sample_summary["frequency"] == 0).sum() == 1411
    assert sample_summary["T"].max() == pytest.approx(272 / 7)  # first purchase 1997-01-01


@needs_cdnow
def test_closed_form_maximum_likelihood_reproduces_the_paper(sample_summary):
    # An independent reference: scipy maximises the closed-form likelihoods directly.
    x, t_x, big_t = (sample_summary[name].to_numpy(float) for name in ("frequency", "recency", "T"))
    result = minimize(lambda theta: -bgnbd_log_likelihood(np.exp(theta), x, t_x, big_t), np.zeros(4),
                      method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-8})
    for value, (name, published) in zip(np.exp(result.x), FHL_BGNBD.items()):
        assert value == pytest.approx(published, rel=0.01), name
    repeat = sample_summary[sample_summary["frequency"] > 0]
    spend = minimize(lambda theta: -gamma_gamma_log_likelihood(np.exp(theta), repeat["frequency"].to_numpy(float),
                                                               repeat["monetary_value"].to_numpy(float)),
                     np.zeros(3), method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-8})
    for value, (name, published) in zip(np.exp(spend.x), FHL_GAMMA_GAMMA.items()):
        assert value == pytest.approx(published, rel=0.01), name


@pytest.fixture(scope="module")
def fitted(sample_summary) -> ClvModel:
    return ClvModel("week", draws=50).fit(sample_summary)


@needs_cdnow
@pytest.mark.slow
def test_pymc_marketing_fit_reproduces_the_paper(fitted):
    for name, published in FHL_BGNBD.items():
        assert fitted.bgnbd_params_[name] == pytest.approx(published, rel=0.01), name
    for name, published in FHL_GAMMA_GAMMA.items():
        assert fitted.gamma_gamma_params_[name] == pytest.approx(published, rel=0.01), name


def reference_predictions(params: dict[str, float], x, t_x, big_t, horizon: float):
    """FHL 2005 equations (10) for E[purchases in the next t] and the P(alive) of their appendix."""
    r, alpha, a, b = (params[name] for name in ("r", "alpha", "a", "b"))
    ratio = (alpha + big_t) / (alpha + t_x)
    alive = 1 / (1 + np.where(x > 0, a / (b + x - 1), 0.0) * ratio ** (r + x))
    z = horizon / (alpha + big_t + horizon)
    expected = ((a + b + x - 1) / (a - 1) * (1 - ((alpha + big_t) / (alpha + big_t + horizon)) ** (r + x)
                                                * hyp2f1(r + x, b + x, a + b + x - 1, z))
                / (1 + np.where(x > 0, a / (b + x - 1), 0.0) * ratio ** (r + x)))
    return expected, alive


@needs_cdnow
@pytest.mark.slow
def test_predictions_match_the_closed_forms(fitted, sample_summary):
    rows = sample_summary.iloc[[0, 5, 16, 100, 2000]]
    predictions = fitted.predict(rows, horizon=39.0, clv_months=12, discount_rate=0.0)
    expected, alive = reference_predictions(fitted.bgnbd_params_, *(rows[n].to_numpy(float)
                                                                    for n in ("frequency", "recency", "T")), 39.0)

    np.testing.assert_allclose(predictions["expected_purchases"], expected, rtol=1e-6)
    np.testing.assert_allclose(predictions["probability_alive"], alive, rtol=1e-6)
    # Gamma-Gamma conditional mean spend: (p (v + x zbar)) / (p x + q - 1).
    p, q, v = (fitted.gamma_gamma_params_[name] for name in ("p", "q", "v"))
    x, z = rows["frequency"].to_numpy(float), rows["monetary_value"].to_numpy(float)
    np.testing.assert_allclose(predictions["expected_spend"], p * (v + x * z) / (p * x + q - 1), rtol=1e-6)
    # Undiscounted 12-month CLV = spend x expected purchases over 12 x 4.345 weeks.
    twelve_months, _ = reference_predictions(fitted.bgnbd_params_, *(rows[n].to_numpy(float)
                                                                     for n in ("frequency", "recency", "T")), 12 * 4.345)
    np.testing.assert_allclose(predictions["clv"], twelve_months * predictions["expected_spend"], rtol=1e-6)
    assert (predictions["clv_lower"] <= predictions["clv"]).all() and (predictions["clv"] <= predictions["clv_upper"]).all()


@needs_cdnow
@pytest.mark.slow
def test_cli_reproduces_the_paper_on_the_one_tenth_sample(tmp_path, capsys):
    sample = write_cdnow_sample(tmp_path / "cdnow_sample.csv")
    customers_csv = tmp_path / "customers.csv"

    code = main(["clv", "--transactions", str(sample), "--calibration-end", "1997-09-30", "--time-unit", "week",
                 "--draws", "20", "--format", "json", "--customers-csv", str(customers_csv)])

    assert code == 0
    document = json.loads(capsys.readouterr().out)
    for name, published in FHL_BGNBD.items():
        assert document["bgnbd"][name] == pytest.approx(published, rel=0.01), name
    for name, published in FHL_GAMMA_GAMMA.items():
        assert document["gamma_gamma"][name] == pytest.approx(published, rel=0.01), name
    assert document["customers"] == 2357
    # The holdout is weeks 40-78 (1997-10-01..1998-06-30): 39 weeks.
    assert document["holdout"]["holdout_length"] == pytest.approx(39.0)
    written = pd.read_csv(customers_csv)
    assert len(written) == 2357 and written["probability_alive"].between(0, 1).all()


@pytest.mark.slow
def test_the_clv_explanation_is_a_faithful_additive_surrogate(sample_con):
    from analytics.customers.clv_explain import FEATURES, train_clv_explainer
    from analytics.explain.tree_shap import explain_trained
    from analytics.filters import Filters

    trained = train_clv_explainer(sample_con, Filters(date(2025, 1, 1), date(2025, 12, 31)), date(2025, 9, 30))
    explanation = explain_trained(trained)

    assert trained.task == "regression" and list(trained.feature_labels) == list(FEATURES)
    # Fidelity on customers the surrogate never saw: it reproduces BG/NBD + Gamma-Gamma's CLV closely.
    assert trained.metrics["r2"] > 0.8 and trained.metrics["wape"] < 0.15
    assert explanation.is_additive
    # The explained customers' CLV (the surrogate's target) is what the closed forms predicted for them.
    assert trained.explain_actual.index.equals(trained.explain_rows.index)
