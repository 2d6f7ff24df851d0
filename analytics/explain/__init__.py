"""Model explanations: the shared layer every model-backed page uses.

- `trained.TrainedModel`: the contract a trainer returns (any task).
- `tree_shap.explain_trained`: TreeSHAP values, additivity check, one row, dependence.
- `cards`: model cards, recorded per data version next to the warehouse.
- `registry`: the app's models by name, with lazily imported trainers.
- `fairness.fairness_report`: metrics and base rates across groups, gaps flagged.
- `metrics`: ROC AUC, log loss, top-decile lift, MASE, WAPE, NDCG.
- `cart_conversion.train_cart_model`: the cart-conversion model of the Cart drop-off page.
- `model.ConversionClassifier`: the cart model's estimator; `explanation`: time split, calibration
  table and segment explanations.
"""
