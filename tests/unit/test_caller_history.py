"""A caller's own history as a suggestion: the configuration, the call flow's use of it, the
store's lookup through the keyed hash, and a store that does not answer."""

import asyncio
import dataclasses
import threading
import time

import pytest

from fourteenplus.callflow import CallFlow, Play, Reply, Suggested, Transfer, Utterance, suggest
from fourteenplus.config import HistorySettings, load_service
from fourteenplus.errors import ConfigErrors
from fourteenplus.records import CallRecord, CallerHasher, Row, open_store
from fourteenplus.records import history as history_module
from fourteenplus.records.history import CallerHistory
from fourteenplus.speech import Candidate, Recognition

SERVICE = dataclasses.replace(load_service(), history=HistorySettings(30, 4.0))


def take(*scores: tuple[str, float]) -> Utterance:
    """A name take that heard these municipalities by their own names, none sure enough to put through."""
    candidates = tuple(Candidate(m, p, m) for m, p in scores)
    return Utterance(Recognition(scores[0][0], candidates, "confirm", scores[0][0], "match"))


def asked_about(actions) -> str:
    [play] = [a for a in actions if isinstance(a, Play)]
    return play.prompts[0]


def flow(suggested: str | None = None) -> CallFlow:
    call = CallFlow(SERVICE, "140229", caller="0612345678")
    call.start()
    if suggested:
        assert call.handle(Suggested(suggested)) == []
    return call


# ---- configuration ----

AREA = """\
municipalities:
  Hoorn: {trunk: PJSIP/hoorn@trunks}
  Medemblik: {trunk: PJSIP/medemblik@trunks}
areas:
  "0229": {municipalities: [Hoorn, Medemblik]}
"""


def write(tmp_path, text):
    path = tmp_path / "fourteenplus.yaml"
    path.write_text(AREA + text)
    return path


def test_history_is_off_unless_the_operator_switches_it_on():
    assert not load_service().history.on


def test_history_longer_than_the_records_are_kept_is_refused_with_its_line(tmp_path):
    path = write(tmp_path, "records: {retention_days: 30}\nhistory:\n  days: 60\n")
    with pytest.raises(ConfigErrors) as caught:
        load_service(path)
    [error] = caught.value.errors
    assert error.line == 8 and "retention_days (30)" in str(error)


def test_history_settings_are_read_and_checked(tmp_path):
    assert load_service(write(tmp_path, "history: {days: 14, odds: 3}\n")).history == HistorySettings(14, 3.0)
    with pytest.raises(ConfigErrors, match="'odds' must be between 1.0 and 100.0"):
        load_service(write(tmp_path, "history: {days: 14, odds: 0.5}\n"))
    with pytest.raises(ConfigErrors, match="unknown key 'weeks'"):
        load_service(write(tmp_path, "history: {weeks: 2}\n"))


# ---- the call flow ----

def test_odds_move_a_probability_the_bayesian_way():
    assert suggest(0.2, 4.0) == pytest.approx(0.5)
    assert suggest(0.5, 1.0) == pytest.approx(0.5)
    assert suggest(1.0, 4.0) == 1.0 and suggest(0.0, 4.0) == 0.0


def test_the_suggestion_decides_which_name_is_asked_about_first():
    heard = take(("Hoorn", 0.5), ("Koggenland", 0.3))
    assert asked_about(flow().handle(heard)) == "confirm/hoorn"
    suggested = flow("Koggenland")
    assert asked_about(suggested.handle(heard)) == "confirm/koggenland"
    assert suggested.record.suggested == "Koggenland"


def test_the_suggestion_never_puts_a_call_through_on_its_own():
    # Sure enough with the suggestion's odds, but not by what was said: a question, not a transfer.
    call = flow("Koggenland")
    actions = call.handle(take(("Koggenland", 0.95)))
    assert not [a for a in actions if isinstance(a, Transfer)]
    assert asked_about(actions) == "confirm/koggenland"


def test_a_name_the_caller_did_not_say_is_not_suggested_into_the_takes():
    # Nothing heard of Koggenland: the suggestion adds nothing, and the caller is asked about Hoorn.
    assert asked_about(flow("Koggenland").handle(take(("Hoorn", 0.4)))) == "confirm/hoorn"


def test_a_nee_to_the_suggested_municipality_moves_on():
    call = flow("Koggenland")
    assert asked_about(call.handle(take(("Hoorn", 0.5), ("Koggenland", 0.3)))) == "confirm/koggenland"
    assert asked_about(call.handle(Reply(False))) == "confirm-or/hoorn"


def test_a_suggestion_from_outside_the_area_is_ignored():
    call = flow("Amsterdam")
    assert call.record.suggested is None
    assert asked_about(call.handle(take(("Hoorn", 0.5), ("Koggenland", 0.3)))) == "confirm/hoorn"


# ---- the store and the lookup ----

HASHER = CallerHasher(b"k" * 32)
NOW = time.time()


def stored(store, caller="0612345678", area="0229", municipality="Koggenland", path="spoken",
           outcome="transferred", age_days=1.0):
    record = CallRecord("14" + area, caller, area, path, municipality, outcome=outcome,
                        started_at=NOW - age_days * 86400)
    store.insert(Row.of(record, HASHER))


@pytest.fixture
def records(tmp_path):
    return load_service(write(tmp_path, f"records: {{path: {tmp_path / 'records.db'}}}\n")).records


def test_the_last_choice_in_the_area_within_the_days_is_found(records):
    store = open_store(records)
    stored(store, municipality="Hoorn", age_days=3)
    stored(store, municipality="Koggenland", age_days=2)
    stored(store, municipality="Opmeer", path="default", age_days=1)      # nobody chose it
    stored(store, municipality="Amsterdam", area="020", path="direct", age_days=0.5)  # another area
    stored(store, caller="0687654321", municipality="Medemblik", age_days=0.1)      # another caller
    stored(store, municipality=None, outcome="abandoned", path=None, age_days=0.2)
    last = store.last_chosen(HASHER.hash("0612345678"), "0229", NOW - 30 * 86400)
    assert last == "Koggenland"
    assert store.last_chosen(HASHER.hash("0612345678"), "0229", NOW - 1.5 * 86400) is None


def test_the_lookup_answers_through_the_keyed_hash(records):
    stored(open_store(records), municipality="Medemblik")
    history = CallerHistory(records, HASHER)
    try:
        assert asyncio.run(history.last_chosen("0612345678", "0229", 30)) == "Medemblik"
        assert asyncio.run(history.last_chosen("0611111111", "0229", 30)) is None
        assert asyncio.run(history.last_chosen(None, "0229", 30)) is None
    finally:
        history.close()


def test_a_store_that_does_not_answer_costs_the_suggestion_only(records, monkeypatch, caplog):
    release = threading.Event()
    monkeypatch.setattr(history_module, "LOOKUP_S", 0.05)
    history = CallerHistory(records, HASHER)
    monkeypatch.setattr(history, "_lookup", lambda *args: release.wait(5) and "Hoorn")
    try:
        assert asyncio.run(history.last_chosen("0612345678", "0229", 30)) is None
        assert "did not answer" in caplog.text
    finally:
        release.set()
        history.close()


def test_a_store_that_fails_costs_the_suggestion_only(tmp_path, caplog):
    broken = load_service(write(tmp_path, "records: {url: 'postgresql://nobody@127.0.0.1:1/none?connect_timeout=1'}\n"))
    history = CallerHistory(broken.records, HASHER)
    try:
        assert asyncio.run(history.last_chosen("0612345678", "0229", 30)) is None
        assert "no suggestion" in caplog.text
    finally:
        history.close()
