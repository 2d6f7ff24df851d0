"""Recommendations: each shopper's top-K with reasons, what goes with a product, and the model leaderboard."""

import pandas as pd
import streamlit as st

from analytics.charts import recommendations as chart_functions
from analytics.errors import ShopLensError
from analytics.overview import filter_options
from analytics.recommend.champion import HYBRID
from analytics.recommend.hybrid import FEATURE_LABELS, Recommendation
from analytics.recommend.service import (
    recommend_for_user,
    related_items,
    user_features_table,
)
from dashboard import access, common, explanation_panel, model_status, pickers

# Figures are built once per process and inputs (dashboard.common.CachedFigures); tables pass through.
charts = common.CachedFigures(chart_functions)
K_CHOICES = (5, 10, 20)
# "Times together" counts orders for bought together and sessions for also viewed; each chart names its own.
MEASURES = {"Lift": "lift", "Confidence": "confidence", "Times together": "together"}
LEADERBOARD_METRICS = {"NDCG@10": "ndcg@10", "Precision@10": "precision@10", "Recall@10": "recall@10",
                       "MAP@10": "map@10", "Hit rate@10": "hit_rate@10"}


def related_download(related: pd.DataFrame, measure: str, together_name: str = "together") -> pd.DataFrame:
    """The rows a related-items chart draws, in its order, with `together` named for what it counts."""
    rows = charts.related_table(related, measure).drop(columns="label")
    return rows.rename(columns={"together": together_name})


def measure_label_for(measure: str, counted: str) -> str:
    """The ranking measure in words for one card: "together" counts orders or sessions."""
    return f"{counted.lower()} together" if measure == "together" else measure


warehouse = common.open_warehouse()
options = common.cached(filter_options)
filters = common.sidebar_filters(options)
common.page_header("Recommendations", warehouse.info, filters, period=False)

if filters is None:
    common.empty_state("The warehouse has no dated events yet; rebuild it from data with views, carts or purchases.")
    st.stop()

# Trained in the background once per data build and shared by everyone; the page only loads them.
models = model_status.artifact("recommenders", what="the recommenders", key="recommend_models",
                               failed_title="Not enough data to recommend")
if models is None:
    st.markdown(
        "Recommendations come from six models — popularity, co-occurrence, ALS, EASE, text similarity and a "
        "LightGBM ranker that combines them and gives every item a reason. They learn from every view, cart "
        "and purchase, once per data build, and are then shared by everyone."
    )
    st.stop()

st.caption(common.plain(
    f"Learned from interactions up to {common.format_day(models.data_end)} "
    f"({models.hybrid.interactions_.matrix.nnz:,} user–product pairs) in {models.fit_seconds:.0f} s."
    + (f" Items limited to {', '.join(filters.categories)} (sidebar)." if filters.categories else "")
))
# Which model serves, and why: chosen on shoppers held aside while training (analytics.recommend.champion).
st.markdown(f":material/verified: **Serving model: {common.plain(models.champion)}.** "
            f"{common.plain(models.champion_note)}")

for_user, for_product, leaderboard_tab = st.tabs(["For a shopper", "For a product", "Model leaderboard"])


def show_for_user() -> None:
    """One shopper's top-K with reasons, the explanation of one item and their history (analysts and admins)."""
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        user_id = pickers.shopper_picker("Shopper", "recommend_user",
                                         help="Any shopper; those with most sessions are listed first.")
        k = st.segmented_control("Items", K_CHOICES, default=10, key="recommend_k", bind="query-params", required=True)
    k = int(k or 10)
    if user_id is None:
        common.empty_state("No shopper matches; type part of another id.")
        return
    about = models.users["interactions"].get(user_id, 0)
    segment = models.users["segment"].get(user_id, "unknown")
    st.caption(common.plain(f"Segment {segment}; engaged with {int(about):,} products."
                            + (" New to the models: recommendations fall back to what is popular in the "
                               "segment." if not about else "")))
    try:
        recommendation = recommend_for_user(models, user_id, k, filters.categories)
    except ShopLensError as error:
        common.empty_state(str(error), title="No recommendations for this shopper")
        return
    if recommendation.items.empty:
        common.empty_state(
            "Nothing left to recommend in the chosen categories — clear the category filter."
            if filters.categories else
            "This shopper has already engaged with every product the models propose; pick another shopper.",
            title="No recommendations")
        return
    items = recommendation.items
    shown = items[["rank", "product_id", "title", "category", "brand", "reason", "score"]]
    with st.container(border=True):
        with st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="top"):
            with st.container(gap=None):
                st.markdown(f"**Top {len(items)} for {common.plain(user_id)}, with reasons**")
                if len(items) < k:
                    # Fewer than asked for: say why rather than leave a "Top 5" under a choice of 10.
                    st.caption(
                        f"{len(items)} of the {k} asked for: the models propose no more products this "
                        "shopper has not already viewed, carted or bought"
                        + (" in the chosen categories." if filters.categories else "."))
                st.caption(common.plain(
                    f"Served by {recommendation.model}. " + (
                        "Reasons come from the ranker's SHAP values: the item-side signals that raised the item "
                        "most." if recommendation.model == HYBRID else
                        "Reasons name the signals behind each item: the shopper's past items it goes with, and "
                        "its popularity, category and brand.")))
            st.download_button("CSV", data=common.to_csv(shown), file_name=f"recommendations-{user_id}.csv",
                               mime="text/csv", key="recommend_download_recommendations", type="tertiary",
                               icon=":material/download:", on_click="ignore",
                               help="Download these recommendations with their reasons as CSV")
        # Reasons and titles are data: a text column shows them as typed, never as Markdown.
        st.dataframe(shown, hide_index=True, column_config={
            "score": st.column_config.NumberColumn("Score", format="%.3f"),
            "reason": st.column_config.TextColumn("Reason", width="large"),
        })
    waterfall, history = st.columns([3, 2])
    with waterfall:
        if recommendation.model == HYBRID:
            show_waterfall(recommendation, user_id)
        else:
            st.caption(common.plain(
                f"{recommendation.model} serves, so there is no ranker score to break down item by item; the "
                "leaderboard tab compares it with the hybrid."))
    with history:
        st.markdown("**What the shopper engaged with most**")
        st.caption("Weight: view 1, favourite 2, cart 3, purchase 5, summed per product.")
        st.dataframe(recommendation.history, hide_index=True)


def show_waterfall(recommendation: Recommendation, user_id: str) -> None:
    """A choice of recommended item and its SHAP waterfall (when the hybrid serves)."""
    items = recommendation.items
    # Options are this shopper's products, so choosing another shopper starts from their first item.
    names = dict(zip(items["product_id"], (f"{rank}. {title}" for rank, title in
                                           zip(items["rank"], items["title"].fillna(items["product_id"])))))
    product = st.selectbox("Explain item", list(names), format_func=names.get,
                           key=f"recommend_explain_item_{user_id}") or items["product_id"].iloc[0]
    rank = int(items.loc[items["product_id"] == product, "rank"].iloc[0])
    contributions = user_features_table(recommendation, FEATURE_LABELS)
    chosen = contributions[contributions["rank"] == rank]
    series = pd.Series(chosen["shap"].to_numpy(), index=chosen["label"].to_numpy())
    common.chart_card(
        f"Why {names[product].split('. ', 1)[1]} ranks {rank}",
        charts.shap_waterfall_figure(series, recommendation.base_value),
        # Exactly the steps drawn: the largest contributions, the rest summed, the final score.
        charts.waterfall_table(series, recommendation.base_value),
        file_name=f"recommendation-shap-{user_id}-{rank}", key="recommend_recommendation_waterfall",
        caption="SHAP waterfall from the average ranking score to this item's score",
    )


with for_user:
    # A single shopper's history and recommendations are user-level data (docs/security.md).
    if access.allowed("view_user_level"):
        show_for_user()
    else:
        st.info("Recommendations for a single shopper show what they viewed and bought, so this view needs the "
                "analyst role. Ask a ShopLens admin if you need it.", title="Not available with your role",
                icon=":material/lock:")

with for_product:
    products = models.products
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        product_id = pickers.product_picker("Product", "recommend_product", filters.categories,
                                            help="Products of the sidebar's categories, best sellers first.")
        measure_label = st.segmented_control("Rank pairs by", list(MEASURES), default="Lift", key="recommend_measure",
                                             bind="query-params", required=True)
    measure = MEASURES.get(measure_label or "Lift", "lift")
    if product_id is None or product_id not in products.index:
        common.empty_state("Choose a product the models know: type part of its title or id.", title="No product")
    else:
        related = related_items(models, product_id, 10)
        about = products.loc[product_id]
        st.caption(common.plain(" · ".join(str(part) for part in (related.title, about["category_path"], about["brand"])
                                           if isinstance(part, str) and part)))
        together, viewed = st.columns(2)
        # Each card downloads exactly the bars it draws (charts.related_table: best first, at most 12).
        with together:
            common.chart_card("Bought together",
                              charts.related_figure(related.bought_together, measure, "Orders together"),
                              related_download(related.bought_together, measure, "orders_together"),
                              file_name=f"bought-together-{product_id}", key="recommend_bought_together",
                              caption=f"Orders holding both, ranked by {measure_label_for(measure, 'Orders')}; "
                                      "lift > 1 means more often than chance")
        with viewed:
            common.chart_card("Also viewed",
                              charts.related_figure(related.viewed_together, measure, "Sessions together"),
                              related_download(related.viewed_together, measure, "sessions_together"),
                              file_name=f"also-viewed-{product_id}", key="recommend_viewed_together",
                              caption=f"Sessions viewing both, ranked by {measure_label_for(measure, 'Sessions')}")
        common.chart_card("Similar products", charts.related_figure(related.similar, "similarity"),
                          related_download(related.similar, "similarity"),
                          file_name=f"similar-{product_id}", key="recommend_similar",
                          caption="Text similarity of title, category, brand and price band (works for new products)")

with leaderboard_tab:
    board = model_status.artifact("recommender_leaderboard", what="the leaderboard", key="recommend_leaderboard_model",
                                  failed_title="Not enough data to evaluate")
    if board is not None:
        st.caption(board.protocol)
        metric_label = st.segmented_control("Metric", list(LEADERBOARD_METRICS), default="NDCG@10",
                                            key="recommend_metric", bind="query-params", required=True)
        metric = LEADERBOARD_METRICS.get(metric_label or "NDCG@10", "ndcg@10")
        best = board.best_single(metric)
        by_model = board.models.set_index("model")[metric]
        hybrid = by_model.get(HYBRID)
        # The leaderboard's winner on NDCG@10 (the first row); old stored boards have no champion field.
        winner = getattr(board, "champion", None) or str(board.models["model"].iloc[0])
        if getattr(board, "champion_note", ""):
            st.markdown(f"**On this split:** {common.plain(board.champion_note)}")
        if winner != models.champion:
            st.caption(common.plain(
                f"The serving model, {models.champion}, was chosen on shoppers held aside while training; on this "
                f"time split {winner} leads. Both comparisons are shown so neither is hidden."))
        with st.container(horizontal=True, gap="small"):
            if winner in by_model:
                st.metric(f"Champion {metric_label}", f"{by_model[winner]:.3f}", border=True,
                          help=f"{winner}: the best NDCG@10 on this split.")
            if hybrid is not None:
                # The hybrid's figure is always shown, above all when it is not the champion.
                st.metric(f"Hybrid {metric_label}", f"{hybrid:.3f}", border=True,
                          delta=common.format_change(hybrid / best[metric] - 1 if best[metric] else None),
                          help=f"Against the best single model, {best['model']} ({best[metric]:.3f}).")
            st.metric("Shoppers evaluated", common.format_count(int(board.models["users"].iloc[0])), border=True)
        common.chart_card(f"{metric_label} by model", charts.leaderboard_figure(board.models, metric), board.models,
                          file_name="recommendation-leaderboard", key="recommend_leaderboard",
                          caption="Time split: the last 28 days held out; the hybrid in purple")
        if not board.cold_start.empty:
            st.markdown("**Shoppers with at most 3 earlier products (cold start)**")
            st.dataframe(board.cold_start, hide_index=True)
    if st.toggle("Explain the ranker", key="recommend_explain_ranker", bind="query-params",
                 help="What drives the ranker's scores on the held-out days, with SHAP."):
        explanation_panel.show_model("recommender_ranker", key="recommend_ranker", what="the ranker",
                                     title="What the ranker learned",
                                     segment_labels={"category": "Category", "price_band": "Price band"},
                                     row_label="Candidate")
