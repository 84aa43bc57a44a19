"""One national number for every municipality (issue 28, part 2): the configuration, the
number plan, the national grammar and its shortlist, the call flow's questions and ends, the
prompts and the dialplan's fallback. No model is loaded here; the real calls are in
tests/integration/test_national.py."""

import pytest

from fourteenplus import asterisk_config, prompts
from fourteenplus.callflow import (
    CallFlow, Dtmf, Hangup, Listen, Play, PromptDone, Reply, StartTimer, Timeout, Transfer, Utterance,
)
from fourteenplus.vocabulary import CallPath, Outcome
from fourteenplus.config import load_service
from fourteenplus.directory import load_directory
from fourteenplus.errors import ConfigError, ConfigErrors
from fourteenplus.grammar import load_grammars
from fourteenplus.numberplan import NATIONAL, NumberRejected, parse
from fourteenplus.speech import Candidate, Recognition
from fourteenplus.speech.matcher import Matcher
from fourteenplus.speech.policy import Policy
from fourteenplus.speech.recognizer import Heard

NATIONAL_YAML = """\
municipalities:
  Hoorn: {trunk: PJSIP/hoorn@trunks}
  Koggenland: {trunk: PJSIP/koggenland@trunks}
  Bergen (NH): {trunk: PJSIP/bergen@trunks}
national:
  numbers: ["0800 1414", "+31 88 140 0000"]
"""


@pytest.fixture
def service(write_yaml):
    return load_service(write_yaml(NATIONAL_YAML))


@pytest.fixture(scope="module")
def grammars():
    return load_grammars(load_directory())


def errors_of(write_yaml, text):
    with pytest.raises((ConfigErrors, ConfigError)) as exc:
        load_service(write_yaml(text))
    return [str(e) for e in (exc.value.errors if isinstance(exc.value, ConfigErrors) else [exc.value])]


# ---- configuration and number plan ----

def test_a_national_number_needs_no_area_and_connects_every_trunk(service):
    assert service.national.numbers == ("08001414", "0881400000")
    plan = service.plan(NATIONAL)
    assert len(plan.municipalities) == len(service.directory.municipalities)
    assert plan.connected == ("Bergen (NH)", "Hoorn", "Koggenland") and plan.default is None
    assert service.warnings == ()  # trunks connected nationally are connected somewhere
    assert "reachable/opmeer" in service.prompt_ids(NATIONAL)
    assert "reachable/hoorn" not in service.prompt_ids(NATIONAL)


@pytest.mark.parametrize("section, message, line", [
    ("national: {}", "'national' needs 'numbers'", 5),
    ("national: {numbers: [\"14 0229\"]}", "is the 14+ number of area 0229", 5),
    ("national: {numbers: [\"0800 1414\", \"0800-1414\"]}", "is given twice", 5),
    ("national: {numbers: [\"0800 14x4\"]}", "characters other than digits", 5),
    ("national: {numbers: [\"0800 1414\"], default: Opmeer}", "default 'Opmeer' of the national number", 5),
    ("national: {numbers: [\"0800 1414\"], dfault: Hoorn}", "did you mean 'default'", 5),
])
def test_bad_national_sections_name_file_and_line(write_yaml, section, message, line):
    text = "municipalities:\n  Hoorn: {trunk: PJSIP/hoorn@trunks}\n  Koggenland: {trunk: PJSIP/k@trunks}\n\n" + section + "\n"
    [error] = errors_of(write_yaml, text)
    assert message in error and f"config.yaml:{line}:" in error


def test_a_national_number_cannot_also_be_a_geographic_one(write_yaml):
    text = NATIONAL_YAML + 'numbers:\n  "0800 1414": {municipality: Hoorn}\nareas:\n  "0229": {municipalities: [Hoorn]}\n'
    [error] = errors_of(write_yaml, text)
    assert "also under 'numbers'" in error


def test_without_a_national_number_areas_are_still_required(write_yaml):
    assert any("missing 'areas'" in e for e in errors_of(write_yaml, "municipalities:\n  Hoorn: {trunk: PJSIP/h@t}\n"))


def test_the_number_plan_knows_national_numbers_only_when_given():
    areas = load_directory().areas
    assert parse("0800 1414", areas, {"08001414"}) == NATIONAL
    assert parse("+31 14 0229", areas, {"08001414"}) == "0229"  # 14+ numbers as before
    with pytest.raises(NumberRejected) as exc:
        parse("0800 1414", areas)
    assert exc.value.reason == "not_14"


def test_the_14_number_told_is_the_most_direct_one():
    directory = load_directory()
    assert directory.number("Amsterdam") == "14020"  # its own main place's, not 0294's
    assert directory.number("Hoorn") == "140229"
    assert directory.number("Opmeer") == "140226"  # 0226 and 0229: the one shared with fewer
    assert all(directory.number(name).startswith("140") for name in directory.municipalities)


# ---- the national grammar and its shortlist ----

def test_the_national_grammar_holds_every_phrase_and_shares_homonyms(grammars):
    national = grammars.area(NATIONAL)
    assert len(national.phrases) == len(grammars.phrases) and grammars.elsewhere(NATIONAL) == ()
    assert {p.kind for p in national.phrases[:len(national.municipalities)]} == {"name"}
    shared = grammars.shared()
    assert shared["bergen"] == ("Bergen (L)", "Bergen (NH)")
    assert "koggenland" not in shared


# Every feature but the lead over the runner-up weighs nothing: the bands follow the scores.
MARGIN_ONLY = Policy(weights=(1.0,) + (0.0,) * 11, bias=-3.0)


def national_matcher(grammars, limit=6):
    return Matcher(grammars.area(NATIONAL), grammars.elsewhere(NATIONAL), policy=MARGIN_ONLY, shortlist=limit)


def test_the_shortlist_holds_few_municipalities_nearest_the_transcripts(grammars):
    matcher = national_matcher(grammars)
    texts = [text for text, _ in matcher.shortlist("Eh, ik wil graag de gemeente Koggenland bellen.")]
    owners = {m for t in texts for m in matcher._owners[t]}
    assert "Koggenland" in texts and len(owners) <= 6 + 1  # a shared text counts for each of its owners
    assert len(texts) <= 12
    # The primed transcription's words come first: a garbled free transcript still finds it.
    primed = [t for t, _ in matcher.shortlist("Gohrenrand", prompted="Koggenland.")]
    assert "Koggenland" in primed
    assert matcher.shortlist("") == []
    assert "Koggenland" in matcher.prompt_for("Koggenland")
    assert matcher.prompt == ""  # the country's phrases would not fit whisper's context


def test_a_place_name_shared_by_two_municipalities_counts_for_both_and_says_so(grammars):
    matcher = national_matcher(grammars)
    scored = dict(matcher.shortlist("Bergen"))
    assert "Bergen" in scored
    recognition = matcher.decide(Heard("Bergen", True, {"Bergen": -1.0, "Bergen (NH)": -9.0, "Hoorn": -12.0}),
                                 0.99, 0.1)
    by_name = {c.municipality: c for c in recognition.candidates}
    assert by_name["Bergen (NH)"].shared and by_name["Bergen (L)"].shared
    assert by_name["Bergen (NH)"].score == by_name["Bergen (L)"].score  # nothing to choose between them
    assert recognition.decision != "accept"


# ---- the call flow ----

def candidate(municipality, score, phrase=None, shared=False):
    return Candidate(municipality, score, phrase or municipality, shared)


def said(*candidates):
    top = candidates[0]
    decision = "accept" if top.score >= 0.99 else "confirm" if top.score >= 0.1 else "reject"
    return Utterance(Recognition(top.phrase, tuple(candidates), decision, top.municipality, "match"))


def play(actions):
    [p] = [a for a in actions if isinstance(a, Play)]
    return p


def called(service):
    flow = CallFlow(service, "0800 1414", caller="0612345678")
    actions = flow.start()
    assert Listen("name", NATIONAL) in actions and play(actions).prompts == ("question",)
    assert flow.record.area_code == NATIONAL
    return flow, actions


def test_even_a_sure_name_is_asked_about_then_put_through(service):
    flow, _ = called(service)
    actions = flow.handle(said(candidate("Koggenland", 0.999)))
    assert not [a for a in actions if isinstance(a, Transfer)]
    assert play(actions).prompts == ("confirm/koggenland",)
    assert Transfer("Koggenland", "PJSIP/koggenland@trunks", None) in flow.handle(Reply(True))
    assert flow.record.path == CallPath.CONFIRMED and flow.record.municipality == "Koggenland"


def test_a_municipality_not_connected_here_is_told_its_14_number(service):
    flow, _ = called(service)
    flow.handle(said(candidate("Opmeer", 0.999)))
    actions = flow.handle(Dtmf("1"))
    assert play(actions).prompts == ("reachable/opmeer", "goodbye")
    assert not [a for a in actions if isinstance(a, Transfer)]
    assert flow.record.outcome == Outcome.REFERRED and flow.record.municipality == "Opmeer"
    assert isinstance(flow.handle(PromptDone(play(actions).play_id))[0], Hangup)


def test_an_unsure_unconnected_municipality_is_asked_about_first(service):
    flow, _ = called(service)
    actions = flow.handle(said(candidate("Opmeer", 0.6), candidate("Medemblik", 0.2)))
    assert play(actions).prompts == ("confirm/opmeer",)
    actions = flow.handle(Reply(True))
    assert play(actions).prompts == ("reachable/opmeer", "goodbye") and flow.record.path == CallPath.CONFIRMED


def test_a_shared_place_is_asked_with_where_it_is_never_put_through_unasked(service):
    flow, _ = called(service)
    actions = flow.handle(said(candidate("Bergen (NH)", 0.995, "Bergen", shared=True),
                               candidate("Bergen (L)", 0.9, "Bergen", shared=True)))
    assert not [a for a in actions if isinstance(a, Transfer)]
    assert play(actions).prompts == ("confirm/bergen-nh/bergen",)
    actions = flow.handle(Reply(False))
    assert play(actions).prompts == ("confirm-or/bergen-l/bergen",)
    actions = flow.handle(Reply(True))
    assert play(actions).prompts == ("reachable/bergen-l", "goodbye")
    # The answer not understood: the same question again, with the keys.
    flow, _ = called(service)
    flow.handle(said(candidate("Bergen (NH)", 0.5, "Bergen", shared=True)))
    assert play(flow.handle(Reply(None))).prompts == ("confirm/bergen-nh/bergen", "reply-keys")
    assert Transfer("Bergen (NH)", "PJSIP/bergen@trunks", None) in flow.handle(Dtmf("1"))


def test_a_caller_not_understood_hears_how_to_reach_their_municipality(service):
    flow, actions = called(service)
    for _ in range(service.listen.attempts):
        actions = flow.handle(PromptDone(play(actions).play_id))
        [timer] = [a for a in actions if isinstance(a, StartTimer)]
        actions = flow.handle(Timeout(timer.timer_id))
    assert play(actions).prompts == ("dial-area", "goodbye") and flow.record.outcome == Outcome.NO_CHOICE
    # A key: there is no menu of the country either.
    flow, _ = called(service)
    assert play(flow.handle(Dtmf("3"))).prompts == ("dial-area", "goodbye")


def test_a_national_default_is_announced_and_put_through(write_yaml):
    service = load_service(write_yaml(NATIONAL_YAML.replace("numbers:", "default: Hoorn\n  numbers:")))
    flow, _ = called(service)
    actions = flow.handle(Dtmf("3"))
    assert play(actions).prompts == ("default/hoorn",)
    assert flow.handle(PromptDone(play(actions).play_id)) == [Transfer("Hoorn", "PJSIP/hoorn@trunks", None)]


# ---- prompts and the dialplan ----

def test_national_prompts_name_the_14_number_and_where_a_shared_place_is(service):
    nl = prompts.prompt_texts(service, "nl")
    assert nl["reachable/opmeer"] == "Opmeer is bereikbaar op veertien 0 2 2 6."
    assert "reachable/hoorn" not in nl  # connected: put through instead
    assert nl["confirm/bergen-nh/bergen"] == "Bedoelt u Bergen in Noord-Holland?"
    assert nl["confirm-or/bergen-l/bergen"] == "Of bedoelt u Bergen in Limburg?"
    assert nl["confirm/veere/serooskerke"] == "Bedoelt u Serooskerke in de gemeente Veere?"  # both in Zeeland
    assert nl["dial-area"] and prompts.prompt_texts(service, "en")["reachable/opmeer"].startswith("Opmeer can be")
    assert set(service.prompt_ids(NATIONAL)) <= set(nl)


def test_without_a_national_number_none_of_its_prompts_are_made():
    texts = prompts.prompt_texts(load_service(), "nl")
    assert "dial-area" not in texts and not any(pid.startswith("reachable/") for pid in texts)


def test_the_fallback_answers_a_national_number_by_its_digits_only(service, write_yaml):
    text = asterisk_config.render_dialplan(service)
    assert "exten => 08001414,1,Set(CDR(userfield)=fourteenplus outcome=no_choice)" in text
    assert " same => n,Playback(${FOURTEENPLUS_PROMPTS}/dial-area&${FOURTEENPLUS_PROMPTS}/goodbye)" in text
    assert "exten => 0881400000,1," in text
    with_default = load_service(write_yaml(NATIONAL_YAML.replace("numbers:", "default: Hoorn\n  numbers:")))
    text = asterisk_config.render_dialplan(with_default)
    assert "exten => 08001414,1,Playback(${FOURTEENPLUS_PROMPTS}/default/hoorn)" in text
    assert " same => n,Goto(fourteenplus-to-hoorn,s,1)" in text


def test_the_sound_key_meets_what_whisper_spells_by_ear():
    from fourteenplus.text import sound

    assert sound("Haarlem") == sound("Harlem")
    assert sound("Culemborg") == "kulempork" and sound("Zwolle") == sound("Swole")
    assert sound("Den Bosch") == "tenposk"  # spaces go: whisper splits and joins words at will


def test_a_name_whisper_says_twice_is_found_from_either_sentence(grammars):
    # "Koggenland" as espeak-ng says it over the integration tests' line.
    assert "Koggenland" in [t for t, _ in national_matcher(grammars).shortlist("Toge land. Togeland.")]


def test_national_callers_keep_the_columns_and_name_the_whole_country(tmp_path):
    import csv
    from argparse import Namespace

    from fourteenplus_dev.commands import corpus

    options = {"out": tmp_path, "split": "tune", "count": 4, "areas": "0229", "repeats": False, "replies": False,
               "callers": True, "national": True, "voices": "espeak", "people": None}
    assert corpus.main(Namespace(**options)) == 0
    with (tmp_path / "callers.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == corpus.CALLER_COLUMNS
    assert {row["area_code"] for row in rows} == {NATIONAL}
    assert {row["expected"] for row in rows} <= set(load_directory().municipalities) | {"none"}
    assert corpus.main(Namespace(**(options | {"callers": False}))) == 2  # --national makes callers only


def test_the_trie_search_adds_its_first_municipalities_to_the_shortlist(grammars):
    matcher = national_matcher(grammars)
    alone = [t for t, _ in matcher.shortlist("Kutlingbord")]
    searched = matcher.shortlist("Kutlingbord", "", ("Culemborg", "Ede", "Epe", "Hoorn"))
    texts = [t for t, _ in searched]
    # The search's first three municipalities first, in the name's forms; the text's on top.
    assert texts[:3] == ["Culemborg", "Ede", "Epe"] and "Hoorn" not in texts
    assert dict(searched)["Culemborg"] == matcher.name_forms
    assert set(alone) <= set(texts)
    assert matcher.searchable and len(matcher.searchable) == len(set(p.text for p in grammars.area(NATIONAL).phrases))


def test_the_search_starts_after_the_words_before_the_name(grammars):
    matcher = national_matcher(grammars)
    assert matcher.lead("Eh, ik wil graag de gemeente Kutlingbord bellen.") == "Eh, ik wil graag de gemeente"
    assert matcher.lead("Kutlingbord graag") == ""
