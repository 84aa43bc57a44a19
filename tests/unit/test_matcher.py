"""The matcher's text side (normalisation, aliases, homonyms, out-of-area) and its decision
bands over hand-made scores; no model is loaded here."""

from dataclasses import dataclass

import pytest

from fourteenplus.speech import policy
from fourteenplus.speech.matcher import ABOUT_FILLERS, Calibration, Matcher, content
from fourteenplus.speech.policy import FEATURES, Policy

NAMES = FEATURES["names"]
from fourteenplus.speech.recognizer import CARRIER, SHORT, Heard
from fourteenplus_dev.hearing import decide_text


@dataclass(frozen=True)
class P:
    text: str
    municipality: str
    kind: str = "name"


@dataclass(frozen=True)
class G:
    code: str
    municipalities: tuple
    phrases: tuple


AREA_0229 = G("0229", ("Hoorn", "Medemblik", "Drechterland", "Opmeer", "Koggenland"), (
    P("Hoorn", "Hoorn"), P("Medemblik", "Medemblik"), P("Drechterland", "Drechterland"),
    P("Opmeer", "Opmeer"), P("Koggenland", "Koggenland"),
    P("Zwaag", "Hoorn", "village"), P("Wognum", "Medemblik", "village"), P("Hoogkarspel", "Drechterland", "village"),
))
ELSEWHERE = (P("Amsterdam", "Amsterdam"), P("'s-Hertogenbosch", "'s-Hertogenbosch"),
             P("Den Bosch", "'s-Hertogenbosch", "alias"), P("Velp", "Rheden", "village"))
AREA_0486 = G("0486", ("Land van Cuijk",), (P("Land van Cuijk", "Land van Cuijk"), P("Velp", "Land van Cuijk", "village")))


# A hand-set policy, so the bands below do not move when the fitted one is refitted: the lead
# over the runner-up in nats, the transcript's likeness to the name, and the primed
# transcription naming it (alone) raise confidence.
# How much of the speech is a name weighs nothing here; the tests of that evidence set it.
POLICY = Policy(weights=(1.0, 0.0, 4.0, -4.0, -2.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0), bias=-3.0)


def heard(transcript="", scores=None, speech=True, no_speech=0.0, prompted="", seconds=0.0, clarity=0.0):
    return Heard(transcript, speech, dict(scores or {}), no_speech, prompted=prompted, seconds=seconds,
                 clarity=clarity)


@pytest.fixture
def matcher():
    return Matcher(AREA_0229, ELSEWHERE, policy=POLICY)


def test_content_drops_carrier_words_and_folds():
    assert content("Eh, ik wil graag de gemeente Koggenland bellen.") == "koggenland"
    assert content("Met 's-Hertogenbosch, alstublieft") == "s hertogenbosch"


def test_a_phrase_of_filler_words_is_not_dropped_from_its_own_grammar():
    replies = G("reply", ("yes", "no"), (P("ja", "yes"), P("jawel", "yes"), P("nee", "no")))
    evidence = Matcher(replies, policy=POLICY, primed=False).evidence(heard("Ja.", {"ja": 1.0, "nee": 0.0}))
    assert evidence["yes"]["text_top"] == 1.0 and evidence["no"]["text_top"] == 0.0
    # Around a municipality's name "ja" stays a filler.
    assert Matcher(AREA_0229, ELSEWHERE, policy=POLICY).evidence(heard("Ja, Hoorn.", {"Hoorn": 1.0}))["Hoorn"]["text_top"] == 1.0


def test_text_match_finds_a_village_for_its_municipality(matcher):
    candidates, outside = matcher.text_match("Ik wil graag Zwaag.")
    assert candidates[0].municipality == "Hoorn" and candidates[0].phrase == "Zwaag"
    assert outside is None


def test_a_name_from_another_area_is_out_of_area(matcher):
    assert matcher.text_match("Amsterdam graag")[1] == "Amsterdam"
    assert matcher.text_match("gemeente Den Bosch")[1] == "'s-Hertogenbosch"
    assert matcher.text_match("Amsterdam Amsterdam Amsterdam")[1] == "Amsterdam"
    result = decide_text(matcher, "Amsterdam", 0.8, 0.55)
    assert result.decision == "reject" and result.reason == "out_of_area"


def test_homonyms_resolve_by_area():
    # Velp in 0486 is Land van Cuijk; elsewhere (026) it is Rheden, which is not this area's concern.
    candidates, outside = Matcher(AREA_0486, (), policy=POLICY).text_match("Velp")
    assert candidates[0].municipality == "Land van Cuijk" and outside is None


def test_shortlist_has_every_name_with_its_carrier_and_only_the_nearest_villages():
    matcher = Matcher(AREA_0229, ELSEWHERE, Calibration(near_limit=1), policy=POLICY)
    shortlist = matcher.shortlist("Ik wil Wognum")
    assert shortlist[:5] == [(name, (SHORT, CARRIER))
                             for name in ("Hoorn", "Medemblik", "Drechterland", "Opmeer", "Koggenland")]
    assert shortlist[5:] == [("Wognum", (SHORT,))]


DEPARTMENTS = G("departments", ("Burgerzaken", "Afval", "general"), (
    P("paspoort", "Burgerzaken"), P("afval", "Afval"), P("ik weet het niet", "general"), P("hallo", "general")))


@pytest.fixture
def about():
    """A department question's matcher: its phrases also in the words said around them."""
    return Matcher(DEPARTMENTS, policy=POLICY, primed=False, carrier=False, fillers=ABOUT_FILLERS, around=True)


@pytest.mark.parametrize("transcript, form", [
    ("Ik heb een vraag over de belastingen.", " Ik heb een vraag over de {}."),
    ("Ik wil iemand van burgerzaken spreken.", " Ik wil iemand van {} spreken."),
    ("Eh, voor paspoorten graag!", " Eh, voor {} graag."),
    ("Paspoort.", None),  # nothing around it: the short form is that
    ("Ik heb een vraag.", None),  # nothing but the words around: no place for a phrase
])
def test_a_department_phrase_is_scored_in_the_words_said_around_it(about, transcript, form):
    assert about.said_around(transcript) == form
    assert dict(about.shortlist(transcript))["paspoort"] == ((SHORT, form) if form else (SHORT,))


def test_braces_whisper_writes_around_a_phrase_are_words_not_a_place(about):
    assert about.said_around("{Eh} over afval").format("paspoort") == " {Eh} over paspoort."


def test_the_words_around_a_department_are_no_evidence_against_it(about):
    for transcript, department in (("Ik heb een vraag over mijn paspoort.", "Burgerzaken"),
                                   ("Ik bel over afval", "Afval"),
                                   # a phrase of the general line made of them is what was said
                                   ("Hallo?", "general")):
        top = about.text_match(transcript)[0][0]
        assert (top.municipality, top.score) == (department, 1.0)


def test_shortlist_takes_villages_from_the_primed_transcription_when_there_is_one():
    matcher = Matcher(AREA_0229, ELSEWHERE, Calibration(near_limit=1), policy=POLICY)
    # Whisper unprimed heard "Volk de luiker"; primed with the area's phrases it spelt the village.
    assert matcher.shortlist("Volk de luiker", "Hoogkarspel.")[5:] == [("Hoogkarspel", (SHORT,))]


def test_the_prompt_lists_every_phrase_once(matcher):
    assert matcher.prompt == " Hoorn, Medemblik, Drechterland, Opmeer, Koggenland, Zwaag, Wognum, Hoogkarspel."


def test_what_the_primed_transcription_names(matcher):
    assert matcher.named("Eh, de gemeente Wognum graag.") == {"Medemblik"}
    assert matcher.named("Hoorn, Drechterland.") == {"Hoorn", "Drechterland"}  # a copied prompt
    assert matcher.named("Ik weet het niet.") == set()
    one = matcher.evidence(heard("", {"Hoorn": 1.0, "Opmeer": 0.0}, prompted="Hoorn."))
    assert (one["Hoorn"]["prompt_agree"], one["Opmeer"]["prompt_other"], one["Hoorn"]["prompt_copy"]) == (1.0, 1.0, 0.0)
    copied = matcher.evidence(heard("", {"Hoorn": 1.0, "Opmeer": 0.0}, prompted="Hoorn, Opmeer."))["Hoorn"]
    assert (copied["prompt_agree"], copied["prompt_other"], copied["prompt_copy"]) == (0.0, 0.0, 1.0)


def test_a_copied_prompt_is_no_evidence_but_one_name_is(matcher):
    scores = {"Hoorn": 1.0, "Opmeer": 0.0}
    alone = matcher.decide(heard("Hoorn", scores, prompted="Hoorn."), 0.8, 0.55).candidates[0].score
    copied = matcher.decide(heard("Hoorn", scores, prompted="Hoorn, Medemblik, Opmeer."), 0.8, 0.55).candidates[0].score
    other = matcher.decide(heard("Hoorn", scores, prompted="Opmeer."), 0.8, 0.55).candidates[0].score
    assert other < copied < alone


def test_decision_bands(matcher):
    accept = matcher.decide(heard("Hoorn", {"Hoorn": 10.0, "Opmeer": -10.0}), 0.8, 0.55)
    assert (accept.decision, accept.municipality, accept.reason) == ("accept", "Hoorn", "match")
    close = matcher.decide(heard("Hoorn", {"Hoorn": 0.0, "Opmeer": -0.5}), 0.8, 0.55)
    assert (close.decision, close.municipality) == ("confirm", "Hoorn")
    tie = matcher.decide(heard("", {"Hoorn": 0.0, "Opmeer": 0.0}), 0.8, 0.55)
    assert tie.decision == "reject" and tie.municipality is None


def test_confidence_is_the_policy_probability_and_ranks_candidates(matcher):
    clip = heard("Hoorn", {"Hoorn": 2.0, "Opmeer": 0.0})
    result = matcher.decide(clip, 0.8, 0.55)
    assert [c.municipality for c in result.candidates] == ["Hoorn", "Opmeer"]
    evidence = matcher.evidence(clip)
    assert (evidence["Hoorn"]["margin"], evidence["Opmeer"]["margin"], evidence["Hoorn"]["text_top"]) == (2.0, -2.0, 1.0)
    assert result.candidates[0].score == pytest.approx(POLICY.probability(evidence["Hoorn"]), abs=1e-4)
    assert all(0.0 <= c.score <= 1.0 for c in result.candidates)


def test_phrases_of_one_municipality_count_with_the_best(matcher):
    result = matcher.decide(heard("Zwaag", {"Hoorn": -3.0, "Zwaag": 4.0, "Opmeer": 0.0}), 0.8, 0.55)
    assert result.municipality == "Hoorn" and result.candidates[0].phrase == "Zwaag"


def test_unlike_transcript_and_no_speech_lower_confidence(matcher):
    scores = {"Hoorn": 1.0, "Opmeer": 0.0}
    like = matcher.decide(heard("Hoorn", scores), 0.8, 0.55).candidates[0].score
    unlike = matcher.decide(heard("ik weet het niet", scores), 0.8, 0.55).candidates[0].score
    quiet = matcher.decide(heard("Hoorn", scores, no_speech=0.9), 0.8, 0.55).candidates[0].score
    assert unlike < like and quiet < like


def test_how_much_of_the_transcript_is_a_name(matcher):
    # The words around a name are fillers: the name is all of what was said.
    assert matcher.name_share("Eh, ik wil graag de gemeente Koggenland bellen.") == (1.0, 1)
    assert matcher.name_share("Opmeer graag") == (1.0, 1)
    garbled, _ = matcher.name_share("Gohrenland")
    sentence, words = matcher.name_share("ik heb een vraag over mijn paspoort")
    assert sentence < 0.3 < garbled < 1.0 and words == 5
    assert matcher.name_share("") == (0.0, 0)


def test_the_evidence_says_how_much_was_said_and_how_clearly_it_was_no_name(matcher):
    scores = {"Hoorn": 1.0, "Opmeer": 0.0}
    name = matcher.evidence(heard("Hoorn", scores, seconds=0.6, clarity=-0.3))["Hoorn"]
    sentence = matcher.evidence(heard("ik heb een vraag over mijn paspoort", scores, seconds=2.5, clarity=-0.3))["Hoorn"]
    assert name["name_share"] == 1.0 and name["clear_other"] == 0.0  # a clear name costs nothing
    assert sentence["words"] > name["words"] and sentence["seconds"] > name["seconds"]
    garbled = matcher.evidence(heard("ik heb een vraag over mijn paspoort", scores, seconds=2.5, clarity=-2.5))["Hoorn"]
    assert 0.0 < garbled["clear_other"] < sentence["clear_other"]


def test_a_policy_that_weighs_the_name_share_doubts_a_sentence_about_something_else():
    weighing = Policy(weights=(1.0, 0.0, 4.0, -4.0, -2.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.0, -6.0), bias=-3.0)
    matcher = Matcher(AREA_0229, ELSEWHERE, policy=weighing)
    scores = {"Hoorn": 3.0, "Opmeer": 0.0}
    name = matcher.decide(heard("Hoorn", scores, clarity=-0.2), 0.99, 0.10)
    sentence = matcher.decide(heard("ik heb een vraag over mijn paspoort", scores, clarity=-0.2), 0.99, 0.10)
    assert sentence.candidates[0].score < name.candidates[0].score


def test_speech_that_names_nothing_is_no_name_and_no_evidence(matcher):
    said = matcher.decide(heard("ik heb een vraag over mijn paspoort", {"Hoorn": 0.0, "Opmeer": -0.5}), 0.99, 0.99)
    assert (said.decision, said.reason, said.ranked) == ("reject", "no_name", ())
    # A name whisper garbled, one word, or a name in a sentence is not understood, not no name.
    for transcript in ("Gohrenland", "hallo", "Opmeer graag"):
        result = matcher.decide(heard(transcript, {"Hoorn": 0.0, "Opmeer": -0.5}), 0.99, 0.99)
        assert result.reason != "no_name" and result.ranked, transcript
    # Without the primed transcription (under load) a name whisper garbled may still be one.
    unprimed = Matcher(AREA_0229, ELSEWHERE, policy=POLICY, primed=False)
    assert unprimed.decide(heard("ik heb een vraag over mijn paspoort", {"Hoorn": 0.0, "Opmeer": -0.5}),
                           0.99, 0.99).reason != "no_name"


# A hand-set gate: long speech that no name covers and no name explains is no name.
GATE = Policy(weights=(0.0, -6.0, 3.0, -0.5), bias=-6.0, features=FEATURES["gate"])
SCORES = {"Hoorn": 3.0, "Opmeer": 0.0}


def test_the_no_name_gate_weighs_how_much_is_a_name_how_long_and_how_well_a_name_explains_the_audio(matcher):
    name = matcher.no_name_evidence(heard("Eh, ik wil graag de gemeente Hoorn bellen.", SCORES, seconds=2.5))
    sentence = matcher.no_name_evidence(heard("Ik heb een vraag over mijn paspoort, mijn paspoort.", SCORES, seconds=2.5))
    assert set(name) == set(FEATURES["gate"])
    assert name["name_share"] == 1.0 > sentence["name_share"] and name["different_words"] < sentence["different_words"]
    assert name["score"] == sentence["score"] == 3.0  # the best phrase's, whatever the words
    # A name whisper repeats in a loop is one word said, not a sentence.
    assert matcher.no_name_evidence(heard("Ooi! Ooi. Ooi", SCORES))["different_words"] == \
        matcher.no_name_evidence(heard("Ooi", SCORES))["different_words"]


def test_speech_the_gate_is_sure_names_nothing_is_asked_for_a_name_whatever_the_policy_says():
    sure = Policy(weights=(9.0,) + (0.0,) * 11, bias=0.0)  # a names model sure of the top municipality
    gated = Matcher(AREA_0229, ELSEWHERE, policy=sure, gate=GATE)
    sentence = heard("Ik heb een vraag over mijn paspoort en mijn rijbewijs.", {"Hoorn": -10.0, "Opmeer": -20.0},
                     seconds=3.5)
    result = gated.decide(sentence, 0.99, 0.10)
    assert (result.decision, result.reason, result.ranked) == ("reject", "no_name", ())
    assert result.candidates[0].score > 0.99  # kept for the record, no evidence
    assert result.no_name == GATE.probability(gated.no_name_evidence(sentence)) > 0.5
    # Without the gate (ja/nee, departments) the same speech is the policy's to judge, and no
    # doubt goes with it.
    ungated = Matcher(AREA_0229, ELSEWHERE, policy=sure).decide(sentence, 0.99, 0.10)
    assert (ungated.decision, ungated.no_name) == ("accept", None)


def test_the_gate_lets_a_name_through_in_a_sentence_short_or_garbled():
    sure = Policy(weights=(9.0,) + (0.0,) * 11, bias=0.0)
    gated = Matcher(AREA_0229, ELSEWHERE, policy=sure, gate=GATE)
    for transcript, seconds, scores in (
            ("Ik wil graag de gemeente Koggenland spreken.", 3.0, {"Koggenland": 1.0, "Hoorn": -8.0}),
            ("Hallo, ik wil graag met de gemeente Hoorn bellen.", 3.5, {"Hoorn": 2.0, "Opmeer": -8.0}),
            ("Gohrenland", 0.8, {"Koggenland": -4.0, "Hoorn": -9.0}),
            ("Je bent aan de beman tev", 1.2, {"Hoorn": -6.0, "Opmeer": -9.0})):
        result = gated.decide(heard(transcript, scores, seconds=seconds), 0.99, 0.10)
        assert result.reason != "no_name" and result.ranked, transcript
        # The gate's doubt, below its bar, goes with the take for the call flow to weigh.
        assert result.no_name is not None and 0.0 < result.no_name <= 0.5, transcript
    # Another area's name, however long and unlike this area's, is out of area, not no name.
    outside = gated.decide(heard("Eh, de gemeente Amsterdam, alstublieft", {"Hoorn": -10.0}, seconds=3.5), 0.99, 0.1)
    assert outside.reason == "out_of_area"


def test_out_of_area_name_heard_clearly_is_rejected_with_that_reason(matcher):
    result = matcher.decide(heard("Amsterdam", {"Hoorn": 5.0, "Opmeer": -6.0}), 0.5, 0.3)
    assert (result.decision, result.reason) == ("reject", "out_of_area")


def test_no_speech_is_nothing(matcher):
    result = matcher.decide(heard(speech=False), 0.8, 0.55)
    assert (result.decision, result.reason, result.candidates) == ("reject", "no_speech", ())


def test_a_hallucinated_transcript_is_no_speech(matcher):
    result = matcher.decide(heard("Ondertitels ingediend door de Amara.org gemeenschap", {"Hoorn": 10.0, "Opmeer": -10.0}),
                            0.8, 0.55)
    assert (result.decision, result.reason) == ("reject", "no_speech")


def test_policy_fit_learns_the_direction_and_round_trips(tmp_path):
    # The label follows the margin; text and no-speech are noise here.
    rng = __import__("numpy").random.default_rng(0)
    rows, labels = [], []
    for _ in range(400):
        margin = float(rng.normal(0, 3))
        rows.append({"margin": margin, "score": float(rng.normal()), "text_top": float(rng.random()),
                     "text_elsewhere": float(rng.random()), "no_speech": float(rng.random()),
                     "prompt_agree": float(rng.random() < 0.3), "prompt_other": float(rng.random() < 0.2),
                     "prompt_copy": float(rng.random() < 0.2), "name_share": float(rng.random()),
                     "words": float(rng.random()), "seconds": float(rng.random()), "clear_other": float(rng.random())})
        labels.append(margin + float(rng.normal(0, 1)) > 0)
    fitted = policy.fit(rows, labels)
    assert fitted.weights[NAMES.index("margin")] > 1.0
    assert fitted.probability(rows[0] | {"margin": 6.0}) > 0.95 > 0.05 > fitted.probability(rows[0] | {"margin": -6.0})
    reply = policy.fit(rows, labels, features=FEATURES["reply"])
    path = tmp_path / "policy.yaml"
    policy.save("names", fitted, {"corpus": "synthetic names"}, path)
    policy.save("reply", reply, {"corpus": "synthetic replies"}, path)
    # Writing one model keeps the other.
    assert Policy.load("names", path) == Policy(tuple(round(w, 6) for w in fitted.weights), round(fitted.bias, 6))
    assert Policy.load("reply", path) == Policy(
        tuple(round(w, 6) for w in reply.weights), round(reply.bias, 6), FEATURES["reply"])
    assert reply.probability(rows[0] | {"margin": 6.0}) > 0.95  # without the prompt features at all


def test_a_policy_file_without_the_model_asked_for_says_how_to_make_it(tmp_path):
    path = tmp_path / "policy.yaml"
    policy.save("names", Policy.neutral("names"), {}, path)
    with pytest.raises(ValueError, match=r"reply: features None .* refit with `fourteenplus bench fit`"):
        Policy.load("reply", path)


def test_a_policy_file_from_before_the_gate_uses_the_shipped_gate(tmp_path):
    path = tmp_path / "policy.yaml"
    for kind in ("names", "unprimed", "reply"):
        policy.save(kind, Policy.load(kind), {}, path)
    assert Policy.load("gate", path) == Policy.load("gate")
    policy.check(path)  # a reload takes it


def test_the_shipped_policy_has_every_model_with_the_matchers_features():
    for kind in FEATURES:
        assert len(Policy.load(kind).weights) == len(FEATURES[kind])


def test_an_unprimed_matcher_has_no_prompt():
    assert Matcher(AREA_0229, ELSEWHERE, policy=POLICY, primed=False).prompt == ""


def test_the_policy_in_force_is_the_file_fourteenplus_policy_names_else_the_shipped_one(tmp_path, monkeypatch):
    shipped = Policy.load("names")
    path = tmp_path / "policy.yaml"
    policy.save("names", Policy.neutral("names"), {"corpus": "the operator's"}, path)
    monkeypatch.setenv("FOURTEENPLUS_POLICY", str(path))
    assert Policy.load("names") == Policy.neutral("names") != shipped
    monkeypatch.delenv("FOURTEENPLUS_POLICY")
    assert Policy.load("names") == shipped


def test_the_gate_is_fitted_below_its_bar_for_every_name_but_the_share_that_looks_least_like_one():
    from fourteenplus.speech.fitting import GATE_NAMES_ASKED, Labelled, fit_gate

    import numpy as np

    rng = np.random.default_rng(1)
    rows = [Labelled({"different_words": rng.uniform(0, 1.5), "name_share": rng.uniform(0.3, 1), "seconds": rng.uniform(0.4, 1.3),
                      "score": rng.normal(-3, 4)}, False, False) for _ in range(200)]
    rows += [Labelled({"different_words": rng.uniform(1, 2.2), "name_share": rng.uniform(0, 0.6), "seconds": rng.uniform(0.8, 1.8),
                       "score": rng.normal(-12, 3)}, False, True) for _ in range(200)]
    every, info = fit_gate(rows, names_asked=0.0)
    assert every.features == FEATURES["gate"]
    assert max(every.probability(row.evidence) for row in rows if not row.negative) < 0.5
    stopped = sum(every.probability(row.evidence) > 0.5 for row in rows if row.negative)
    assert info == {"negatives_stopped": stopped, "negatives": 200, "names": 200, "names_stopped": 0} and 0 < stopped < 200
    # The shipped share: the bar (no margin here) just above the names but the 1.5 % that look
    # least like one, which it stops; every name it spares looks more like one than those.
    gate, shared = fit_gate(rows, margin=0.0)
    names = sorted((row for row in rows if not row.negative), key=lambda row: gate.logit(row.evidence))
    asked = [row for row in names if gate.probability(row.evidence) > 0.5]
    assert asked == names[len(names) - int(GATE_NAMES_ASKED * len(names)):] and shared["names_stopped"] == len(asked) == 3
    assert shared["negatives_stopped"] > stopped  # the people it spares are what the names asked again buy
