"""A test page that draws only the Customers page's Predictions tab, for AppTest."""

import streamlit as st

from analytics.overview import filter_options
from dashboard import common, customer_predictions

warehouse = common.open_warehouse()
options = common.cached(filter_options)
filters = common.sidebar_filters(options)
if filters is None:
    st.stop()
customer_predictions.render(filters)
