"""Data values shown through Streamlit's Markdown are shown as typed (see `dashboard.common.plain`)."""

from __future__ import annotations

from dashboard.common import plain


def test_markdown_characters_are_escaped():
    assert plain("**bold** _it_ # h [a](b) `c` <b> 1. $x$") == (
        r"\*\*bold\*\* \_it\_ \# h \[a\]\(b\) \`c\` \<b\> 1\. \$x\$")


def test_an_image_title_cannot_become_a_remote_image_or_link():
    shown = plain("Mug ![](http://host/beacon.png)")
    assert "![](" not in shown and "http://" not in shown
    assert shown.replace("\\", "").replace("\u200b", "") == "Mug ![](http://host/beacon.png)"


def test_streamlit_directives_and_bare_links_are_broken_invisibly():
    shown = plain(":material/home: :red[x] www.example.com")
    assert ":material/" not in shown and ":red[" not in shown and "www." not in shown
    assert shown.replace("\\", "").replace("\u200b", "") == ":material/home: :red[x] www.example.com"


def test_chinese_text_and_numbers_are_left_readable():
    assert plain("陶瓷 马克杯 50%") == "陶瓷 马克杯 50%"


def test_the_default_period_ends_on_the_last_complete_day():
    from datetime import date

    from analytics.overview import FilterOptions
    from dashboard.common import default_dates

    options = FilterOptions((), (), (), date(2025, 1, 1), date(2025, 3, 31))
    # 30 days ending on the data's last day when it is complete (31 Mar back to 2 Mar) ...
    assert default_dates(options) == (date(2025, 3, 2), date(2025, 3, 31))
    assert default_dates(options, date(2025, 3, 31)) == (date(2025, 3, 2), date(2025, 3, 31))
    # ... and on 30 Mar when 31 Mar is partial (30 Mar back to 1 Mar).
    assert default_dates(options, date(2025, 3, 30)) == (date(2025, 3, 1), date(2025, 3, 30))
    # A complete end outside the data (an older warehouse's record) is ignored.
    assert default_dates(options, date(2024, 12, 31)) == (date(2025, 3, 2), date(2025, 3, 31))
    # Short data: the period starts on the first day.
    short = FilterOptions((), (), (), date(2025, 3, 20), date(2025, 3, 31))
    assert default_dates(short, date(2025, 3, 30)) == (date(2025, 3, 20), date(2025, 3, 30))
