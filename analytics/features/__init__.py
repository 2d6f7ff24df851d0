"""Point-in-time features and the models built on them.

- `store`: user and product features as of a point in time (SQL in `analytics/sql/features/`),
  materialised per data version beside the warehouse.
- `predictive`: GA4-like P(purchase in 7 days) and P(churn in 28 days) per customer.
"""
