"""The reason text: a pure function from evidence to sentences, checked sentence by sentence."""

from __future__ import annotations

import math

from analytics.recommend.reasons import FALLBACK_REASON, Evidence, phrase, reason_text


def test_the_two_strongest_positive_pieces_in_order():
    evidence = [
        Evidence("brand", 0.2, value="Anker"),
        Evidence("bought_together", 0.9, anchor="Anker Power Bank"),
        Evidence("price", 0.1, value=1.1),
    ]
    assert reason_text(evidence) == "bought together with Anker Power Bank; matches favourite brand Anker"


def test_each_kind_once_and_unwritable_pieces_skipped():
    evidence = [
        Evidence("ease", 0.8, anchor=None),          # no anchor: cannot be said, skipped
        Evidence("content", 0.7, anchor="华为 无线耳机 Pro"),
        Evidence("content", 0.6, anchor="Other"),     # same kind again: skipped
        Evidence("category", 0.5, value="Electronics"),
    ]
    assert reason_text(evidence) == "similar to 华为 无线耳机 Pro; in favourite category Electronics"


def test_nothing_positive_uses_the_strongest_piece_alone():
    evidence = [Evidence("trending", -0.3), Evidence("popularity", -0.1, value="East China")]
    assert reason_text(evidence) == "a best seller in East China"


def test_fallback_when_nothing_can_be_said():
    assert reason_text([]) == FALLBACK_REASON
    assert reason_text([Evidence("brand", 1.0, value=None)]) == FALLBACK_REASON


def test_every_phrase():
    assert phrase(Evidence("viewed_together", 1, anchor="Mug")) == "viewed together with Mug"
    assert phrase(Evidence("cooccurrence", 1, anchor="Mug")) == "often chosen with Mug"
    assert phrase(Evidence("ease", 1, anchor="Mug")) == "shoppers who chose Mug also chose it"
    assert phrase(Evidence("als", 1)) == "liked by shoppers with similar taste"
    assert phrase(Evidence("popularity", 1, value="unknown")) == "a best seller"
    assert phrase(Evidence("trending", 1)) == "popular right now"
    # Price ratio bands: [0.67, 1.5] usual, below cheaper, above a step up; NaN says nothing.
    assert phrase(Evidence("price", 1, value=0.67)) == "in the usual price range"
    assert phrase(Evidence("price", 1, value=0.5)) == "cheaper than usual picks"
    assert phrase(Evidence("price", 1, value=2.0)) == "a step up from usual picks"
    assert phrase(Evidence("price", 1, value=math.nan)) is None


def test_one_phrase_when_asked():
    evidence = [Evidence("trending", 0.5), Evidence("als", 0.4)]
    assert reason_text(evidence, max_phrases=1) == "popular right now"
