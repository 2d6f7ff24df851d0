"""The app's pages and the sections they appear in.

Adding a page is one line in `PAGES`. `app.py` builds the navigation from
`available_pages`, and the browser test opens every page it returns, so a new
page is listed and tested as soon as its analysis is supported by the data.
This module imports nothing from Streamlit so tests can read it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analytics.warehouse import WarehouseInfo

SECTIONS: tuple[str, ...] = ("Management", "Merchandising", "Data science")


@dataclass(frozen=True)
class PageSpec:
    """One page of the app.

    Attributes:
        section: one of `SECTIONS`.
        script: the page's file, relative to the folder of app.py.
        title: the name in the navigation.
        icon: a Material Symbols icon, ":material/name:".
        analysis: the capability it needs (`analytics.capabilities.ANALYSES`), or several separated by "|"
            when any one of them is enough.
        help: one or two sentences shown as the navigation tooltip.
        has_charts: whether the page draws charts (the browser test waits for them).
        permission: what a signed-in person needs to see the page listed (`analytics.access.Permission`).
        views: further URL queries the browser test opens too, e.g. "customers_tab=Segments" for a page
            whose tabs only compute when open.
        start_button: the label of the button that starts the page's on-demand work (a forecast run
            other than the default, queued for the model worker); the browser test clicks it and waits
            for the charts it brings.
        start_query: the URL query the browser test opens the page with before pressing
            `start_button`, e.g. to pick the faster of two model sets.
    """

    section: str
    script: str
    title: str
    icon: str
    analysis: str
    help: str
    has_charts: bool = True
    permission: str = "view_aggregates"
    views: tuple[str, ...] = ()
    start_button: str | None = None
    start_query: str = ""

    def is_supported(self, info: WarehouseInfo) -> bool:
        """Whether the warehouse's data feeds this page (any of its analyses is supported)."""
        return any(info.supports(analysis) for analysis in self.analysis.split("|"))

    @property
    def url_path(self) -> str:
        """The page's URL path (the first listed page is also served at the app's root)."""
        return Path(self.script).stem


PAGES: tuple[PageSpec, ...] = (
    PageSpec("Management", "pages/overview.py", "Overview", ":material/monitoring:", "overview",
             "Sessions, orders, revenue and conversion against the previous period, with daily trends "
             "and the best-selling categories and products."),
    PageSpec("Merchandising", "pages/funnels.py", "Funnels", ":material/filter_alt:", "funnels",
             "Where shoppers drop out between steps such as view, cart and purchase, by segment and over time."),
    PageSpec("Merchandising", "pages/cart_dropoff.py", "Cart drop-off", ":material/remove_shopping_cart:",
             "cart_dropoff", "How long carts wait to be bought, which are abandoned and recovered, and why."),
    PageSpec("Management", "pages/customers.py", "Customers", ":material/group:", "customers",
             "Who the best customers are, who is slipping away and what each is worth: retention cohorts, "
             "RFM segments, lifetime value and purchase and churn probability.",
             views=("customers_tab=Segments", "customers_tab=Value", "customers_tab=Predictions")),
    PageSpec("Management", "pages/forecasts.py", "Forecasts", ":material/trending_up:", "forecasts",
             "Backtested sales forecasts by category, product or channel, their drivers, and what they "
             "mean for stock.", start_button="Run forecast", start_query="forecast_arena=Fast+models"),
    PageSpec("Merchandising", "pages/recommendations.py", "Recommendations", ":material/recommend:",
             "recommendations", "What to show each shopper and which products sell together, with a reason "
             "for every item and a leaderboard of models."),
    PageSpec("Data science", "pages/explanations.py", "Explanations", ":material/psychology:",
             "cart_dropoff|customers|recommendations|forecasts",
             "Every model's card, SHAP summary and dependence plots, single-row explanations and a fairness check."),
    PageSpec("Data science", "pages/data.py", "Data", ":material/upload_file:", "data",
             "Import your own exports: preview, column mapping and a validation report before committing; "
             "import history and rejected rows.", has_charts=False, permission="import_data"),
)


def available_pages(info: WarehouseInfo) -> dict[str, list[PageSpec]]:
    """Return section -> the pages whose analysis the warehouse supports, in `SECTIONS` order.

    Sections without a supported page are left out.
    """
    sections = {section: [page for page in PAGES if page.section == section and page.is_supported(info)]
                for section in SECTIONS}
    return {section: pages for section, pages in sections.items() if pages}


def unavailable_pages(info: WarehouseInfo) -> list[tuple[PageSpec, str]]:
    """Return the pages the warehouse's data cannot feed, each with the reason from its capability.

    The app lists these apart, so a user who imported orders only learns why there is no Funnels page.
    """
    missing = []
    for page in PAGES:
        if not page.is_supported(info):
            analysis = page.analysis.split("|")[0]
            capability = info.capabilities.get(analysis)
            missing.append((page, capability.reason if capability else "this warehouse predates it; rebuild it"))
    return missing
