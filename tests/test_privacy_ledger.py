"""The ε ledger: refuses past the daily budget, reuses answers within a day, persists, stays whole."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from analytics.privacy.ledger import BudgetExhausted, PrivacyLedger, ledger_path, query_key


class Clock:
    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


class Draws:
    """A stand-in for a noisy answer: counts its calls so reuse can be seen."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return {"value": self.calls}


@pytest.fixture()
def clock() -> Clock:
    return Clock(date(2025, 3, 1))


@pytest.fixture()
def ledger(tmp_path, clock) -> PrivacyLedger:
    return PrivacyLedger(tmp_path / "ledger.sqlite", daily_epsilon=1.0, today=clock)


def test_a_query_past_the_daily_budget_is_refused_with_a_sentence(ledger):
    draws = Draws()
    # 0.4 + 0.4 = 0.8 fits in 1.0; a third 0.4 would make 1.2.
    ledger.release("ana@example.com", "q1", "first", 0.4, draws)
    ledger.release("ana@example.com", "q2", "second", 0.4, draws)
    with pytest.raises(BudgetExhausted) as refused:
        ledger.release("ana@example.com", "q3", "third", 0.4, draws)
    message = str(refused.value)
    assert "privacy budget" in message and "0.2 of today's 1 left" in message and "midnight UTC" in message
    assert draws.calls == 2                                   # the refused query drew nothing
    assert ledger.spent("ana@example.com") == pytest.approx(0.8)
    # What still fits is allowed: 0.8 + 0.2 = 1.0 exactly.
    ledger.release("ana@example.com", "q4", "fourth", 0.2, draws)
    assert ledger.remaining("ana@example.com") == pytest.approx(0.0)


def test_a_repeated_query_reuses_the_stored_answer_without_spending(ledger):
    draws = Draws()
    first = ledger.release("ana@example.com", "q1", "tiles", 0.6, draws)
    again = ledger.release("ANA@example.com ", "q1", "tiles", 0.6, draws)   # the same person
    assert first.answer == again.answer == {"value": 1}
    assert (first.charged, again.charged) == (0.6, 0.0)
    assert again.reused and again.spent_today == pytest.approx(0.6)
    assert draws.calls == 1


def test_another_viewer_gets_the_same_answer_and_pays_for_it_once(ledger):
    draws = Draws()
    ledger.release("ana@example.com", "q1", "tiles", 0.6, draws)
    other = ledger.release("bo@example.com", "q1", "tiles", 0.6, draws)
    # One draw only: two viewers cannot average two draws of one figure.
    assert other.answer == {"value": 1} and draws.calls == 1
    assert other.charged == pytest.approx(0.6)
    assert ledger.release("bo@example.com", "q1", "tiles", 0.6, draws).charged == 0.0


def test_a_new_day_brings_a_new_budget_and_a_fresh_draw(ledger, clock):
    draws = Draws()
    ledger.release("ana@example.com", "q1", "tiles", 1.0, draws)
    with pytest.raises(BudgetExhausted):
        ledger.release("ana@example.com", "q2", "other", 0.1, draws)
    clock.day = date(2025, 3, 2)
    assert ledger.remaining("ana@example.com") == 1.0
    assert ledger.release("ana@example.com", "q1", "tiles", 1.0, draws).answer == {"value": 2}
    assert ledger.spent("ana@example.com", date(2025, 3, 1)) == 1.0


def test_the_ledger_survives_a_restart(tmp_path, clock):
    path = tmp_path / "ledger.sqlite"
    PrivacyLedger(path, 1.0, today=clock).release("ana@example.com", "q1", "tiles", 0.7, Draws())
    restarted = PrivacyLedger(path, 1.0, today=clock)
    assert restarted.spent("ana@example.com") == pytest.approx(0.7)
    assert restarted.release("ana@example.com", "q1", "tiles", 0.7, Draws()).answer == {"value": 1}
    with pytest.raises(BudgetExhausted):
        restarted.release("ana@example.com", "q2", "other", 0.7, Draws())


def test_a_failed_draw_spends_nothing(ledger):
    def broken() -> dict:
        raise RuntimeError("the warehouse went away")

    with pytest.raises(RuntimeError):
        ledger.release("ana@example.com", "q1", "tiles", 0.5, broken)
    assert ledger.spent("ana@example.com") == 0.0
    assert ledger.release("ana@example.com", "q1", "tiles", 0.5, Draws()).answer == {"value": 1}


def test_concurrent_sessions_draw_one_answer_and_cannot_overspend(ledger):
    draws, answers, refusals = Draws(), [], []
    lock = threading.Lock()

    def ask(key: str) -> None:
        try:
            release = ledger.release("ana@example.com", key, key, 0.3, draws)
        except BudgetExhausted:
            with lock:
                refusals.append(key)
        else:
            with lock:
                answers.append((key, release.answer["value"]))

    # Eight sessions ask the same figure, eight ask one new figure each, all at once.
    threads = [threading.Thread(target=ask, args=("same",)) for _ in range(8)]
    threads += [threading.Thread(target=ask, args=(f"new{number}",)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    same = {value for key, value in answers if key == "same"}
    assert len(same) == 1                                    # one draw, shared
    # Budget 1.0 at 0.3 each: three distinct figures at most.
    assert len({key for key, _ in answers}) == 3 and draws.calls == 3
    assert ledger.spent("ana@example.com") == pytest.approx(0.9)


def test_query_keys_cover_the_data_version_and_every_parameter():
    base = query_key("overview_kpis", "v1", {"from": "2025-01-01", "cap": 10})
    assert base == query_key("overview_kpis", "v1", {"cap": 10, "from": "2025-01-01"})
    assert base != query_key("overview_kpis", "v2", {"from": "2025-01-01", "cap": 10})
    assert base != query_key("overview_kpis", "v1", {"from": "2025-01-01", "cap": 11})
    assert base != query_key("funnel_steps", "v1", {"from": "2025-01-01", "cap": 10})


def test_the_ledger_lives_beside_the_warehouse(tmp_path):
    assert ledger_path(tmp_path / "wh" / "warehouse.duckdb") == (tmp_path / "wh" / "privacy-ledger.sqlite").resolve()


def test_a_release_needs_a_viewer_and_a_positive_epsilon(ledger):
    with pytest.raises(ValueError):
        ledger.release("", "q1", "tiles", 0.5, Draws())
    with pytest.raises(ValueError):
        ledger.release("ana@example.com", "q1", "tiles", 0.0, Draws())
