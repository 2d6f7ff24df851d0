"""ShopLens engine: warehouse, analyses and figures. Never imports streamlit."""

__version__ = "0.1.0"
