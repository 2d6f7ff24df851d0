"""One look for every ShopLens figure: colours, fonts, margins and number formats.

Figures set `template=TEMPLATE` and take their colours from `COLORS`, so a
metric has the same colour on every page (revenue is always teal, orders
always amber). Fonts list CJK faces so Chinese product titles render. The
conventions built on this look (automargins, hover labels, category colours,
top N plus "Other", one-point series, empty states) are in `standard`.
"""

from __future__ import annotations

import plotly.graph_objects as go

# Streamlit's own face first so figures match the page, then CJK faces for
# product titles, then generic fall-backs.
FONT_FAMILY = (
    '"Source Sans 3", "Source Sans Pro", "Noto Sans CJK SC", "Noto Sans SC", '
    '"PingFang SC", "Microsoft YaHei", "Hiragino Sans GB", "Helvetica Neue", Arial, sans-serif'
)

TEXT = "#31333F"
MUTED = "#6B7280"
GRID = "#ECEEF2"

# One colour per measure, used wherever that measure appears.
COLORS: dict[str, str] = {
    "sessions": "#3B5BDB",
    "users": "#1098AD",
    "orders": "#F08C00",
    "revenue": "#0C8599",
    "conversion_rate": "#7048E8",
    "average_order_value": "#D6336C",
    "category": "#3B5BDB",
    "product": "#0C8599",
}

COLORWAY = ["#3B5BDB", "#F08C00", "#0C8599", "#7048E8", "#D6336C", "#2F9E44", "#868E96"]

# Plotly (d3) formats.
COUNT_FORMAT = ",.0f"
MONEY_FORMAT = ",.2f"
RATIO_FORMAT = ".1%"
DAY_FORMAT = "%a %d %b %Y"

# Streamlit reads the figure's own height, not the template's, so figures set it explicitly too.
DEFAULT_HEIGHT = 300

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": FONT_FAMILY, "size": 13, "color": TEXT},
        colorway=COLORWAY,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        margin={"l": 8, "r": 8, "t": 8, "b": 8, "autoexpand": True},
        height=DEFAULT_HEIGHT,
        hovermode="x unified",
        # Plotly draws hover text in the border colour unless a font colour is given, so a light border
        # alone gives near-white text on white: the font colour is always set.
        hoverlabel={"font": {"family": FONT_FAMILY, "size": 13, "color": TEXT}, "bgcolor": "white",
                    "bordercolor": "#CED4DA", "align": "left"},
        legend={
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": 1.02,
            "yanchor": "bottom",
            "font": {"color": MUTED},
            "bgcolor": "rgba(0,0,0,0)",
        },
        xaxis={
            "showgrid": False,
            "zeroline": False,
            "showline": True,
            "linecolor": GRID,
            "ticks": "",
            "tickfont": {"color": MUTED},
            # A few pixels between the plot and the x labels, so the first one does not touch the y
            # axis's "0" at the corner.
            "ticklabelstandoff": 5,
            "automargin": True,
            "title": {"text": ""},
        },
        yaxis={
            "showgrid": True,
            "gridcolor": GRID,
            "zeroline": False,
            "showline": False,
            "ticks": "",
            "tickfont": {"color": MUTED},
            "automargin": True,
            "rangemode": "tozero",
            "title": {"text": ""},
        },
        bargap=0.25,
    )
)


def money_format(currency_symbol: str = "") -> tuple[str, str]:
    """Return (prefix, d3 format) for money in hover labels and ticks."""
    return currency_symbol, MONEY_FORMAT


def empty_figure(message: str) -> go.Figure:
    """A blank figure that says why it is blank (see `standard.empty_figure`)."""
    from analytics.charts.standard import empty_figure as standard_empty_figure

    return standard_empty_figure(message)
