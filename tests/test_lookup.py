"""Finding products and shoppers by id or title, on the tiny shop (see tests/tiny_shop.py)."""

from __future__ import annotations

from analytics.lookup import find_products, find_users, product_label


def ids(frame, column="product_id"):
    return frame[column].tolist()


def test_chinese_and_english_words_of_a_title_find_the_product(tiny_con):
    assert ids(find_products(tiny_con, "马克杯")) == ["P2"]
    assert ids(find_products(tiny_con, "mug")) == ["P2"]  # case is ignored
    assert ids(find_products(tiny_con, "家居")) == ["P2"]  # the brand


def test_an_exact_id_comes_before_ids_that_only_contain_the_text(tiny_con):
    # "p" is in every id; "P3" is exact, so it leads whatever the order counts.
    assert ids(find_products(tiny_con, "p3"))[0] == "P3"


def test_no_text_lists_the_products_ordered_most(tiny_con):
    # P1, P2 and P3 each sit in one order line; ties by id.
    assert ids(find_products(tiny_con, "")) == ["P1", "P2", "P3"]


def test_the_category_filter_keeps_its_products_only(tiny_con):
    assert ids(find_products(tiny_con, "", ("Books",))) == ["P3"]
    assert ids(find_products(tiny_con, "mug", ("Books",))) == []


def test_shoppers_are_found_by_part_of_their_id_most_active_first(tiny_con):
    # U1 has two sessions; U3's session-less views, an hour apart, are sessionized into two; U2 has one.
    assert ids(find_users(tiny_con, "u"), "user_id") == ["U1", "U3", "U2"]
    assert ids(find_users(tiny_con, "U3"), "user_id") == ["U3"]
    assert ids(find_users(tiny_con, "nobody"), "user_id") == []


def test_labels_add_the_id_only_where_a_title_repeats_or_is_missing():
    assert product_label("P1", "Mug") == "Mug"
    assert product_label("P1", "Mug", {"Mug"}) == "Mug (P1)"
    assert product_label("P9", None) == "P9"
