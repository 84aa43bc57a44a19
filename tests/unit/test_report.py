"""Report figures computed from records the call flow produced, in table, JSON and HTML."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from fourteenplus import report, report_html
from fourteenplus.cli import main
from fourteenplus.config import load_service
from fourteenplus.records import CallerHasher, Row, open_store
from fourteenplus.vocabulary import Timing

from .record_backends import configuration_with_store
from .scripted_calls import DAY, SERVICE, T0, Caller, FakeSpeech, converse, every_path, like_2020, utterance


def test_every_path_lands_in_exactly_one_route_and_outcome():
    total = report.build(every_path().values()).to_dict()["total"]
    assert total["calls"] == 14 and total["asked"] == 10
    assert total["routes"] == {"first": 4, "one_repeat": 1, "more_repeats": 0, "keypad": 1, "default": 1,
                               "hung_up_question": 2, "hung_up_menu": 1, "not_connected": 0, "no_choice": 0}
    assert total["outcomes"] == {"transferred": 6, "hung_up_transfer": 1, "overflow": 1, "failed": 1,
                                 "abandoned": 3, "rejected_number": 1, "not_served": 1}
    assert (total["confirmations"], total["confirmations_no"]) == (2, 0)
    assert total["transfers"] == 9


def test_every_figure_of_the_report_is_filled_by_some_call(write_yaml):
    """A figure no call can fill (a timing key nobody writes, a route nothing reaches) shows
    as null for ever: every one must be filled by the calls that can happen."""
    def spoken(session, channel):
        session.heard(channel.listening, utterance(8000))

    by_session = converse(FakeSpeech({8000: "Koggenland"}), spoken).session.flow.record
    by_session.dial_status = "ANSWER"
    example = open(SERVICE.source, encoding="utf-8").read()
    unserved = load_service(write_yaml(example.replace("[Deventer, Olst-Wijhe, Voorst, Dalfsen]",
                                                       "[Deventer, Olst-Wijhe]"), "unserved.yaml"))
    no_default = load_service(write_yaml(example.replace("    default: Hoorn\n", ""), "no-default.yaml"))
    calls = [by_session, *every_path().values(), *like_2020(),
             Caller("140570", service=unserved).say("Dalfsen").record,
             Caller(service=no_default).silence().silence().silence().silence().silence().record,
             Caller().say("Opmeer", decision="confirm").reply(False).record]
    data = report.build(calls).to_dict()["total"]
    assert set(data["median_ms"]) == set(report.LATENCIES)
    figures = {**{f"median {k}": v for k, v in data["median_ms"].items()},
               **{f"route {k}": v for k, v in data["routes"].items()},
               **{k: data[k] for k in ("confirmations_no", "hung_up_transfer")}}
    assert [name for name, value in figures.items() if not value] == []


def test_the_2020_evaluation_reproduced_from_records_gives_its_figures():
    data = report.build(like_2020()).to_dict()
    shares = data["total"]["route_shares"]
    assert (shares["first"], shares["one_repeat"], shares["more_repeats"], shares["keypad"]) == (0.85, 0.10, 0.03, 0.02)
    assert data["total"]["hung_up_transfer_share"] == 0.05
    assert data["total"]["median_ms"][Timing.ANSWER_TO_INVITE] == 4000.0
    assert data["by_area"]["0229"]["route_shares"]["first"] == 0.85
    hoorn = data["by_municipality"]["Hoorn"]
    assert (hoorn["calls"], hoorn["routes"]["first"], hoorn["routes"]["keypad"]) == (44, 42, 2)
    assert data["by_municipality"]["Koggenland"]["route_shares"]["one_repeat"] == 1.0
    assert data["days"] == {day: {"calls": 20, "reached": 19} for day in
                            ("2025-02-19", "2025-02-20", "2025-02-21", "2025-02-22", "2025-02-23")}


def test_a_nee_to_the_confirmation_is_counted_said_or_keyed():
    calls = [Caller().say("Opmeer", decision="confirm").reply(False).say("Hoorn").record,
             Caller().say("Opmeer", decision="confirm").key("2").say("Hoorn").record,
             Caller().say("Opmeer", decision="confirm").reply(True).record,
             Caller().say("Opmeer", decision="confirm").key("1").record]
    total = report.build(calls).to_dict()["total"]
    assert (total["confirmations"], total["confirmations_no"], total["confirmations_no_share"]) == (4, 2, 0.5)
    assert total["routes"]["one_repeat"] == 2 and total["routes"]["first"] == 2


def test_a_silence_before_the_name_is_not_a_repeat():
    record = Caller().silence().say("Hoorn").record
    assert record.path == "spoken_repeat" and report.route(record) == "first"


def test_days_are_amsterdam_days():
    late = dt.datetime(2025, 3, 3, 23, 30, tzinfo=dt.timezone.utc).timestamp()  # 00:30 on 4 March in NL
    assert list(report.build([Caller(started_at=late).hang_up().record]).days) == ["2025-03-04"]


def test_the_period_covers_whole_local_days():
    since, until = report.period(dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    assert dt.datetime.fromtimestamp(since, report.TZ).isoformat() == "2025-03-01T00:00:00+01:00"
    assert dt.datetime.fromtimestamp(until, report.TZ).isoformat() == "2025-04-01T00:00:00+02:00"


def test_the_table_shows_the_figures_next_to_the_national_ones():
    table = report.as_table(report.build(like_2020()))
    lines = {line.split("  ")[0].strip(): line for line in table.splitlines()}
    assert lines["all calls"].split()[:8] == ["all", "calls", "100", "100", "85.0", "%", "10.0", "%"]
    assert "5.0 %" in lines["all calls"] and "4.0 s" in lines["all calls"]
    assert lines["national 2020"].split() == ["national", "2020", "85.0", "%", "10.0", "%", "3.0", "%", "5.0", "%"]


def test_the_html_is_self_contained_and_carries_the_figures():
    html = report_html.render(report.build(like_2020()))
    assert 'data-figure="total.first">85.0 %<' in html and 'data-figure="national.first">85.0 %<' in html
    assert "default-src 'none'" in html
    for outside in ("http://", "https://", "<script", "<link", "@import", "url("):
        assert outside not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


@pytest.fixture
def filled(tmp_path, monkeypatch):
    """A configuration whose store holds the 2020-like calls (0229) plus two 020 calls and
    one 0229 call outside the period."""
    config, settings = configuration_with_store(tmp_path, monkeypatch)
    store, hasher = open_store(settings), CallerHasher(b"r" * 32)
    calls = like_2020() + [Caller("14020", started_at=T0 + DAY).dialled("ANSWER").record,
                           Caller("14020", started_at=T0 + DAY).dialled("CHANUNAVAIL").record,
                           Caller(started_at=T0 + 10 * DAY).hang_up().record]
    for record in calls:
        store.insert(Row.of(record, hasher))
    return config


def test_report_command_json_for_a_period_and_area(filled, capsys):
    assert main(["report", "--config", str(filled), "--since", "2025-02-19", "--until", "2025-02-23",
                 "--area", "0229", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["period"] == {"since": "2025-02-19", "until": "2025-02-23"} and data["areas"] == ["0229"]
    assert data["total"]["calls"] == 100 and data["total"]["route_shares"]["first"] == 0.85
    assert data["national_2020"]["figures"]["first"] == 0.85


def test_report_command_without_filters_sees_every_call(filled, capsys):
    assert main(["report", "--config", str(filled), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"]["calls"] == 103
    assert data["by_area"]["020"]["outcomes"] == {"failed": 1, "transferred": 1}
    assert data["by_area"]["0229"]["routes"]["hung_up_question"] == 1


def test_report_command_writes_html_to_a_file(filled, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", "--config", str(filled), "--format", "html", "--out", str(out)]) == 0
    assert "103 calls" in capsys.readouterr().err
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_report_command_refuses_a_period_that_ends_before_it_starts(filled, capsys):
    assert main(["report", "--config", str(filled), "--since", "2025-03-02", "--until", "2025-03-01"]) == 2
    assert "is after" in capsys.readouterr().err


def test_a_cluster_report_counts_both_nodes_and_shows_each(tmp_path, monkeypatch, capsys):
    config, settings = configuration_with_store(tmp_path, monkeypatch)
    store = open_store(settings)
    for node, name in [("node-a", "Hoorn"), ("node-b", "Opmeer"), ("node-b", "Hoorn")]:
        monkeypatch.setenv("FOURTEENPLUS_NODE", node)
        store.insert(Row.of(Caller(started_at=T0).say(name).record, CallerHasher(b"r" * 32)))
    assert main(["report", "--config", str(config), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"]["calls"] == 3
    assert {node: f["calls"] for node, f in data["by_node"].items()} == {"node-a": 1, "node-b": 2}
    assert calls_by_label(capsys, config, "--node", "node-b") == {"all calls": "2"}
    assert calls_by_label(capsys, config) == {"all calls": "3", "node node-a": "1", "node node-b": "2"}


def calls_by_label(capsys, config, *options) -> dict[str, str]:
    """The table's call counts of the total and node lines, by their label."""
    assert main(["report", "--config", str(config), *options]) == 0
    words = [line.split() for line in capsys.readouterr().out.splitlines()]
    return {" ".join(w[:2]): w[2] for w in words if w[:1] == ["node"] or w[:2] == ["all", "calls"]}
