"""Plotly figures for ShopLens pages: pure functions of engine results, no Streamlit.

`theme` holds the shared look; one module per page holds that page's figures.
"""

from analytics.charts.theme import COLORS, FONT_FAMILY, TEMPLATE

__all__ = ["COLORS", "FONT_FAMILY", "TEMPLATE"]
