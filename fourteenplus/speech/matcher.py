"""Transcript and phrase scores → ranked municipalities and a decision the call flow acts on.

Two sources of evidence meet here:
- the text: the transcript folded (`text.fold`), stripped of what callers say around a
  name ("eh, ik wil graag de gemeente … bellen"), compared with rapidfuzz to the area's
  phrases and to every other area's (a caller on 0229 saying "Amsterdam" is out of area);
- the audio: the recogniser's calibrated score for each shortlisted phrase, and for
  whisper's own reading of the clip, which competes as "something else was said".

The scores become probabilities with a softmax whose temperature was set on the tuning
corpus; a municipality's confidence is the sum over its phrases (Zwaag and Hoorn both vote
for Hoorn). Decisions use the operator's thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from ..text import fold
from . import Candidate, Recognition
from .recognizer import Heard, softmax

# Words around a name that carry no name: fillers, politeness, the verbs of asking.
FILLERS = frozenset(
    "eh ehm uh uhm hm ik wil graag de het een gemeente bellen met alstublieft alsjeblieft naar spreken "
    "hebben moet zou willen kunt u mij me verbinden doorverbinden doorverbonden worden goedemorgen "
    "goedemiddag goedenavond dag hallo hoi ja nou even voor van bij in dan".split()
)
GARBAGE = "\x00garbage"  # the key of whisper's own reading among the competitors


@dataclass(frozen=True)
class Calibration:
    temperature: float = 3.0  # softmax over calibrated log-scores (set on the tune split)
    near: float = 90.0  # WRatio at which a village or alias is worth scoring against the audio
    same_text: float = 85.0  # rapidfuzz partial ratio at which the transcript *is* a phrase, not a rival
    out_of_area: float = 88.0  # ratio at which the transcript names another area's municipality
    ambiguous: float = 0.25  # a runner-up this likely makes a rejection "ambiguous"


def content(transcript: str) -> str:
    """The folded transcript without the words around the name."""
    return " ".join(word for word in fold(transcript).split() if word not in FILLERS)


class Matcher:
    """One area's phrases (and everyone else's, to recognise out-of-area names)."""

    def __init__(self, grammar, elsewhere=(), calibration: Calibration = Calibration()):
        self.grammar = grammar
        self.calibration = calibration
        self.by_text = {p.text: p for p in grammar.phrases}
        self._keys = [fold(p.text) for p in grammar.phrases]
        self._elsewhere = list(elsewhere)
        self._elsewhere_keys = [fold(p.text) for p in self._elsewhere]

    def _best(self, words: str, keys: list[str]) -> tuple[int, float]:
        if not words or not keys:
            return -1, 0.0
        found = process.extractOne(words, keys, scorer=fuzz.ratio)
        return (found[2], float(found[1])) if found else (-1, 0.0)

    def text_match(self, transcript: str) -> tuple[tuple[Candidate, ...], str | None]:
        """Rapidfuzz over the area's phrases: ranked candidates, and the other area's name if
        the transcript names one more clearly than any phrase of this area."""
        words = content(transcript)
        ranked = process.extract(words, self._keys, scorer=fuzz.ratio, limit=None) if words else []
        best: dict[str, Candidate] = {}
        for _, score, index in ranked:
            phrase = self.grammar.phrases[index]
            if phrase.municipality not in best or best[phrase.municipality].score < score / 100:
                best[phrase.municipality] = Candidate(phrase.municipality, score / 100, phrase.text)
        candidates = tuple(sorted(best.values(), key=lambda c: -c.score))
        index, other = self._best(words, self._elsewhere_keys)
        in_area = candidates[0].score * 100 if candidates else 0.0
        outside = self._elsewhere[index].municipality if other >= self.calibration.out_of_area and other > in_area + 5 else None
        return candidates, outside

    def shortlist(self, transcript: str) -> list[str]:
        """Phrases worth scoring against the audio: every official name, then the aliases and
        villages that the transcript comes near. Scoring every village made short, common ones
        (Lent, Loenen) win on noise in the tune split; each scored phrase also costs time."""
        words = content(transcript) or fold(transcript)
        names = [p.text for p in self.grammar.phrases if p.kind == "name"]
        near = []
        if words:
            others = [p.text for p in self.grammar.phrases if p.kind != "name"]
            found = process.extract(words, [fold(t) for t in others], scorer=fuzz.WRatio,
                                    score_cutoff=self.calibration.near, limit=None)
            near = [others[i] for _, _, i in found]
        return names + near

    def decide(self, heard: Heard, accept: float, confirm: float) -> Recognition:
        if not heard.speech:
            return Recognition.rejected("no_speech", timings=heard.timings)
        text_candidates, outside = self.text_match(heard.transcript)
        competitors = dict(heard.phrase_scores)
        words = content(heard.transcript)
        # partial_ratio: whisper on a short window often loops ("Kogenrand. Kogenland. Kogendrand"),
        # and a transcript that contains the phrase is that phrase, not a rival to it.
        transcript_is_phrase = bool(words) and any(
            fuzz.partial_ratio(fold(p), words) >= self.calibration.same_text for p in competitors
        )
        if heard.garbage_score is not None and not transcript_is_phrase:
            competitors[GARBAGE] = heard.garbage_score
        probabilities = softmax(competitors, self.calibration.temperature)
        votes: dict[str, float] = {}
        heard_as: dict[str, tuple[float, str]] = {}
        for text, p in probabilities.items():
            if text == GARBAGE:
                continue
            municipality = self.by_text[text].municipality
            votes[municipality] = votes.get(municipality, 0.0) + p
            if p > heard_as.get(municipality, (-1.0, ""))[0]:
                heard_as[municipality] = (p, text)
        candidates = tuple(sorted((Candidate(m, round(v, 4), heard_as[m][1]) for m, v in votes.items()),
                                  key=lambda c: -c.score))
        if not candidates:
            return Recognition.rejected("out_of_area" if outside else "low_confidence", heard.transcript,
                                        text_candidates, heard.timings)
        top = candidates[0]
        if outside and probabilities.get(GARBAGE, 0.0) >= top.score:
            return Recognition.rejected("out_of_area", heard.transcript, candidates, heard.timings)
        if top.score >= accept:
            return Recognition(heard.transcript, candidates, "accept", top.municipality, "match", heard.timings)
        if top.score >= confirm:
            return Recognition(heard.transcript, candidates, "confirm", top.municipality, "match", heard.timings)
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        reason = "out_of_area" if outside else "ambiguous" if runner_up >= self.calibration.ambiguous else "low_confidence"
        return Recognition.rejected(reason, heard.transcript, candidates, heard.timings)

    def decide_text(self, transcript: str, accept: float, confirm: float, timings=None) -> Recognition:
        """The plain pipeline's decision: rapidfuzz similarity alone, as its confidence."""
        candidates, outside = self.text_match(transcript)
        timings = dict(timings or {})
        if outside or not candidates:
            return Recognition.rejected("out_of_area" if outside else "no_speech", transcript, candidates, timings)
        top = candidates[0]
        if top.score >= accept:
            return Recognition(transcript, candidates, "accept", top.municipality, "match", timings)
        if top.score >= confirm:
            return Recognition(transcript, candidates, "confirm", top.municipality, "match", timings)
        return Recognition.rejected("low_confidence", transcript, candidates, timings)
