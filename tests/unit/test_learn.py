"""Learning under review: proposals from missed calls, accepting writes a valid grammar, and the loop
closes: a phrase rejected before is routed after its alias is accepted."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from fourteenplus import learn, paths
from fourteenplus.callflow import Play, Reply, Transfer, Utterance
from fourteenplus.cli import main
from fourteenplus.errors import ConfigErrors
from fourteenplus.grammar import load_grammars
from fourteenplus.resources import GRAMMARS
from fourteenplus.records import CallerHasher, Row, StoredCall, open_store
from fourteenplus.speech.matcher import Matcher
from fourteenplus_dev.hearing import decide_text

from .record_backends import configuration_with_store
from .scripted_calls import SERVICE, Caller

HASHER = CallerHasher(b"l" * 32)
HOORN, MEDEMBLIK = "1", "2"  # keypad digits of 0229 in the example configuration
PHRASE = "eh de westfriese poort"


def stored(caller: Caller, n: int) -> StoredCall:
    return StoredCall(f"call-{n}", HASHER.hash(caller.record.caller), caller.record)


def missed(n: int, caller: str, transcript: str = PHRASE, digit: str = HOORN) -> StoredCall:
    """A caller not understood twice, who then pressed the key of the municipality they meant."""
    return stored(Caller(caller=caller).mumble(transcript).mumble(transcript.replace("eh ", "")).key(digit), n)


@pytest.fixture
def grammars_dir(tmp_path, monkeypatch):
    folder = tmp_path / "grammars"
    shutil.copytree(GRAMMARS, folder)
    (folder / "learned.yaml").write_text("# Phrases learned from calls.\n# Written by learn.\nlearned: []\n")
    monkeypatch.setenv("FOURTEENPLUS_GRAMMARS", str(folder))
    return folder


def grammars(folder):
    return load_grammars(SERVICE.directory, folder)


def test_a_phrase_missed_then_keyed_is_proposed_with_its_evidence(grammars_dir):
    calls = [missed(1, "0611111111"), missed(2, "0622222222"), missed(3, "+31 6 11111111")]
    [proposal] = learn.propose(calls, grammars(grammars_dir))
    assert (proposal.area_code, proposal.phrase, proposal.municipality) == ("0229", "westfriese poort", "Hoorn")
    assert (proposal.seen, proposal.callers) == (6, 2)  # two utterances a call; +31 6… is 06… again
    assert proposal.examples == (PHRASE, "de westfriese poort")
    assert proposal.id == learn.proposal_id("0229", "Westfriese Poort", "Hoorn")


def test_a_nee_to_the_confirmation_then_a_key_is_evidence_too(grammars_dir):
    calls = [stored(Caller(caller=f"06{i}").say("Medemblik", "de poort", "confirm", 0.6).reply(False)
                    .mumble("de poort").key(HOORN), i) for i in range(3)]
    [proposal] = learn.propose(calls, grammars(grammars_dir))
    assert (proposal.phrase, proposal.municipality, proposal.seen, proposal.callers) == ("poort", "Hoorn", 6, 3)


def test_too_little_evidence_known_phrases_and_spoken_calls_are_not_proposed(grammars_dir):
    g = grammars(grammars_dir)
    assert learn.propose([missed(1, "0611111111")], g) == []  # one caller
    assert learn.propose([missed(i, f"06{i}", "zwaag") for i in range(5)], g) == []  # already a village of Hoorn
    spoken = [stored(Caller(caller=f"06{i}").mumble(PHRASE).say("Hoorn"), i) for i in range(5)]
    assert learn.propose(spoken, g) == []  # reached by speech: the earlier miss proves nothing


def test_a_phrase_that_ends_at_two_municipalities_shows_it(grammars_dir):
    calls = [missed(i, f"06{i}") for i in range(4)] + [missed(9, "0699", digit=MEDEMBLIK)]
    hoorn = next(p for p in learn.propose(calls, grammars(grammars_dir), min_callers=1, min_seen=1)
                 if p.municipality == "Hoorn")
    assert hoorn.elsewhere == {"Medemblik": 2}


def test_accepting_writes_the_documented_format_keeping_the_header(grammars_dir):
    calls = [missed(i, f"06{i}") for i in range(3)]
    [proposal] = learn.propose(calls, grammars(grammars_dir))
    path = learn.accept(proposal, "j.jansen", SERVICE.directory, grammars_dir, dt.date(2025, 3, 31))
    assert path.read_text() == (
        "# Phrases learned from calls.\n# Written by learn.\nlearned:\n"
        '  - phrase: "westfriese poort"\n    municipality: "Hoorn"\n    areas: ["0229"]\n'
        '    reviewed_by: "j.jansen"\n    reviewed_on: 2025-03-31\n    seen: 6\n    callers: 3\n')
    [phrase] = [p for p in grammars(grammars_dir).area("0229").phrases if p.kind == "learned"]
    assert (phrase.text, phrase.municipality) == ("westfriese poort", "Hoorn")


def test_the_same_phrase_learned_in_a_second_area_widens_the_entry(grammars_dir):
    first = learn.Proposal("a", "0229", "stadhuis", "Medemblik", 4, 3, ())
    learn.accept(first, "j.jansen", SERVICE.directory, grammars_dir)
    other_area = next(code for code in SERVICE.directory.municipalities["Medemblik"].area_codes if code != "0229")
    learn.accept(learn.Proposal("b", other_area, "Stadhuis", "Medemblik", 2, 2, ()), "p.pietersen",
                 SERVICE.directory, grammars_dir)
    text = (grammars_dir / "learned.yaml").read_text()
    assert text.count("- phrase") == 1 and f'areas: ["0229", "{other_area}"]' in text
    assert "seen: 6" in text and "callers: 5" in text and '"p.pietersen"' in text


def test_an_alias_that_would_break_the_grammars_is_not_written(grammars_dir):
    before = (grammars_dir / "learned.yaml").read_text()
    clash = learn.Proposal("x", "0229", "stadhuis", "Hoorn", 5, 5, ())
    learn.accept(clash, "j.jansen", SERVICE.directory, grammars_dir)
    with pytest.raises(ConfigErrors, match="would route to both"):
        learn.accept(learn.Proposal("y", "0229", "stadhuis", "Opmeer", 5, 5, ()), "j.jansen",
                     SERVICE.directory, grammars_dir)
    assert "Opmeer" not in (grammars_dir / "learned.yaml").read_text()
    assert before != (grammars_dir / "learned.yaml").read_text()  # the first, valid one stays


def test_the_loop_closes_unsure_before_routed_after_acceptance(grammars_dir):
    accept, confirm = SERVICE.thresholds.accept, SERVICE.thresholds.confirm

    def recognise(transcript):
        g = grammars(grammars_dir)  # what the app does on its next reload
        return decide_text(Matcher(g.area("0229"), g.elsewhere("0229")), transcript, accept, confirm)

    before = recognise(PHRASE)
    assert before.decision != "accept"
    calls = [missed(i, f"06{i}") for i in range(3)]
    [proposal] = learn.propose(calls, grammars(grammars_dir))
    learn.accept(proposal, "j.jansen", SERVICE.directory, grammars_dir)
    after = recognise(PHRASE)
    assert (after.decision, after.municipality) == ("accept", "Hoorn")
    # An alias is asked about however sure (only a municipality's own name transfers at
    # once): the learned one now brings "Bedoelt u Hoorn?", where before it got "again".
    caller = Caller()
    actions = caller.flow.handle(Utterance(after))
    assert [a.prompts for a in actions if isinstance(a, Play)] == [("confirm/hoorn",)]
    actions = caller.flow.handle(Reply(True))
    assert [a for a in actions if isinstance(a, Transfer)][0].municipality == "Hoorn"
    assert caller.record.path == "confirmed"


def test_learn_command_lists_accepts_and_rejects(grammars_dir, tmp_path, monkeypatch, capsys):
    config, settings = configuration_with_store(tmp_path, monkeypatch)
    store = open_store(settings)
    for i in range(3):
        store.insert(Row.of(missed(i, f"061234567{i}").record, HASHER))
        store.insert(Row.of(missed(i, f"061234567{i}", "eh het poortje", MEDEMBLIK).record, HASHER))
    assert main(["learn", "--config", str(config)]) == 0
    listing = capsys.readouterr().out
    poort = learn.proposal_id("0229", "westfriese poort", "Hoorn")
    poortje = learn.proposal_id("0229", "poortje", "Medemblik")
    assert f"{poort}  0229  'westfriese poort' → Hoorn: seen 6 times from 3 callers" in listing
    assert f"{poortje}  0229  'poortje' → Medemblik" in listing

    assert main(["learn", "--config", str(config), "--accept", poort, "--by", "j.jansen"]) == 0
    assert "accepted" in capsys.readouterr().out
    assert main(["learn", "--config", str(config), "--reject", poortje, "--by", "j.jansen"]) == 0
    assert main(["check", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["learn", "--config", str(config)]) == 0
    assert "no proposals" in capsys.readouterr().out  # one accepted (now in the grammar), one rejected
    assert main(["learn", "--config", str(config), "--accept", "deadbeef"]) == 1
    assert "no proposal 'deadbeef'" in capsys.readouterr().err


def test_an_installation_does_not_learn_into_its_packages_own_grammars(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(paths, "CHECKOUT", None)
    config, _ = configuration_with_store(tmp_path, monkeypatch)
    before = (GRAMMARS / "learned.yaml").read_text()
    assert main(["learn", "--config", str(config), "--accept", "any", "--by", "j.jansen"]) == 1
    assert "set FOURTEENPLUS_GRAMMARS" in capsys.readouterr().err
    assert (GRAMMARS / "learned.yaml").read_text() == before
