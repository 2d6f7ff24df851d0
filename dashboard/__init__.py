"""The dashboard's shared Streamlit pieces; the page scripts themselves live in `pages/`.

Streamlit treats every file in `pages/` as a page, so only real pages live there; what they share
(the warehouse connection and caches, the sidebar filters, the explanation panel, per-page state)
lives here. `navigation.PAGES` lists the pages and is read by app.py and the tests.
"""
