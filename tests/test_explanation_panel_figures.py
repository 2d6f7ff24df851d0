"""The explanation panel builds the figures that depend only on the explanation once per explanation object."""

import gc

import plotly.graph_objects as go

from dashboard import explanation_panel


class Explanation:
    """Stands for a TrainedExplanation: the cache only needs an object that can be weakly referenced."""


def test_a_figure_is_built_once_per_explanation_and_dropped_with_it():
    built = []

    def bar_figure(explanation):
        built.append(explanation)
        return go.Figure()

    first, second = Explanation(), Explanation()
    figure = explanation_panel.shared(first, bar_figure)
    assert explanation_panel.shared(first, bar_figure) is figure
    assert explanation_panel.shared(second, bar_figure) is not figure
    assert built == [first, second]
    identity = id(first)
    del first, built[:]
    gc.collect()
    assert identity not in explanation_panel._FIGURES


def test_each_choice_of_arguments_is_built_once():
    calls = []

    def dependence(explanation, feature):
        calls.append(feature)
        return feature.upper()

    explanation = Explanation()
    assert [explanation_panel.shared(explanation, dependence, feature)
            for feature in ("price", "device", "price")] == ["PRICE", "DEVICE", "PRICE"]
    assert calls == ["price", "device"]
