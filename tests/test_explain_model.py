"""The conversion classifier on data with a feature missing everywhere (a click log without prices)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.explain.model import ConversionClassifier


def test_a_feature_missing_in_every_training_row_is_ignored_not_fatal():
    # Taobao's click log has no prices, so price_ratio is missing for every cart; scikit-learn's
    # binning raised "window shape cannot be larger than input array shape" on it.
    rng = np.random.default_rng(0)
    driver = rng.random(400)
    frame = pd.DataFrame({"driver": driver, "price_ratio": np.nan, "device": rng.choice(["mobile", "desktop"], 400)})
    outcome = (driver > 0.5).astype(int)

    model = ConversionClassifier(numeric_features=("driver", "price_ratio"), categorical_features=("device",),
                                 min_samples_leaf=20).fit(frame, outcome)

    probability = model.predict_proba(frame)[:, 1]
    assert probability[outcome == 1].mean() > 0.8 > 0.2 > probability[outcome == 0].mean()
    # The empty feature is never split on, so any value (or none) leaves the prediction unchanged.
    shifted = frame.assign(price_ratio=7.5)
    np.testing.assert_allclose(model.predict_proba(shifted), model.predict_proba(frame))
