"""The chart standard: the conventions every ShopLens figure follows (docs/charts.md explains each).

- Labels are never clipped: `finish` turns on automargin for every axis and makes room above the
  plot for legends and annotations drawn there; no figure fixes a margin that could cut text.
- Text outside bars: `outside_text_range` widens a value axis so outside labels fit inside it.
- Hover labels are dark text on a white box, set explicitly (`HOVER_LABEL`), never inherited.
- Categorical colours stay put: `category_colors` maps a value to the same colour in every chart
  (an explicit map for known values such as devices, channels and RFM segments, else a hash of the
  label into `PALETTE`).
- Top N plus "Other": `fold_top_n` folds a frame to its `MAX_CATEGORIES` largest values and one
  "Other" row; figures and CSV downloads call the same function, so the CSV holds the plotted numbers.
- One-point series: `line_mode` draws markers whenever a series is short, and `time_axis` gives a
  single date or hour a sane range and one readable tick.
- Empty states: `empty_figure` is a centred sentence, never empty axes.
- Number formats: `percent_format` picks the decimals a percent axis needs; money takes the
  currency symbol from the caller (`money_prefix`).

Pure functions of plain values; nothing here imports Streamlit.
"""

from __future__ import annotations

import hashlib
import html
import math
import textwrap
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts.theme import DEFAULT_HEIGHT, FONT_FAMILY, MUTED, TEMPLATE, TEXT

# --------------------------------------------------------------------------- colours

# Twelve distinct, mid-to-dark colours: each has at least 3:1 contrast with white, so a bar, line or
# marker in any of them is visible on the page, and none is near-white.
PALETTE: tuple[str, ...] = (
    "#3B5BDB",  # blue
    "#DD6B00",  # orange
    "#0C8599",  # teal
    "#C92A2A",  # red
    "#7048E8",  # violet
    "#2F9E44",  # green
    "#D6336C",  # pink
    "#8B5E3C",  # brown
    "#5C940D",  # olive
    "#1B2A6B",  # navy
    "#AE3EC9",  # grape
    "#495057",  # slate
)
OTHER_LABEL = "Other"
OTHER_COLOR = "#868E96"
UNKNOWN_COLOR = "#ADB5BD"

# Values seen on many pages get a fixed colour, so "mobile" is orange on every chart.
KNOWN_COLORS: dict[str, str] = {
    # devices
    "desktop": "#3B5BDB", "mobile": "#DD6B00", "tablet": "#0C8599", "app": "#7048E8",
    # channels
    "organic_search": "#2F9E44", "paid_search": "#5C940D", "email": "#D6336C", "social": "#AE3EC9",
    "direct": "#495057", "referral": "#1B2A6B", "affiliate": "#8B5E3C", "display": "#C92A2A",
    # new against returning
    "new": "#0C8599", "returning": "#7048E8",
    # RFM segments, from best (green) to lost (grey)
    "champions": "#2F9E44", "loyal": "#5C940D", "potential loyalist": "#74B816", "new customers": "#1098AD",
    "promising": "#15AABF", "need attention": "#F59F00", "about to sleep": "#F08C00", "at risk": "#E8590C",
    "can't lose them": "#C92A2A", "hibernating": "#868E96", "lost": "#495057",
    "new customer": "#1098AD", "no purchase": "#ADB5BD",
    # placeholders
    "other": OTHER_COLOR, "unknown": UNKNOWN_COLOR, "all": "#3B5BDB",
}


def _known_key(value: object) -> str:
    return str(value).strip().lower()


def category_color(value: object) -> str:
    """The colour of one category value: its fixed colour when known, else a stable hash of its label.

    The hash is MD5 of the label (Python's `hash` changes between runs), so a value has the same
    colour in every chart, on every page and in every session.
    """
    key = _known_key(value)
    if key in KNOWN_COLORS:
        return KNOWN_COLORS[key]
    return PALETTE[_slot(value)]


def category_colors(values: Iterable[object]) -> dict[str, str]:
    """Colours for the values of one chart: known values their fixed colour, the rest by hash.

    Two values of one chart that hash to the same palette slot would be indistinguishable, so the
    later one (in sorted order) moves to the next slot not yet used in this chart, while any is free.

    Returns:
        label (str(value)) -> colour, for every distinct value.
    """
    labels = list(dict.fromkeys(str(value) for value in values))
    colours: dict[str, str] = {}
    used: set[str] = set()
    for label in labels:
        key = _known_key(label)
        if key in KNOWN_COLORS:
            colours[label] = KNOWN_COLORS[key]
            used.add(KNOWN_COLORS[key])
    for label in sorted(label for label in labels if label not in colours):
        slot = _slot(label)
        for step in range(len(PALETTE)):
            candidate = PALETTE[(slot + step) % len(PALETTE)]
            if candidate not in used:
                break
        else:
            candidate = PALETTE[slot]
        colours[label] = candidate
        used.add(candidate)
    return {label: colours[label] for label in labels}


def _slot(value: object) -> int:
    digest = hashlib.md5(str(value).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % len(PALETTE)


def translucent(colour: str, alpha: float, min_contrast: float = 1.4) -> str:
    """`colour` as rgba with `alpha`, made more opaque when needed to stay visible on white.

    Sankey links and bands are drawn translucent; a pale node colour at a low alpha would be
    near-white on the white page (as Plotly's own default links are on a transparent paper).
    """
    red, green, blue = _rgb_over_white(colour)
    for step in range(21):
        level = min(1.0, alpha + step * 0.05)
        candidate = f"rgba({red:.0f},{green:.0f},{blue:.0f},{level:.2f})"
        if contrast_ratio(candidate, "#FFFFFF") >= min_contrast or level >= 1.0:
            return candidate
    return candidate


def is_near_white(colour: str, min_contrast: float = 1.25) -> bool:
    """True when `colour` (alpha over white) is barely distinguishable from the white page."""
    return contrast_ratio(colour, "#FFFFFF") < min_contrast


def relative_luminance(colour: str) -> float:
    """WCAG relative luminance of "#RRGGBB", "#RGB", "rgb(r,g,b)" or "rgba(r,g,b,a)" (alpha over white), 0..1."""
    red, green, blue = _rgb_over_white(colour)

    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours, 1 (same) .. 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _rgb_over_white(colour: str) -> tuple[float, float, float]:
    text = str(colour).strip().lower()
    named = {"white": "#ffffff", "black": "#000000"}
    text = named.get(text, text)
    if text.startswith("#"):
        digits = text[1:]
        if len(digits) == 3:
            digits = "".join(character * 2 for character in digits)
        return tuple(float(int(digits[index:index + 2], 16)) for index in (0, 2, 4))  # type: ignore[return-value]
    if text.startswith("rgb"):
        parts = [float(part) for part in text[text.index("(") + 1:text.rindex(")")].split(",")]
        alpha = parts[3] if len(parts) == 4 else 1.0
        return tuple(alpha * part + (1 - alpha) * 255 for part in parts[:3])  # type: ignore[return-value]
    raise ValueError(f"cannot read the colour {colour!r}; write it as #RRGGBB or rgb(r, g, b)")


# --------------------------------------------------------------------------- hover labels

HOVER_LABEL: dict = {
    "bgcolor": "white",
    "bordercolor": "#CED4DA",
    "font": {"family": FONT_FAMILY, "size": 13, "color": TEXT},
    "align": "left",
}

# --------------------------------------------------------------------------- top N plus "Other"

MAX_CATEGORIES = 12


def fold_top_n(frame: pd.DataFrame, label_column: str, rank_column: str, *, keep: int = MAX_CATEGORIES,
               sum_columns: Sequence[str] = (), ratio_columns: Mapping[str, tuple[str, str]] | None = None,
               by: Sequence[str] = (), other_label: str = OTHER_LABEL) -> pd.DataFrame:
    """Keep the `keep` largest labels and fold every other one into a single `other_label` row.

    Figures and the CSV behind them both call this, so the CSV holds exactly the plotted numbers.
    Nothing is folded when at most `keep + 1` labels are present (one folded label would just be
    renamed), so a result has at most `keep + 1` labels and folding it again changes nothing.

    Args:
        frame: one row per label (and per `by` key, e.g. per funnel step).
        label_column: the category column.
        rank_column: labels are ranked by this column summed over their rows, largest first
            (ties by label).
        keep: labels kept as they are, >= 1.
        sum_columns: columns added up for "Other" (counts, revenue). `rank_column` is summed too.
        ratio_columns: column -> (numerator, denominator): recomputed for "Other" from its summed
            numerator and denominator (NaN when the denominator is 0); computed for every row when
            the frame lacks the column.
        by: key columns "Other" keeps apart (one "Other" row per key).
        other_label: the folded row's label.

    Returns:
        The kept rows in their original order, then the "Other" rows; columns that are neither
        keys, summed nor ratios are empty (NaN) on "Other" rows. attrs["folded_labels"] holds how
        many labels were folded (0 when none).
    """
    if keep < 1:
        raise ValueError(f"keep = {keep} must be at least 1")
    ratio_columns = dict(ratio_columns or {})
    frame = frame.copy()
    for column, (numerator, denominator) in ratio_columns.items():
        if column not in frame:
            base = frame[denominator].astype(float)
            frame[column] = frame[numerator].astype(float) / base.where(base != 0)
    labels = frame[label_column].astype(str)
    totals = frame.assign(_label=labels).groupby("_label", sort=False)[rank_column].sum()
    if len(totals) <= keep + 1:
        result = frame.copy()
        result.attrs["folded_labels"] = 0
        return result
    ranking = pd.DataFrame({"label": totals.index, "total": totals.to_numpy(dtype=float)})
    ranking = ranking.sort_values(["total", "label"], ascending=[False, True], kind="stable")
    kept = set(ranking["label"].iloc[:keep])
    is_kept = labels.isin(kept)
    summed = list(dict.fromkeys([rank_column, *sum_columns,
                                 *(column for pair in ratio_columns.values() for column in pair)]))
    rest = frame[~is_kept]
    if by:
        other = rest.groupby(list(by), sort=False, dropna=False)[summed].sum().reset_index()
    else:
        other = pd.DataFrame([rest[summed].sum()])
    other[label_column] = other_label
    for column, (numerator, denominator) in ratio_columns.items():
        base = other[denominator].astype(float)
        other[column] = other[numerator].astype(float) / base.where(base != 0)
    result = pd.concat([frame[is_kept], other.reindex(columns=frame.columns)], ignore_index=True)
    for column in summed:
        if pd.api.types.is_integer_dtype(frame[column].dtype):
            result[column] = result[column].astype(frame[column].dtype)
    result.attrs["folded_labels"] = len(totals) - keep
    return result


# --------------------------------------------------------------------------- labels


def plain_text(value: object) -> str:
    """User data as literal text in a figure: "<", ">" and "&" escaped.

    Plotly reads labels, legend names and hover values as a small HTML dialect, so a product called
    `<a href="…">` would become a live link and `<b>` would turn bold. Escaped, it shows as typed.
    """
    return html.escape(_text(value), quote=False)


def display_width(text: str) -> int:
    """Columns a text takes on screen: CJK (wide) characters count two."""
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


def shorten(text: str, width: int) -> str:
    """Cut `text` to at most `width` display columns (CJK characters count two), adding "…" when cut."""
    if display_width(text) <= width:
        return text
    kept, used = [], 0
    for character in text:
        size = display_width(character)
        if used + size > width - 1:
            break
        kept.append(character)
        used += size
    return "".join(kept).rstrip() + "…"


def value_text(value: object) -> str:
    """A data value for a hover or label: numbers to 4 significant digits ("-0.6321", "12", "1.235e+06"),
    everything else as plain text."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return "—" if math.isnan(value) else f"{float(value):.4g}"
    return plain_text(value)


def labels_by_id(titles: Sequence[object], ids: Sequence[object], width: int = 40) -> list[str]:
    """Axis labels for items keyed by id: the shortened title, with " (id)" where labels would repeat.

    A missing title falls back to the id. Plotly merges equal category labels into one bar, so
    every returned label is unique as long as the ids are. Labels are `plain_text`.
    """
    texts = [_text(title) or _text(item) for title, item in zip(titles, ids)]
    short = [shorten(text, width) for text in texts]
    counts: dict[str, int] = {}
    for label in short:
        counts[label] = counts.get(label, 0) + 1
    labels = []
    for label, item in zip(short, ids):
        if counts[label] > 1:
            suffix = f" ({_text(item)})"
            label = shorten(label, max(8, width - display_width(suffix))) + suffix
        labels.append(plain_text(label))
    return labels


def _text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


# --------------------------------------------------------------------------- number formats


def percent_format(values: Iterable[float] | float) -> str:
    """A d3 percent format with the decimals the largest |value| needs, trailing zeros trimmed.

    0.45 -> ".0~%" (45%); 0.032 -> ".1~%" (3.2%); 0.004 -> ".2~%" (0.4%, 0.25%); so small rates
    never read "0% 0% 0%" on the ticks.
    """
    array = np.abs(np.asarray(list(values) if not isinstance(values, (int, float)) else [values], dtype=float))
    largest = float(np.nanmax(array)) if array.size and not np.isnan(array).all() else 0.0
    if largest <= 0:
        return ".0~%"
    decimals = min(4, max(0, math.ceil(-math.log10(largest * 100)) + 1))
    return f".{decimals}~%"


def money_prefix(currency_symbol: str = "") -> str:
    """The text put before money amounts: the caller's currency symbol, or nothing."""
    return currency_symbol or ""


def amount_format(largest: float) -> str:
    """SI suffixes (12k) for large amounts; plain numbers below 1,000 so 0.5 is not shown as 500m."""
    return "~s" if largest is not None and not pd.isna(largest) and largest >= 1_000 else ",~g"


def count_axis(largest: float) -> dict:
    """Axis settings for whole counts: no "1.5 people" ticks when the counts are small."""
    if largest is None or pd.isna(largest) or largest > 6:
        return {"tickformat": ",~s" if largest and largest >= 10_000 else ",d"}
    return {"tickformat": ",d", "dtick": 1, "rangemode": "tozero"}


# --------------------------------------------------------------------------- series and time axes

MARKER_POINTS = 45
PERIOD_LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1),
                 "month": timedelta(days=30)}
TICK_FORMATS = {"hour": "%H:%M\n%-d %b", "day": "%-d %b", "week": "%-d %b", "month": "%b %Y"}
HOVER_FORMATS = {"hour": "%a %-d %b %Y %H:%M", "day": "%a %-d %b %Y", "week": "week of %-d %b %Y",
                 "month": "%B %Y"}


def line_mode(points: int) -> str:
    """"lines+markers" for short series (a single point is then a visible dot), "lines" for long ones."""
    return "lines+markers" if points <= MARKER_POINTS else "lines"


def infer_period(values: Sequence[object]) -> str:
    """"hour", "day", "week" or "month" from the spacing of sorted time values.

    One value: "hour" when it has a time of day, else "day".
    """
    stamps = pd.to_datetime(pd.Series(list(values))).dropna().drop_duplicates().sort_values()
    if stamps.empty:
        return "day"
    if len(stamps) == 1:
        stamp = stamps.iloc[0]
        return "hour" if stamp != stamp.normalize() else "day"
    step = stamps.diff().dropna().min()
    if step < pd.Timedelta(days=1):
        return "hour"
    if step < pd.Timedelta(days=7):
        return "day"
    if step < pd.Timedelta(days=28):
        return "week"
    return "month"


def time_axis(values: Sequence[object], period: str | None = None) -> dict:
    """A date axis for values spaced by `period`: readable ticks, and a sane range for one value.

    Plotly gives a single date a range of a few milliseconds (ticks like "23:59:59.999"), so one
    value gets a range of one period around it and a single tick at the value; up to 14 days get one
    tick a day, hours read "14:00"; longer spans keep Plotly's own date ticks.

    Args:
        values: the x values (dates or timestamps).
        period: "hour", "day", "week" or "month"; inferred from the spacing when None.

    Returns:
        Axis settings for `update_layout(xaxis=...)`.
    """
    period = period or infer_period(values)
    stamps = pd.to_datetime(pd.Series(list(values))).dropna().drop_duplicates().sort_values()
    axis: dict = {"type": "date", "hoverformat": HOVER_FORMATS.get(period, "%a %-d %b %Y")}
    length = PERIOD_LENGTH.get(period, timedelta(days=1))
    if len(stamps) == 1:
        only = stamps.iloc[0]
        label = only.strftime(HOVER_FORMATS.get(period, "%-d %b %Y").replace("%a ", ""))
        axis |= {"range": [_iso(only - length / 2), _iso(only + length / 2)], "tickmode": "array",
                 "tickvals": [_iso(only)], "ticktext": [label]}
    elif period == "day" and len(stamps) <= 14:
        # One tick per day, so no hours appear between them.
        axis |= {"dtick": 24 * 60 * 60 * 1000, "tickformat": TICK_FORMATS["day"]}
    elif period == "hour" and len(stamps) <= 48:
        axis |= {"dtick": (3 if len(stamps) > 12 else 1) * 60 * 60 * 1000, "tickformat": TICK_FORMATS["hour"]}
    elif period == "hour":
        axis |= {"tickformat": TICK_FORMATS["hour"]}
    # Otherwise Plotly's own date ticks read well ("Feb 2 / 2025", "Feb 9", …).
    return axis


def value_range(values: Iterable[float], *, floor_at_zero: bool = True, headroom: float = 0.12,
                minimum_span: float = 1.0) -> list[float]:
    """A y range that shows every value, from 0 when asked, with headroom; never a zero-width range.

    Args:
        values: the plotted numbers (NaN ignored).
        floor_at_zero: start at 0 when every value is >= 0.
        headroom: share of the span added above (and below when not floored).
        minimum_span: the span used when all values are equal (e.g. one point at 0).
    """
    array = np.asarray(list(values), dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return [0.0, minimum_span]
    low, high = float(array.min()), float(array.max())
    if floor_at_zero and low >= 0:
        low = 0.0
    span = high - low
    if span <= 0:
        # Every value equal (a single point): from 0 to twice the value, or a minimum span around 0.
        if high == 0:
            return [0.0, minimum_span] if floor_at_zero else [-minimum_span, minimum_span]
        return sorted([0.0, 2 * high])
    return [low - (0 if floor_at_zero and low >= 0 else span * headroom), high + span * headroom]


def _iso(stamp: pd.Timestamp) -> str:
    return pd.Timestamp(stamp).isoformat()


# --------------------------------------------------------------------------- bars with text outside

OUTSIDE_TEXT_SHARE = 0.22


def outside_text_range(values: Iterable[float], share: float = OUTSIDE_TEXT_SHARE,
                       floor_at_zero: bool = True) -> list[float]:
    """A value-axis range with room for "outside" bar labels at both ends.

    Outside text sits past the end of each bar; without room it runs into the margin (clipped) or
    into the category labels (negative bars). `share` of the span is added on each side that has
    bars pointing to it.
    """
    array = np.asarray(list(values), dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return [0.0, 1.0]
    low = min(0.0, float(array.min())) if floor_at_zero else float(array.min())
    high = max(0.0, float(array.max()))
    span = (high - low) or max(abs(high), abs(low), 1.0)
    padded_low = low - span * share if low < 0 else low
    padded_high = high + span * share if high > 0 or low >= 0 else high
    return [padded_low, padded_high]


# --------------------------------------------------------------------------- empty states


EMPTY_LINE_WIDTH = 56


def empty_figure(message: str, height: int = DEFAULT_HEIGHT) -> go.Figure:
    """A figure that says in one centred sentence why there is nothing to draw (no empty axes).

    The sentence is wrapped at about 56 characters, so it fits a chart a third of a page wide;
    Plotly does not wrap annotation text by itself.
    """
    message = "<br>".join(textwrap.wrap(plain_text(message), EMPTY_LINE_WIDTH)) or plain_text(message)
    figure = go.Figure()
    figure.update_layout(
        template=TEMPLATE,
        height=height,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{
            "text": message, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
            "xanchor": "center", "yanchor": "middle", "font": {"color": MUTED, "size": 14},
        }],
        hoverlabel=HOVER_LABEL,
    )
    return figure


# --------------------------------------------------------------------------- finishing every figure

TOP_ROOM = 34  # px above the plot for one line of annotation or legend text
TITLE_ROOM = 28  # px per subplot title line


def finish(figure: go.Figure) -> go.Figure:
    """Apply the standard to a built figure (in place) and return it.

    - the theme template, and the figure's height when it has none;
    - automargin on every axis, so tick labels and titles push the margins instead of being cut;
    - the explicit hover label (dark on white), on the layout and on Sankey nodes and links;
    - `cliponaxis=False` on traces with outside text, so labels at the end of the range show;
    - room above the plot for annotations drawn there (subplot titles, line labels) and for a
      legend on top, which Plotly does not reserve by itself.
    """
    layout = figure.layout
    figure.update_layout(template=TEMPLATE, hoverlabel=HOVER_LABEL)
    if layout.height is None:
        figure.update_layout(height=DEFAULT_HEIGHT)
    for name in _axis_names(figure):
        axis = layout[name]
        if axis.visible is False:
            continue
        axis.automargin = True
    for trace in figure.data:
        if trace.type == "sankey":
            trace.node.hoverlabel = HOVER_LABEL
            trace.link.hoverlabel = HOVER_LABEL
        position = getattr(trace, "textposition", None)
        positions = position if isinstance(position, (list, tuple)) else [position]
        if any(value in ("outside", "auto") for value in positions) and hasattr(trace, "cliponaxis"):
            trace.cliponaxis = False
    top = _room_above(figure)
    margin = layout.margin
    if top and (margin.t is None or margin.t < top):
        figure.update_layout(margin={"t": top})
    figure.update_layout(margin={"autoexpand": True})
    return figure


def _axis_names(figure: go.Figure) -> list[str]:
    names = [name for name in figure.layout._props if name.startswith(("xaxis", "yaxis"))]  # noqa: SLF001
    for required in ("xaxis", "yaxis"):
        if required not in names:
            names.append(required)
    return names


def _room_above(figure: go.Figure) -> int:
    """Pixels needed above the plot area for annotations anchored there and for a top legend."""
    lines = 0
    for annotation in figure.layout.annotations or ():
        if annotation.yref == "paper" and annotation.y is not None and annotation.y >= 0.999:
            anchor = annotation.yanchor or "auto"
            if anchor in ("bottom", "auto", "middle"):
                lines = max(lines, 1 + str(annotation.text or "").count("<br>"))
    room = TOP_ROOM + (lines - 1) * 18 if lines else 0
    legend_on_top = (figure.layout.showlegend is not False and _legend_entries(figure) > 1
                     and (figure.layout.legend.orientation or TEMPLATE.layout.legend.orientation) == "h")
    if legend_on_top:
        room = max(room, TOP_ROOM) + (TOP_ROOM - 8 if lines else 0)
    return room


def _legend_entries(figure: go.Figure) -> int:
    shown = 0
    for trace in figure.data:
        if getattr(trace, "showlegend", None) is False:
            continue
        if trace.type in ("heatmap", "sankey", "waterfall", "funnel"):
            continue
        shown += 1
    return shown


def as_date(value: object) -> date:
    """A date from a date, datetime or Timestamp."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()
