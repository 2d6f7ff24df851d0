"""Every chart function drawn in headless Chromium at half a page wide: nothing clipped, overlapping,
shrunk below 9 px or blank, and hover labels readable (the checks of tools/figure_gallery.py).

The figure-object tests (tests/test_charts_standard.py) cannot see where Plotly puts text; this
renders the same thin and odd inputs (tests/charts_fixtures.py) offline with the installed plotly.js
and measures the SVG text boxes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed; install Debian's chromium package to run browser tests")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    from tests.charts_fixtures import chart_cases
    from tools import figure_gallery

    specimens = [figure_gallery.Specimen(f"{case.function}/{case.input}", case.build, hover=case.hover)
                 for case in chart_cases()]
    figure_gallery.render(specimens, tmp_path_factory.mktemp("gallery"), widths={"half": 700})
    return specimens


def test_no_chart_has_clipped_overlapping_tiny_or_invisible_text(rendered):
    problems = [f"{specimen.name}: {problem}" for specimen in rendered for problem in specimen.problems]

    assert problems == []


def test_hover_labels_appeared_and_were_measured(rendered):
    hovered = [specimen for specimen in rendered if "hover" in specimen.files]

    assert len(hovered) >= 15
