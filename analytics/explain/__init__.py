"""Model explanations: a conversion classifier, time-split validation and SHAP values.

- `model.ConversionClassifier`: a scikit-learn estimator over numeric and categorical columns.
- `explanation.explain_model` / `explain_segment`: fit, validate in time, explain with SHAP.
- `cart_conversion.explain_cart_conversion`: the cart-conversion model of the Cart drop-off page.
"""
