"""The soak's pure parts: the mix, where each call must end, and the figures it reports."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from fourteenplus.config import load_service
from fourteenplus.sipp import CallResult, PressKeys, Say, TrunkInvite
from fourteenplus_dev.soak.ceiling import ceiling
from fourteenplus_dev.soak.judging import REFUSED, Expected, expect, judge, mismatch, trunk_user
from fourteenplus_dev.soak.mix import MIX, SURE, UNSURE, Scenario, describe_script, plan
from fourteenplus_dev.soak.phase import Outcome, app_view, concurrency
from fourteenplus_dev.soak.readings import cpu_percent, memory_by_process, proc_stat
from fourteenplus_dev.soak.report import render, write_report
from fourteenplus_dev.soak.run import soak_configs


@pytest.fixture(scope="module")
def test_service(tmp_path_factory):
    """The configuration `soak --start` runs with: the integration tests' SIPp trunks."""
    sure, unsure = soak_configs(tmp_path_factory.mktemp("soak"))
    return load_service(sure), load_service(unsure)


def result(*users, municipality="", ended="Asterisk hung up", heard=True) -> CallResult:
    invites = tuple(TrunkInvite(100.0 + i, user, "0612345678", municipality) for i, user in enumerate(users))
    return CallResult("140229", "0612345678", invites, ended, 90.0, 90.1 if heard else None, (95.0,), 101.0)


def scenario(name: str) -> Scenario:
    return next(s for s in MIX if s.name == name)


# ---- the mix ----

def test_the_plan_keeps_the_weights_exactly_and_only_the_phase_s_callers():
    calls = plan(MIX, SURE, 1000)
    assert len(calls) == 1000
    assert all(SURE in s.phases for s in calls)
    weights = {s: s.weight for s in MIX if SURE in s.phases}
    total = sum(weights.values())
    for s, n in Counter(calls).items():
        assert abs(n - 1000 * weights[s] / total) < 1, s.name
    assert not any(s.latency == "reply" for s in calls), "no confirmation without the confirming configuration"


def test_the_plan_is_the_same_every_run_and_shuffled():
    first = plan(MIX, UNSURE, 200)
    assert first == plan(MIX, UNSURE, 200)
    assert first != sorted(first, key=MIX.index), "callers of one kind must not come in one block"


def test_small_plans_still_add_up():
    assert len(plan(MIX, SURE, 7)) == 7
    assert plan(MIX, SURE, 0) == []


def test_each_phase_mixes_every_kind_of_caller_the_issue_asks_for():
    def kinds(phase):
        out = set()
        for s in MIX:
            if phase not in s.phases:
                continue
            if s.ends == "hung up":
                out.add("hang-up")
            elif s.ends == "message":
                out.add("message")
            elif s.latency:
                out.add(s.latency)
            elif any(isinstance(step, PressKeys) for step in s.script):
                out.add("keys")
            elif not s.script:
                out.add("direct")
        return out
    assert kinds(SURE) == {"direct", "voice", "keys", "message", "hang-up"}
    assert kinds(UNSURE) == {"direct", "reply", "keys", "message", "hang-up"}
    confirmed_by_key = scenario("name, then key 1")
    assert UNSURE in confirmed_by_key.phases and SURE not in confirmed_by_key.phases


# ---- where a call must end ----

def test_the_test_configuration_gives_every_scenario_an_end(test_service):
    sure, unsure = test_service
    for s in MIX:
        assert expect(s, sure) is not None, s.name
    assert unsure.thresholds.accept == 1.0 and sure.thresholds.accept < 1.0


def test_a_refusing_trunk_is_expected_with_its_overflow(test_service):
    sure, _ = test_service
    expected = expect(scenario("direct, trunk busy → overflow"), sure)
    assert expected == Expected(("busy-rotterdam", "regio-rijnmond"), "Asterisk hung up", "Rotterdam")
    assert expect(scenario("direct"), sure).users == ("amsterdam",)


def test_hang_ups_end_with_the_caller_and_no_trunk_except_one_ringing(test_service):
    sure, _ = test_service
    assert expect(scenario("hangs up during the menu"), sure) == Expected((), "caller hung up")
    assert expect(scenario("hangs up while the trunk rings"), sure) == Expected(("noanswer-hulst",),
                                                                                        "caller hung up")


def test_scenarios_the_configuration_cannot_give_are_left_out():
    example = load_service(None)  # the shipped example: 0113 served, no Hulst, Rotterdam's trunk answers
    assert expect(scenario("area not served"), example) is None
    assert expect(scenario("hangs up while the trunk rings"), example) is None
    assert expect(scenario("direct, trunk busy → overflow"), example).users == ("rotterdam",)
    assert expect(scenario("unknown area"), example) == Expected((), REFUSED)


def test_trunk_user_is_the_request_uri_user():
    assert trunk_user("PJSIP/busy-rotterdam@fourteenplus-trunks") == "busy-rotterdam"


# ---- classification ----

KOGGENLAND = Expected(("koggenland",), "Asterisk hung up", "Koggenland")


def test_a_call_at_the_expected_trunk_is_not_lost():
    assert mismatch(KOGGENLAND, result("koggenland", municipality="Koggenland")) is None


def test_a_call_that_fell_back_to_the_default_is_lost_and_says_where_it_went():
    problem = mismatch(KOGGENLAND, result("hoorn", municipality="Hoorn"))
    assert problem and "Hoorn" in problem and "hoorn" in problem


def heard_before_invite(seconds, *users, municipality):
    """A call whose last prompt ended `seconds` before the first INVITE (at 100.0)."""
    call = result(*users, municipality=municipality)
    return CallResult(*(getattr(call, f) for f in ("number", "caller", "invites", "ended", "answered_at",
                                                    "first_audio_at", "speech_ends", "ended_at", "heard")),
                      loud=((90.2, 92.0), (96.0, 100.0 - seconds)))


def test_a_call_put_through_to_the_default_after_hearing_so_is_not_lost_but_counted_apart(test_service):
    sure, _ = test_service
    koggenland = expect(scenario("name"), sure)
    assert koggenland.default == Expected(("hoorn",), "Asterisk hung up", "Hoorn")
    # The announcement "U wordt doorverbonden met Hoorn." ends, and the trunk is dialled.
    assert judge(koggenland, heard_before_invite(0.4, "hoorn", municipality="Hoorn")) == (None, True)
    # The silent default of old: the menu ended a whole menu timeout before the INVITE.
    problem, defaulted = judge(koggenland, heard_before_invite(5.0, "hoorn", municipality="Hoorn"))
    assert "without a word" in problem and not defaulted
    # Anywhere else is lost, announced or not; where the caller asked is simply right.
    assert judge(koggenland, heard_before_invite(0.4, "opmeer", municipality="Opmeer"))[0]
    assert judge(koggenland, heard_before_invite(5.0, "koggenland", municipality="Koggenland")) == (None, False)
    # Hoorn's own callers and the areas of one municipality have no default to fall to.
    assert expect(scenario("name in a sentence"), sure).default is None
    assert expect(scenario("direct"), sure).default is None


def test_the_ceiling_breaks_where_callers_are_sent_to_the_keypad_because_busy():
    c = ceiling([step(5, 700), {**step(10, 710), "busy": 3}], idle_p95=700)
    assert (c["held_up_to"], c["broke_at"]["why"], c["broke_at"]["busy"]) == (5, "callers sent to the keypad (busy)", 3)


def test_a_missing_overflow_or_a_wrong_header_is_lost():
    rotterdam = Expected(("busy-rotterdam", "regio-rijnmond"), "Asterisk hung up", "Rotterdam")
    assert mismatch(rotterdam, result("busy-rotterdam", "regio-rijnmond", municipality="Rotterdam")) is None
    assert mismatch(rotterdam, result("busy-rotterdam", municipality="Rotterdam"))
    assert mismatch(KOGGENLAND, result("koggenland", municipality=""))


def test_a_message_must_be_heard_and_reach_no_trunk_and_the_call_is_never_answered():
    message = Expected((), REFUSED)
    assert mismatch(message, result(ended=REFUSED)) is None
    assert "never heard" in mismatch(message, result(ended=REFUSED, heard=False))
    assert mismatch(message, result("amsterdam", municipality="Amsterdam", ended=REFUSED))
    assert mismatch(message, result()), "answered, then hung up: the caller paid for a refusal"


def test_a_caller_who_meant_to_hang_up_but_was_transferred_is_lost():
    hung_up = Expected((), "caller hung up")
    assert mismatch(hung_up, result(ended="caller hung up", heard=False)) is None
    assert mismatch(hung_up, result("koggenland", municipality="Koggenland"))
    assert mismatch(hung_up, result(ended="SIPp reported a failure (1); see its error log"))


def test_scripts_are_described_for_the_lost_calls_list():
    text = describe_script(scenario("hangs up during the menu"))
    assert text == "wait for the prompt, key 0, hang up 8000 ms after the answer"
    assert describe_script(Scenario("x", "14020", 1, script=(Say("ja"),))) == "say 'ja'"
    assert describe_script(scenario("direct")) == "nothing"


# ---- figures ----

def test_concurrency_counts_calls_up_at_once_over_time():
    # three overlapping calls, then one alone; a call ending as another starts is not overlap
    intervals = [(0.0, 10.0), (2.0, 6.0), (4.0, 8.0), (10.0, 20.0)]
    peak, mean = concurrency(intervals)
    assert peak == 3
    assert mean == pytest.approx((10 + 4 + 4 + 10) / 20, abs=0.05)
    assert concurrency([]) == (0, 0.0)


def step(concurrency, p95, lost=0):
    return {"concurrency": concurrency, "lost": lost, "latency": {"voice": {"n": 10, "p95": p95}}}


def test_the_ceiling_is_the_first_step_slower_than_twice_idle():
    c = ceiling([step(5, 700), step(10, 900), step(20, 1500), step(30, 2600)], idle_p95=700)
    assert c["limit_p95_ms"] == 1400
    assert c["held_up_to"] == 10
    assert c["broke_at"]["concurrency"] == 20 and c["broke_at"]["why"] == "p95 > 2× idle"


def test_the_ceiling_breaks_on_a_lost_call_even_when_fast():
    c = ceiling([step(5, 700), step(10, 710, lost=1)], idle_p95=700)
    assert (c["held_up_to"], c["broke_at"]["why"]) == (5, "calls lost")
    assert ceiling([step(5, 700)], idle_p95=700)["broke_at"] is None


def test_no_steps_no_ceiling_claimed():
    c = ceiling([], idle_p95=700)
    assert (c["steps"], c["held_up_to"], c["broke_at"]) == ([], None, None)
    assert "no steps run." in render({**figures(), "ceiling": c})


def test_cpu_percent_is_per_core_and_leaves_the_others_over():
    first = {"t_s": 0.0, "machine_busy_s": 100.0,
             "app": {"pid": 1, "cpu_s": 10.0, "children_cpu_s": 0.0},
             "harness": {"pid": 2, "cpu_s": 1.0, "children_cpu_s": 1.0}}
    last = {"t_s": 10.0, "machine_busy_s": 115.0,
            "app": {"pid": 1, "cpu_s": 18.0, "children_cpu_s": 0.0},
            "harness": {"pid": 2, "cpu_s": 2.0, "children_cpu_s": 3.0}}
    cpu = cpu_percent(first, last)
    assert cpu == {"app": 80.0, "harness": 30.0, "machine": 150.0, "others": 40.0}
    restarted = {**last, "app": {"pid": 3, "cpu_s": 1.0, "children_cpu_s": 0.0}}
    assert "app" not in cpu_percent(first, restarted), "another process: no difference to take"


def test_proc_stat_reads_this_process():
    reading = proc_stat(os.getpid())
    assert reading["rss_mb"] > 1 and reading["cpu_s"] > 0
    assert proc_stat(2**22 + 12345) is None


def test_memory_is_reported_per_app_process():
    samples = [{"pid": 7, "rss_mb": 500.0}, {"pid": 7, "rss_mb": 540.0}, {"pid": 7, "rss_mb": 520.0},
               {"pid": 9, "rss_mb": 480.0}]
    assert memory_by_process(samples) == [
        {"pid": 7, "rss_start_mb": 500.0, "rss_end_mb": 520.0, "peak_mb": 540.0, "samples": 3},
        {"pid": 9, "rss_start_mb": 480.0, "rss_end_mb": 480.0, "peak_mb": 480.0, "samples": 1}]


def figures(lost_calls=()):
    phase = {"phase": "soak (sure)", "config": "sure", "concurrency": 20, "calls": 3, "lost": len(lost_calls),
             "peak_concurrency": 20, "mean_concurrency": 17.5, "wall_s": 60.0, "calls_per_minute": 3.0,
             "latency": {"voice": {"n": 2, "p50": 690.0, "p95": 812.4, "max": 820.0}, "reply": {"n": 0}},
             "app_utterance_to_transfer_ms": {"n": 2, "p50": 180.0, "p95": 301.0}, "names_confirmed": 1,
             "names": 3, "records_found": 3,
             "answer_to_first_audio_ms": {"n": 0}, "tick_late_ms": {"n": 3, "p50": 0.1, "p95": 0.4, "max": 2.0},
             "cpu_percent": {"app": 120.5, "asterisk": 20.0, "machine": 190.0, "others": 3.0},
             "lost_calls": list(lost_calls)}
    return {"date": "2026-11-23 13:00 UTC", "machine": "test box", "configuration": "service.yaml", "code": "abc1234",
            "command": "fourteenplus soak", "totals": {"calls": 3, "lost": len(lost_calls), "soak_calls": 3,
                                                       "soak_lost": len(lost_calls), "peak_concurrency": 20},
            "idle": {"sure": {"voice": {"n": 2, "p50": 680.0, "p95": 700.0}}},
            "ceiling": {"steps": [20], "limit_p95_ms": 1400.0, "held_up_to": 20, "broke_at": None},
            "phases": [phase], "app_memory": [{"pid": 7, "rss_start_mb": 500.0, "rss_end_mb": 505.0,
                                               "peak_mb": 510.0, "samples": 2}],
            "mix": [{"scenario": "direct", "number": "14020", "script": "nothing",
                     "expected": "Amsterdam via amsterdam; Asterisk hung up", "weight": 12, "phases": ["sure"]}],
            "samples": [{"t_s": 0.0, "calls": 0, "phase": "soak (sure)", "machine_busy_s": 1.0,
                         "app": {"pid": 7, "cpu_s": 3.0, "children_cpu_s": 0.0, "rss_mb": 500.0}}]}


def test_the_report_shows_the_figures_and_keeps_the_prose(tmp_path):
    path = tmp_path / "soak.md"
    path.write_text("# Soak\n\nHow it was measured.\n\n<!-- soak:begin -->\nold\n<!-- soak:end -->\n\nWhat it showed.\n")
    write_report(path, figures())
    text = path.read_text()
    assert text.startswith("# Soak\n\nHow it was measured.") and text.endswith("What it showed.\n")
    assert "old" not in text
    assert "**3 calls, 0 lost**" in text
    assert ("| soak (sure) | 20 | 3 | 0 | 0 | 0 | 20 / 17.5 | 3.0 | 690 / 812 | 180 / 301 | 1 of 3 | – | 0.4 / 2.0 "
            "| 120 / 20 / – / – / 3 |") in text
    assert "held up to 20 at once; no step broke it." in text
    assert "| 7 | 500.0 | 505.0 | 510.0 | 2 |" in text
    assert "Lost calls" not in text
    assert "| direct | 14020 | nothing | Amsterdam via amsterdam; Asterisk hung up | 12 | sure |" in text
    write_report(path, figures())
    assert path.read_text() == text, "a second write replaces the block, it does not add one"


def test_the_report_lists_every_lost_call_with_its_number_and_script(tmp_path):
    lost = {"call": 17, "scenario": "name", "number": "140229", "script": "wait for the prompt, say 'Medemblik'",
            "problem": "got ended at Hoorn", "app": "path default, outcome transferred"}
    text = render(figures([lost]))
    assert ("- soak (sure) call 17: 140229 (name: wait for the prompt, say 'Medemblik'): got ended at Hoorn; "
            "the app: path default, outcome transferred") in text
    assert "**3 calls, 1 lost**" in text
    assert '"t_s"' not in text, "the samples are a table, not repeated as JSON"


def test_a_name_is_timed_only_when_the_app_put_it_through_on_the_name():
    from fourteenplus.records import Attempt, CallRecord

    name = scenario("name")
    spoken = Outcome(1, name, result("koggenland", municipality="Koggenland"), None,
                          CallRecord("140229", path="spoken"))
    confirmed = Outcome(2, name, spoken.result, None, CallRecord("140229", path="confirmed", attempts=[
        Attempt("name", "confirm", "Koggenland", transcript="Kogenland"), Attempt("reply", "yes", "Koggenland")]))
    assert spoken.timed("voice") and not spoken.timed("reply")
    assert not confirmed.timed("voice"), "a confirmation's INVITE follows the ja, not the name"
    assert not Outcome(3, name, spoken.result, "lost", spoken.record).timed("voice")
    reply = Outcome(4, scenario("name, then ja"), spoken.result, None, None)
    assert reply.timed("reply")
    assert app_view(confirmed.record) == ("path confirmed, outcome None, attempts: "
                                               "name confirm Koggenland 'Kogenland'; reply yes Koggenland")
    assert app_view(None) == "no record of the call in the app's store"


def test_a_caller_who_hangs_up_right_after_the_name_may_find_its_trunk_dialled():
    example = load_service(None)
    expected = expect(scenario("hangs up right after the name"), example)
    for ended in (result(ended="caller hung up", heard=False), result("koggenland", ended="caller hung up")):
        assert judge(expected, ended) == (None, False)
    assert judge(expected, result("hoorn", ended="caller hung up"))[0], "another municipality's trunk is lost"
