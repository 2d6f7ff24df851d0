"""ShopLens: the Streamlit entry point. Run with `streamlit run app.py` (or `make run`).

Lists only the pages whose analysis the warehouse supports (see `dashboard.navigation.PAGES`);
when the warehouse is missing, outdated or unreadable it shows one page that
says how to fix it.
"""

import streamlit as st

from dashboard.navigation import available_pages, unavailable_pages
from dashboard import access, common

_MARK = (
    '<rect width="32" height="32" rx="8" fill="#3B5BDB"/>'
    '<circle cx="14" cy="14" r="7" fill="none" stroke="#fff" stroke-width="3"/>'
    '<path d="M19 19 L25 25" stroke="#fff" stroke-width="3.2" stroke-linecap="round"/>'
)
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="32" viewBox="0 0 160 32">'
    f"{_MARK}"
    # textLength fits the word to the box whatever font the browser finds, so it is never cut.
    '<text x="41" y="23" textLength="104" lengthAdjust="spacingAndGlyphs" '
    'font-family="Source Sans Pro, Noto Sans, Helvetica, Arial, sans-serif" '
    'font-size="21" font-weight="700" fill="#1F2430">ShopLens</text></svg>'
)
ICON = f'<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">{_MARK}</svg>'

# The icon is our own SVG: a Material icon name would make every browser fetch it from a font CDN.
st.set_page_config(page_title="ShopLens", page_icon=ICON, layout="wide")
st.logo(LOGO, icon_image=ICON, size="large")
# Sign-in (when configured) before anything else is shown; docs/security.md.
access.gate()

warehouse = common.open_warehouse()


def setup() -> None:
    common.warehouse_problem(warehouse.info)


def no_pages() -> None:
    common.no_supported_analyses(warehouse.info)


if not warehouse.ready:
    page = st.navigation([st.Page(setup, title="Set up", icon=":material/database:")])
elif sections := access.visible_pages(available_pages(warehouse.info)):
    listed = {
        section: [
            st.Page(spec.script, title=spec.title, icon=spec.icon, url_path=spec.url_path, help=spec.help)
            for spec in specs
        ]
        for section, specs in sections.items()
    }
    first = next(iter(listed.values()))[0]

    def home() -> None:
        # The root URL opens the first page at its own URL, keeping the query (shared filters), so every
        # page, the first included, has one address: /overview?from=... works like any other page.
        st.switch_page(first, query_params={key: st.query_params.get_all(key) for key in st.query_params})

    # A hidden page holds the root: Streamlit serves its default page at "/" only, so a visible
    # default page could not be opened from its own URL ("page not found" at /overview).
    page = st.navigation({"": [st.Page(home, title="ShopLens", default=True, visibility="hidden")], **listed})
else:
    page = st.navigation([st.Page(no_pages, title="Set up", icon=":material/database:")])

if warehouse.ready and (missing := unavailable_pages(warehouse.info)):
    common.unavailable_pages_note(missing)

page.run()
