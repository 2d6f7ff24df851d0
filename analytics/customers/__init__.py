"""Customers: cohort retention, RFM segments and customer lifetime value.

- `retention`: cohort matrices by acquisition period (N-period and unbounded retention, LTV curves).
- `rfm`: recency, frequency and monetary scores, the 11 named segments, migration between periods.
- `clv`: BG/NBD and Gamma-Gamma (PyMC-Marketing, imported lazily) for purchases, P(alive) and CLV.

Nothing here imports streamlit; pages call one function each and render the typed result.
"""
