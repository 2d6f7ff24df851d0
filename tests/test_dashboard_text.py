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
