"""Departments: their configuration (checked on load, with file:line) and the call flow's
department question, event by event. Whatever a caller answers but a sure department or its
key, they reach the municipality's general line: never a dead end, never a department they
did not ask for."""

import pytest

from fourteenplus.callflow import (
    CallFlow, Dtmf, HungUp, Listen, Play, PromptDone, RecognitionFailed, Reply, SpeechStarted,
    StartTimer, StopPlayback, Timeout, Transfer, Utterance,
)
from fourteenplus.vocabulary import GENERAL_LINE as GENERAL
from fourteenplus.vocabulary import ListenMode, State

CHOOSING, DEPARTMENT = State.CHOOSING, ListenMode.DEPARTMENT
CONFIRMING_DEPARTMENT = State.CONFIRMING_DEPARTMENT
from fourteenplus.config import EXAMPLE, NOT_A_DEPARTMENT, load_service
from fourteenplus.prompts import prompt_texts
from fourteenplus.speech import Candidate, Recognition

from .test_config import errors_of

CONFIG = """\
thresholds: {accept: 0.8, confirm: 0.5, department_confirm: 0.6}
municipalities:
  Hoorn:
    trunk: PJSIP/hoorn@trunks
    overflow: PJSIP/regio@trunks
    departments:
      Burgerzaken: {phrases: [paspoort, rijbewijs, verhuizing], trunk: PJSIP/hoorn-bz@trunks, key: 1}
      Afval: {phrases: [afval, grofvuil], trunk: PJSIP/hoorn-afval@trunks, key: 2}
  Medemblik: {trunk: PJSIP/medemblik@trunks}
  Amsterdam:
    trunk: PJSIP/amsterdam@trunks
    departments:
      Parkeren: {phrases: [parkeervergunning, parkeren], trunk: PJSIP/amsterdam-parkeren@trunks, key: 3}
areas:
  "0229": {municipalities: [Hoorn, Medemblik], default: Hoorn}
  "020": {municipalities: [Amsterdam]}
"""


@pytest.fixture
def service(write_yaml):
    return load_service(write_yaml(CONFIG))


# ---- configuration ----

def test_departments_load_in_key_order_with_their_phrases_and_trunks(service):
    hoorn = service.municipality("Hoorn")
    assert [(d.name, d.key, d.trunk) for d in hoorn.departments] == [
        ("Burgerzaken", "1", "PJSIP/hoorn-bz@trunks"), ("Afval", "2", "PJSIP/hoorn-afval@trunks")]
    assert hoorn.departments[1].phrases == ("afval", "grofvuil")
    assert hoorn.department("2").name == "Afval" and hoorn.department("0") is None
    assert service.municipality("Medemblik").departments == ()
    assert service.thresholds.department == 0.85  # the default


def test_the_example_gives_goes_and_nijmegen_departments():
    service = load_service(EXAMPLE)
    assert [d.name for d in service.municipality("Goes").departments][:3] == ["Burgerzaken", "Afval", "Parkeren"]
    assert service.municipality("Nijmegen").departments
    assert "department/goes" in service.prompt_ids("0113")


def test_the_question_about_a_department_is_a_prompt_of_its_area_per_department(service):
    ids = service.prompt_ids("0229")
    assert {"department-confirm/hoorn/burgerzaken", "department-confirm/hoorn/afval"} <= set(ids)
    assert "department-confirm/amsterdam/parkeren" in service.prompt_ids("020")
    # Its first phrase, as the department question's examples name it.
    assert prompt_texts(service, "nl")["department-confirm/hoorn/burgerzaken"] == "Over paspoort?"
    assert prompt_texts(service, "en")["department-confirm/amsterdam/parkeren"] == "About parkeervergunning?"


@pytest.mark.parametrize("thresholds, key, message", [
    ("{department_confirm: 0}", "department_confirm", "'department_confirm' (0.0) must be above 0 and below "
                                                      "'department' (0.85)"),
    ("{department_confirm: 0.85}", "department_confirm", "'department_confirm' (0.85) must be above 0 and below "
                                                         "'department' (0.85)"),
    # The shipped department_confirm above a department bar set lower: the bar's line.
    ("{department: 0.3}", "department", "'department_confirm' (0.5) must be above 0 and below 'department' (0.3)"),
    ("{department_confirm: 1.5}", "department_confirm", "'department_confirm' must be between 0.0 and 1.0, not 1.5"),
])
def test_department_confirm_lies_between_0_and_the_department_bar(write_yaml, thresholds, key, message):
    text = CONFIG.replace("thresholds: {accept: 0.8, confirm: 0.5, department_confirm: 0.6}",
                          "thresholds:\n  accept: 0.8\n  " + thresholds[1:-1])
    path, errors = errors_of(write_yaml, text)
    [error] = errors
    assert error.startswith(f"{path}:3:3: {message}") and text.splitlines()[2].startswith(f"  {key}:"), errors


def test_a_department_question_is_a_prompt_of_its_area_and_names_the_keys(service):
    assert "department/hoorn" in service.prompt_ids("0229")
    assert "department/amsterdam" in service.prompt_ids("020")  # an area of one asks it too
    assert "department/medemblik" not in service.prompt_ids("0229")
    text = prompt_texts(service, "nl")["department/hoorn"]
    assert text == ("Waarover belt u? Bijvoorbeeld paspoort of afval. Voor Burgerzaken, toets 1. "
                    "Voor Afval, toets 2. Voor iets anders, toets 0.")
    assert prompt_texts(service, "en")["department/amsterdam"].startswith(
        "What is your call about? For example parkeervergunning.")


@pytest.mark.parametrize("change, message", [
    ("trunk: PJSIP/hoorn-afval@trunks, key: 1}", "key 1 of department Afval is already Burgerzaken's"),
    ("trunk: PJSIP/hoorn-afval@trunks, key: 0}", "'key' of department Afval must be one digit 1 to 9 (0 is the general line), not 0"),
    ("trunk: PJSIP/hoorn-afval@trunks, key: 12}", "'key' of department Afval must be one digit 1 to 9 (0 is the general line), not 12"),
    ("trunk: PJSIP/hoorn-afval@trunks, key: 2, queue: x}", "unknown key 'queue' in department Afval of Hoorn"),
    ("trunk: PJSIP/a&b@trunks, key: 2}", "'trunk' must be one dial string"),
])
def test_a_bad_department_is_reported_with_its_line(write_yaml, change, message):
    text = CONFIG.replace("trunk: PJSIP/hoorn-afval@trunks, key: 2}", change)
    path, errors = errors_of(write_yaml, text)
    [error] = [e for e in errors if message in e]
    assert error.startswith(f"{path}:8:")  # Afval's line


def test_a_phrase_said_of_two_departments_is_an_error(write_yaml):
    path, errors = errors_of(write_yaml, CONFIG.replace("[afval, grofvuil]", "[afval, Paspoort]"))
    assert errors == [f"{path}:8:32: 'Paspoort' is listed also under Burgerzaken in Hoorn's departments: "
                      "a caller who says it must reach one department"]


@pytest.mark.parametrize("phrase", ["Nee", "ik weet het niet", "hoorn"])
def test_a_phrase_of_the_general_line_is_no_departments(write_yaml, phrase):
    """The general line's side is scored beside the departments' phrases: a department that
    had one of them would take the caller who says they want none of them."""
    path, errors = errors_of(write_yaml, CONFIG.replace("[afval, grofvuil]", f"[afval, {phrase}]"))
    assert errors == [f"{path}:8:32: {phrase!r} is what callers say for Hoorn's general line at the department "
                      f"question (Hoorn, {', '.join(NOT_A_DEPARTMENT)}): department Afval cannot have it"]


@pytest.mark.parametrize("change, message", [
    ("phrases: [], ", "'phrases' of department Afval must be a list"),
    ("phrases: [afval, 7], ", "a phrase of department Afval must be words, not 7"),
    ("", "department Afval of Hoorn has no 'phrases'"),
])
def test_phrases_are_a_list_of_words(write_yaml, change, message):
    path, errors = errors_of(write_yaml, CONFIG.replace("phrases: [afval, grofvuil], ", change))
    assert any(message in e and e.startswith(f"{path}:") for e in errors), errors


def test_an_empty_departments_mapping_is_an_error(write_yaml):
    text = CONFIG.replace("""    departments:
      Parkeren: {phrases: [parkeervergunning, parkeren], trunk: PJSIP/amsterdam-parkeren@trunks, key: 3}
""", "    departments: {}\n")
    _, errors = errors_of(write_yaml, text)
    assert any("'departments' of Amsterdam lists none" in e for e in errors), errors


# ---- the call flow ----

def of(actions, kind):
    return [a for a in actions if isinstance(a, kind)]


def play(actions):
    [p] = of(actions, Play)
    return p


def said(transcript, *scores, decision="accept"):
    """A name take: `scores` are (municipality, probability), as the recogniser ranks them."""
    candidates = tuple(Candidate(m, s, m) for m, s in scores)
    return Utterance(Recognition(transcript, candidates, decision, candidates[0].municipality if candidates else None,
                                 "match" if candidates else "no_speech"))


def department(*scores, transcript="paspoort"):
    """The answer to the department question: (department, probability), likeliest first."""
    candidates = tuple(Candidate(d, s, d) for d, s in scores)
    return Utterance(Recognition(transcript, candidates, "reject", None, "match" if candidates else "no_speech"))


def choosing(service, number="14020"):
    """A caller who reached Amsterdam (an area of one) and hears the department question."""
    flow = CallFlow(service, number)
    actions = flow.start()
    assert flow.state == CHOOSING and flow.record.path == "direct"
    assert play(actions).prompts == ("department/amsterdam",) and play(actions).barge_in
    [listen] = of(actions, Listen)
    assert listen == Listen(DEPARTMENT, "020", "Amsterdam", (
        ("parkeervergunning", "Parkeren"), ("parkeren", "Parkeren"),  # the department, and the general line's rivals
        ("Amsterdam", GENERAL), *((phrase, GENERAL) for phrase in NOT_A_DEPARTMENT)))
    assert not of(actions, Transfer)
    return flow, actions


def hoorn_choosing(service):
    """A caller of the shared 0229 who named Hoorn and hears the department question."""
    flow = CallFlow(service, "140229")
    flow.start()
    actions = flow.handle(said("Hoorn", ("Hoorn", 0.9)))
    assert flow.state == CHOOSING and play(actions).prompts == ("department/hoorn",)
    return flow, actions


def transfer(actions):
    [t] = of(actions, Transfer)
    return t


def test_a_department_heard_surely_is_put_through_with_the_general_line_as_overflow(service):
    flow, _ = hoorn_choosing(service)
    actions = flow.handle(department(("Burgerzaken", 0.97), ("Afval", 0.01)))
    assert transfer(actions) == Transfer("Hoorn", "PJSIP/hoorn-bz@trunks", "PJSIP/hoorn@trunks", "Burgerzaken")
    record = flow.record
    assert (record.municipality, record.department, record.path, record.trunk, record.outcome) == (
        "Hoorn", "Burgerzaken", "spoken", "PJSIP/hoorn-bz@trunks", "transferred")
    assert (record.attempts[-1].kind, record.attempts[-1].decision, record.attempts[-1].reason) == (
        "department", "accept", "Burgerzaken")
    assert flow.done


@pytest.mark.parametrize("answer", [
    department(("Burgerzaken", 0.59), ("Afval", 0.01)),      # below thresholds.department_confirm
    department(transcript=""),                                # nothing heard
    department(("Afval", 0.5), transcript="nee"),             # a nee
    department(("Hoorn", 0.99), transcript="Hoorn"),          # not a department of Hoorn
    department((GENERAL, 0.99), ("Afval", 0.01), transcript="ik weet het niet"),  # the general line's side
])
def test_anything_but_a_sure_department_reaches_the_general_line(service, answer):
    flow, _ = hoorn_choosing(service)
    actions = flow.handle(answer)
    assert transfer(actions) == Transfer("Hoorn", "PJSIP/hoorn@trunks", "PJSIP/regio@trunks", None)
    assert flow.record.department is None and flow.record.trunk == "PJSIP/hoorn@trunks"
    assert (flow.record.attempts[-1].kind, flow.record.attempts[-1].reason) == ("department", "general")


def asked_about_burgerzaken(service, score=0.7):
    """A caller of Hoorn whose answer was heard as Burgerzaken, likely but not surely."""
    flow, _ = hoorn_choosing(service)
    actions = flow.handle(department(("Burgerzaken", score), ("Afval", 0.1), transcript="paspor"))
    assert flow.state == CONFIRMING_DEPARTMENT and not of(actions, Transfer)
    assert play(actions).prompts == ("department-confirm/hoorn/burgerzaken",) and play(actions).barge_in
    # The reply recogniser hears the answer, the municipality as the one asked about.
    assert of(actions, Listen) == [Listen(ListenMode.REPLY, "0229", "Hoorn")]
    attempt = flow.record.attempts[-1]
    assert (attempt.kind, attempt.decision, attempt.reason, attempt.score) == (
        "department", "confirm", "Burgerzaken", score)
    return flow, actions


# Silence after "Waarover belt u?" (Amsterdam, its only municipality) and after "Over …?"
# (Hoorn's Burgerzaken, heard likely): the general line, once the no-input timer runs out.
@pytest.mark.parametrize("asked, general_line, path", [
    (lambda service: choosing(service), "PJSIP/amsterdam@trunks", "direct"),
    (lambda service: asked_about_burgerzaken(service), "PJSIP/hoorn@trunks", "spoken"),
])
def test_silence_after_a_department_question_reaches_the_general_line(service, asked, general_line, path):
    flow, actions = asked(service)
    [timer] = of(flow.handle(PromptDone(play(actions).play_id)), StartTimer)
    assert timer.ms == service.listen.no_input_ms
    actions = flow.handle(Timeout(timer.timer_id))
    assert transfer(actions).trunk == general_line
    assert (flow.record.attempts[-1].kind, flow.record.attempts[-1].decision, flow.record.path) == (
        "department", "timeout", path)


def test_a_likely_department_is_asked_about_from_the_confirm_bar_up_to_the_department_bar(service):
    asked_about_burgerzaken(service, service.thresholds.department_confirm)
    flow, _ = hoorn_choosing(service)
    actions = flow.handle(department(("Burgerzaken", service.thresholds.department)))
    assert transfer(actions).department == "Burgerzaken"  # sure: no question


@pytest.mark.parametrize("answer", [Reply(True), Dtmf("1")])
def test_a_ja_or_key_1_to_the_question_about_a_department_puts_through_to_it(service, answer):
    flow, _ = asked_about_burgerzaken(service)
    actions = flow.handle(answer)
    assert transfer(actions) == Transfer("Hoorn", "PJSIP/hoorn-bz@trunks", "PJSIP/hoorn@trunks", "Burgerzaken")
    assert (flow.record.department, flow.record.trunk, flow.record.outcome) == (
        "Burgerzaken", "PJSIP/hoorn-bz@trunks", "transferred")
    assert [(a.decision, a.reason) for a in flow.record.attempts[-2:]] == [
        ("confirm", "Burgerzaken"), ("yes", "Burgerzaken")]
    assert flow.done


@pytest.mark.parametrize("answer, decision", [
    (Reply(False), "no"),
    (Reply(None), "unclear"),             # not understood: no second question, not even with the keys
    (Reply(None, cut_off=True), "unclear"),
    (Reply(False, correction=said("nee Medemblik", ("Medemblik", 0.9)).recognition), "no"),  # no name taken here
    (Dtmf("2"), "no"),
    (Dtmf("3"), "digit"),                 # any other key: no ja
    (RecognitionFailed("error"), "error"),  # its reason: what failed
])
def test_anything_but_a_ja_to_the_question_about_a_department_is_the_general_line(service, answer, decision):
    flow, _ = asked_about_burgerzaken(service)
    actions = flow.handle(answer)
    assert transfer(actions) == Transfer("Hoorn", "PJSIP/hoorn@trunks", "PJSIP/regio@trunks", None)
    assert not of(actions, Play) and not of(actions, Listen)  # one question at most
    assert flow.record.department is None and flow.record.trunk == "PJSIP/hoorn@trunks"
    assert (flow.record.attempts[-1].kind, flow.record.attempts[-1].decision, flow.record.attempts[-1].reason) == (
        "department", decision, "error" if decision == "error" else GENERAL)


def test_speech_over_the_question_about_a_department_stops_it_and_a_ja_follows(service):
    flow, _ = asked_about_burgerzaken(service)
    actions = flow.handle(SpeechStarted())
    assert of(actions, StopPlayback) and of(actions, StartTimer)  # the backstop
    assert transfer(flow.handle(Reply(True))).department == "Burgerzaken"


def test_a_caller_who_hangs_up_at_the_question_about_a_department_abandoned_it(service):
    flow, _ = asked_about_burgerzaken(service)
    flow.handle(HungUp())
    assert (flow.record.outcome, flow.record.abandoned_at) == ("abandoned", CONFIRMING_DEPARTMENT)


@pytest.mark.parametrize("key, trunk, chosen", [
    ("3", "PJSIP/amsterdam-parkeren@trunks", "Parkeren"),
    ("0", "PJSIP/amsterdam@trunks", None),   # the general line, as the prompt says
    ("7", "PJSIP/amsterdam@trunks", None),   # no department's key: never a dead end
    ("#", "PJSIP/amsterdam@trunks", None),
])
def test_keys_choose_a_department_or_the_general_line(service, key, trunk, chosen):
    flow, _ = choosing(service)
    actions = flow.handle(Dtmf(key))
    assert transfer(actions).trunk == trunk and flow.record.department == chosen
    assert of(actions, StopPlayback)  # the question stops at once
    assert flow.record.attempts[-1].decision == "digit"


def test_speech_over_the_question_stops_it_and_a_stuck_recogniser_reaches_the_general_line(service):
    flow, _ = choosing(service)
    actions = flow.handle(SpeechStarted())
    assert of(actions, StopPlayback)
    [backstop] = of(actions, StartTimer)
    actions = flow.handle(Timeout(backstop.timer_id))
    assert transfer(actions).trunk == "PJSIP/amsterdam@trunks"
    assert flow.record.attempts[-1].decision == "error"


def test_a_failed_recogniser_reaches_the_general_line_not_the_menu(service):
    flow, _ = choosing(service)
    actions = flow.handle(RecognitionFailed("error"))
    assert transfer(actions).trunk == "PJSIP/amsterdam@trunks" and not of(actions, Play)


def test_a_reply_at_the_department_question_is_ignored(service):
    flow, _ = choosing(service)
    assert flow.handle(Reply(True)) == [] and flow.state == CHOOSING


def test_a_caller_who_hangs_up_at_the_question_abandoned_it(service):
    flow, _ = choosing(service)
    flow.handle(HungUp())
    assert (flow.record.outcome, flow.record.abandoned_at) == ("abandoned", CHOOSING)


def test_a_department_said_with_the_name_is_put_through_without_the_question(service):
    flow = CallFlow(service, "140229")
    flow.start()
    actions = flow.handle(said("Ik moet mijn paspoort verlengen in Hoorn.", ("Hoorn", 0.9)))
    assert transfer(actions).department == "Burgerzaken" and not of(actions, Play)


def test_a_department_said_with_a_name_counts_once_the_name_is_confirmed(service):
    flow = CallFlow(service, "140229")
    flow.start()
    flow.handle(said("grofvuil in hoorne", ("Hoorn", 0.6), decision="confirm"))
    actions = flow.handle(Reply(True))
    assert transfer(actions) == Transfer("Hoorn", "PJSIP/hoorn-afval@trunks", "PJSIP/hoorn@trunks", "Afval")


@pytest.mark.parametrize("transcript", [
    "paspoort of afval in Hoorn",   # two departments: which one is not ours to guess
    "paspor Hoorn",                 # a phrase only near: whisper's words alone are not sure enough
])
def test_a_department_not_plainly_said_with_the_name_is_asked_about(service, transcript):
    flow = CallFlow(service, "140229")
    flow.start()
    flow.handle(said(transcript, ("Hoorn", 0.9)))
    assert flow.state == CHOOSING


def test_the_keypad_menu_leads_to_the_department_question(service):
    flow = CallFlow(service, "140229")
    flow.start()
    flow.handle(Dtmf("5"))  # a key during the question: the menu
    actions = flow.handle(Dtmf("1"))
    assert flow.state == CHOOSING and play(actions).prompts == ("department/hoorn",)
    assert flow.record.path == "keypad"


def test_the_areas_default_goes_to_the_general_line_without_the_question(service):
    flow = CallFlow(service, "140229")
    flow.start()
    flow.record.attempts.clear()
    flow.handle(Dtmf("5"))
    for _ in range(service.listen.menu_attempts):
        actions = flow.handle(Dtmf("8"))  # wrong keys only
    assert flow.record.path == "default" and flow.state != CHOOSING
    assert play(actions).prompts == ("default/hoorn",)


def test_an_english_caller_with_an_english_line_goes_there_without_the_question(write_yaml):
    service = load_service(write_yaml(CONFIG.replace(
        "    trunk: PJSIP/amsterdam@trunks\n", "    trunk: PJSIP/amsterdam@trunks\n    english: PJSIP/amsterdam-en@trunks\n")))
    flow = CallFlow(service, "140229")  # a shared area: key 9 there, then the menu
    flow.start()
    assert flow.handle(Dtmf("9")) and flow.record.language == "en"
    flow = CallFlow(service, "14020")
    assert flow.start() and flow.state == CHOOSING  # Dutch, Amsterdam: the question
    flow.record.language = "en"
    assert transfer(flow._transfer("Amsterdam", "direct")).trunk == "PJSIP/amsterdam-en@trunks"


# ---- the report ----

def test_the_report_counts_where_the_department_questions_callers_went(service):
    from fourteenplus import report, report_html

    records = []
    for answer in (Dtmf("3"), Dtmf("3"), Dtmf("0")):
        flow, _ = choosing(service)
        flow.handle(answer)
        records.append(flow.record)
    records.append(CallFlow(service, "140229").record)  # never asked
    built = report.build(records)
    amsterdam = built.to_dict()["by_municipality"]["Amsterdam"]
    assert (amsterdam["department_asked"], amsterdam["departments"]) == (3, {"Parkeren": 2, "general": 1})
    assert "  Amsterdam: asked 3: Parkeren 2, general line 1" in report.as_table(built)
    assert "Amsterdam: asked 3: Parkeren 2, general line 1" in report_html.render(built)


def test_the_report_counts_the_departments_reached_after_a_ja_to_over(service):
    from fourteenplus import report

    records = []
    for answer in (Reply(True), Reply(False)):
        flow, _ = asked_about_burgerzaken(service)
        flow.handle(answer)
        records.append(flow.record)
    flow, _ = hoorn_choosing(service)
    flow.handle(department(("Burgerzaken", 0.95)))  # sure: put through without the question
    records.append(flow.record)
    hoorn = report.build(records).to_dict()["by_municipality"]["Hoorn"]
    assert (hoorn["departments"], hoorn["departments_confirmed"]) == ({"Burgerzaken": 2, "general": 1},
                                                                      {"Burgerzaken": 1})
    assert "  Hoorn: asked 3: Burgerzaken 2 (1 confirmed), general line 1" in report.as_table(report.build(records))
