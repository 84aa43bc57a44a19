"""Transcript and phrase scores → ranked municipalities and a decision the call flow acts on.

Two sources of evidence meet here:
- the text: the transcript folded (`text.fold`), stripped of what callers say around a
  name ("eh, ik wil graag de gemeente … bellen"), compared with rapidfuzz to the area's
  phrases and to every other area's (a caller on 0229 saying "Amsterdam" is out of area);
- the audio: the recogniser's calibrated score for each shortlisted phrase.

A municipality counts with its best phrase (Zwaag or Hoorn, for Hoorn). The evidence for it
(that score, its lead over the next municipality, how close the transcript comes to it and
to another area's name, whisper's no-speech probability) goes through the fitted
`policy`: its confidence is the probability that routing there is right, and the operator's
thresholds apply to that.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from ..text import fold
from . import Candidate, Recognition
from .policy import Policy
from .recognizer import Heard, is_hallucination

# Words around a name that carry no name: fillers, politeness, the verbs of asking.
FILLERS = frozenset(
    "eh ehm uh uhm hm ik wil graag de het een gemeente bellen met alstublieft alsjeblieft naar spreken "
    "hebben moet zou willen kunt u mij me verbinden doorverbinden doorverbonden worden goedemorgen "
    "goedemiddag goedenavond dag hallo hoi ja nou even voor van bij in dan".split()
)
# The lead of a municipality with no rival scored (an area of one, ja/nee with only one
# side heard): a clear lead, in nats.
UNSCORED = 30.0


@dataclass(frozen=True)
class Calibration:
    near: float = 90.0  # WRatio at which a village or alias is worth scoring against the audio
    near_limit: int = 3  # villages and aliases scored at most (each costs an align)
    out_of_area: float = 88.0  # ratio at which the transcript names another area's municipality
    ambiguous: float = 0.25  # a runner-up this likely makes a rejection "ambiguous"


def content(transcript: str) -> str:
    """The folded transcript without the words around the name."""
    return " ".join(word for word in fold(transcript).split() if word not in FILLERS)


class Matcher:
    """One area's phrases (and everyone else's, to recognise out-of-area names)."""

    def __init__(self, grammar, elsewhere=(), calibration: Calibration = Calibration(), policy: Policy | None = None):
        self.grammar = grammar
        self.calibration = calibration
        self.policy = policy or Policy.load()
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
        the transcript names one more clearly than any phrase of this area. A word whisper
        repeats in a loop ("Amsterdam Amsterdam Amsterdam") counts once."""
        words = " ".join(dict.fromkeys(content(transcript).split()))
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

    def shortlist(self, transcript: str) -> list[tuple[str, bool]]:
        """Phrases worth scoring against the audio, each with whether to score its carrier
        sentence too: every official name (with), then the aliases and villages that the
        transcript comes near (without: each scored text costs time), at most `near_limit`
        of them. Scoring every village made short, common ones (Lent,
        Loenen) win on noise in the tune split."""
        words = content(transcript) or fold(transcript)
        names = [(p.text, True) for p in self.grammar.phrases if p.kind == "name"]
        near = []
        if words:
            others = [p.text for p in self.grammar.phrases if p.kind != "name"]
            found = process.extract(words, [fold(t) for t in others], scorer=fuzz.WRatio,
                                    score_cutoff=self.calibration.near, limit=None)
            near = [(others[i], False) for _, _, i in found[: self.calibration.near_limit]]
        return names + near

    def _by_municipality(self, heard: Heard) -> dict[str, tuple[float, str]]:
        """Each municipality's best scored phrase: (score, text)."""
        best: dict[str, tuple[float, str]] = {}
        for text, score in heard.phrase_scores.items():
            if score > best.get(self.by_text[text].municipality, (float("-inf"), ""))[0]:
                best[self.by_text[text].municipality] = (score, text)
        return best

    def evidence(self, heard: Heard) -> dict[str, dict[str, float]]:
        """Per municipality with a scored phrase: the policy's features if it were the answer."""
        words = content(heard.transcript)
        best = self._by_municipality(heard)
        elsewhere = self._best(words, self._elsewhere_keys)[1] / 100
        features = {}
        for municipality, (score, _) in best.items():
            others = max((s for m, (s, _) in best.items() if m != municipality), default=score - UNSCORED)
            own = max((fuzz.ratio(fold(p.text), words) for p in self.grammar.phrases
                       if p.municipality == municipality), default=0.0) / 100 if words else 0.0
            features[municipality] = {"margin": score - others, "score": score,
                                      "text_top": own, "text_elsewhere": elsewhere,
                                      "no_speech": heard.no_speech_prob}
        return features

    def decide(self, heard: Heard, accept: float, confirm: float) -> Recognition:
        # A subtitle credit on a short window means whisper heard no speech worth the name.
        if not heard.speech or is_hallucination(heard.transcript):
            return Recognition.rejected("no_speech", heard.transcript, timings=heard.timings)
        _, outside = self.text_match(heard.transcript)
        heard_as = self._by_municipality(heard)
        candidates = tuple(sorted(
            (Candidate(m, round(self.policy.probability(f), 4), heard_as[m][1]) for m, f in self.evidence(heard).items()),
            key=lambda c: -c.score))
        if not candidates:
            return Recognition.rejected("out_of_area" if outside else "low_confidence", heard.transcript,
                                        (), heard.timings)
        top = candidates[0]
        if top.score >= accept and not outside:
            return Recognition(heard.transcript, candidates, "accept", top.municipality, "match", heard.timings)
        if top.score >= confirm and not outside:
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
