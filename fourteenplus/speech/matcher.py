"""Transcript and phrase scores → ranked municipalities and a decision the call flow acts on.

Two sources of evidence meet here:
- the text: the transcript folded (`text.fold`), stripped of what callers say around a
  name ("eh, ik wil graag de gemeente … bellen"), compared with rapidfuzz to the area's
  phrases and to every other area's (a caller on 0229 saying "Amsterdam" is out of area);
- the audio: the recogniser's calibrated score for each shortlisted phrase.

A third comes from the transcription primed with the area's phrases (`prompt`): it picks the
villages and aliases worth scoring, and when it names exactly one municipality that is
evidence for or against the top one; naming two or more is a copied prompt, not speech.

A national number's grammar holds every phrase of the country, too many to score against the
audio: there (`shortlist=K`) only the phrases of the K municipalities whose phrases come
nearest to the transcripts are scored, and the primed transcription is primed with those; on
top of them, the first municipalities of the recogniser's trie search (`Recognizer.search`),
which ranks the country's phrases against the audio itself, however whisper spells them. A
phrase may name places in several municipalities there (Bergen); each of them counts it, and
its candidates say so (`Candidate.shared`).

A municipality counts with its best phrase (Zwaag or Hoorn, for Hoorn). The evidence for it
(that score, its lead over the next municipality, how close the transcript comes to it and
to another area's name, whisper's no-speech probability, what the primed transcription
named) goes through the fitted `policy`: its confidence is the probability that routing
there is right, and the operator's thresholds apply to that.

In front of the policy, where a name is first heard, stands the no-name `gate` (policy.yaml's
`gate`): speech it is sure names nothing (long, many words no name covers, no name explaining
the audio) is asked for a name, reason `no_name`, whatever the policy would have said. It
weighs name-ness only, so the people in its tune data (who never say a name) cannot teach it
that a person's clear voice is no name, as they taught the names model (bench/recognition.md,
seventh and ninth passes); its bar lies above every name of its tune corpora but the 1.5 % that
look least like one (robots' names garbled into a sentence: tenth pass).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from rapidfuzz import fuzz, process

from ..text import fold, phrases_in, sound
from ..vocabulary import Decision, Reason
from . import Candidate, Recognition
from .policy import Policy
from .recognizer import CARRIER, SHORT, Heard, is_hallucination

# Words around a name that carry no name: fillers, politeness, the verbs of asking.
FILLERS = frozenset(
    "eh ehm uh uhm hm ik wil graag de het een gemeente bellen met alstublieft alsjeblieft naar spreken "
    "hebben moet zou willen kunt u mij me verbinden doorverbinden doorverbonden worden goedemorgen "
    "goedemiddag goedenavond dag hallo hoi ja nou even voor van bij in dan".split()
)
# ... and the words around what a call is about, as people answer "Waarover belt u?" ("ik heb
# een vraag over de belastingen", "ik wil iemand van burgerzaken spreken", "over mijn paspoort").
ABOUT_FILLERS = FILLERS | frozenset("over heb bel belt iemand afdeling mijn vraag gaat".split())
# Where whisper ends a sentence: a name it does not know often comes out twice ("Toge land.
# Togeland."), and each sentence alone is nearer to it than the two together.
_SENTENCE_END = re.compile(r"[.!?]+")
# The lead of a municipality with no rival scored (an area of one, ja/nee with only one
# side heard): a clear lead, in nats.
UNSCORED = 30.0


@dataclass(frozen=True)
class Calibration:
    # Villages and aliases scored against the audio: the ones nearest (WRatio) to the primed
    # transcription, however far. A cut-off let almost no spoken village through, and scoring
    # every one costs several times the alignment (bench/recognition.md, second pass).
    near_limit: int = 3
    named: float = 80.0  # ratio at which the primed transcription names a phrase
    out_of_area: float = 88.0  # ratio at which the transcript names another area's municipality
    ambiguous: float = 0.25  # a runner-up this likely makes a rejection "ambiguous"
    # A rejected utterance of at least `no_name_words` content words of which a name covers
    # less than `no_name_share` (`Matcher.name_share`) is speech about something else
    # ("no_name"): the caller is asked for a name, not told they were not understood.
    no_name_words: int = 2
    no_name_share: float = 0.3
    # With a shortlist (a national number): the phrases of a municipality scored at most, and
    # how many phrases rapidfuzz ranks per transcript and key to find the municipalities from.
    per_municipality: int = 2
    nearest: int = 40
    # The municipalities of the trie search's first phrases (`Recognizer.search`), scored on
    # top of the text's: the search hears names whisper cannot spell (bench/dialogue.md).
    searched: int = 3


def content(transcript: str, fillers: frozenset[str] = FILLERS) -> str:
    """The folded transcript without the words around the name."""
    return " ".join(word for word in fold(transcript).split() if word not in fillers)


class Matcher:
    """One area's phrases (and everyone else's, to recognise out-of-area names)."""

    def __init__(self, grammar, elsewhere=(), calibration: Calibration = Calibration(), policy: Policy | None = None,
                 primed: bool = True, carrier: bool = True, shortlist: int | None = None, gate: Policy | None = None,
                 fillers: frozenset[str] = FILLERS, around: bool = False):
        self.grammar = grammar
        self.primed = primed
        # The no-name gate (policy.yaml's `gate`) in front of `policy`: for names as first heard
        # (the speech service's unprimed matcher); None for ja/nee and departments, where a
        # sentence is an answer.
        self.gate = gate
        # None: every official name is scored (an area's handful); K: only the phrases of the K
        # municipalities nearest to the transcripts (a national number's hundreds).
        self.limit = shortlist
        # How each phrase is written when scored against the audio: alone (" Hoorn."), and an
        # official name also in a carrier sentence. (Replies scored also as the start of a
        # longer answer, " Ja,", were told apart no better on the tune callers.)
        self.name_forms: tuple[str, ...] = (SHORT, CARRIER) if carrier else (SHORT,)
        self.other_forms: tuple[str, ...] = (SHORT,)
        # `around`: every phrase is also scored in the words the caller said around it
        # (`said_around`), a carrier sentence of their own.
        self.around = around
        self.calibration = calibration
        self.policy = policy or Policy.load()
        self.by_text = {p.text: p for p in grammar.phrases}
        self._phrases_of: dict[str, list] = {}  # text → its phrases (several: shared)
        for p in grammar.phrases:
            self._phrases_of.setdefault(p.text, []).append(p)
        # text → the municipalities it names (several: shared)
        self._owners = {text: [p.municipality for p in phrases] for text, phrases in self._phrases_of.items()}
        self._keys = [fold(p.text) for p in grammar.phrases]
        keys_of: dict[str, set[str]] = {}
        for p, key in zip(grammar.phrases, self._keys):
            keys_of.setdefault(key, set()).add(p.municipality)
        self._shared = {p.text for p, key in zip(grammar.phrases, self._keys) if len(keys_of[key]) > 1}
        self._sounds = [sound(p.text) for p in grammar.phrases] if shortlist is not None else []
        self._keys_by_municipality: dict[str, list[str]] = {}
        for p, key in zip(grammar.phrases, self._keys):
            self._keys_by_municipality.setdefault(p.municipality, []).append(key)
        self._elsewhere = list(elsewhere)
        self._elsewhere_keys = [fold(p.text) for p in self._elsewhere]
        # A phrase made of nothing but filler words ("ja", in a reply) is what was said there,
        # not the words around it: a "Ja." transcript would otherwise be no evidence for ja.
        # The words around a department stay around it even so (the general line's "een vraag"
        # is heard by the audio): "ik heb een vraag over de belastingen" is about belastingen.
        self._fillers = fillers - {word for p in grammar.phrases if not content(p.text)
                                   for word in fold(p.text).split()}
        self._others = [p.text for p in grammar.phrases if p.kind != "name"]
        self._other_keys = [fold(t) for t in self._others]
        # Whisper's previous-text prompt: every phrase once, as a list a person might have said;
        # none for an unprimed matcher (the recogniser then skips that transcription).
        # A national grammar's whole list would not fit whisper's context: it is primed with its
        # shortlist (`prompt_for`).
        self.prompt = " " + ", ".join(dict.fromkeys(p.text for p in grammar.phrases)) + "." \
            if primed and shortlist is None else ""
        # What the trie search ranks against the audio (`Recognizer.search`), with a shortlist.
        self.searchable = tuple(dict.fromkeys(p.text for p in grammar.phrases)) if shortlist is not None else ()

    def lead(self, transcript: str) -> str:
        """The transcript's words before the name ("Eh, ik wil graag de gemeente"), as
        whisper wrote them: the trie search starts after them. Only filler words count."""
        words = transcript.split()
        return " ".join(words[: self._around(words)])

    def _around(self, words: list[str]) -> int:
        """How many of `words` (as whisper wrote them) are fillers before the first other word."""
        return next((i for i, word in enumerate(words)
                     if not fold(word) or any(part not in self._fillers for part in fold(word).split())), len(words))

    def said_around(self, transcript: str) -> str | None:
        """The filler words the caller said before and after the rest, as whisper wrote them,
        as a form to score a phrase in (" Ik heb een vraag over de {}.", " {} graag."); None
        when there are none, or nothing but them (no place for a phrase)."""
        words = transcript.split()
        before = self._around(words)
        after = self._around(words[::-1])
        if before == len(words) or before + after == 0:
            return None
        around = [word.replace("{", "{{").replace("}", "}}") for word in words]  # words, not places
        return " " + " ".join([*around[:before], "{}", *around[len(words) - after :]]).rstrip(".!?,;: ") + "."

    def prompt_for(self, transcript: str) -> str:
        """The primed transcription's prompt after this free transcript: the area's phrases, or
        with a shortlist the phrases shortlisted from it."""
        if self.limit is None or not self.primed:
            return self.prompt
        return " " + ", ".join(dict.fromkeys(p.text for p in self._nearest(transcript, ""))) + "."

    def _content(self, transcript: str) -> str:
        return content(transcript, self._fillers)

    def _best(self, words: str, keys: list[str]) -> tuple[int, float]:
        if not words or not keys:
            return -1, 0.0
        found = process.extractOne(words, keys, scorer=fuzz.ratio)
        return (found[2], float(found[1])) if found else (-1, 0.0)

    def text_match(self, transcript: str) -> tuple[tuple[Candidate, ...], str | None]:
        """Rapidfuzz over the area's phrases: ranked candidates, and the other area's name if
        the transcript names one more clearly than any phrase of this area. A word whisper
        repeats in a loop ("Amsterdam Amsterdam Amsterdam") counts once."""
        words = " ".join(dict.fromkeys(self._content(transcript).split()))
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

    def shortlist(self, transcript: str, prompted: str = "",
                  searched: tuple[str, ...] = ()) -> list[tuple[str, tuple[str, ...]]]:
        """Phrases worth scoring against the audio, each with the forms to score it in: every
        official name (`name_forms`), then the `near_limit` aliases and villages nearest to the
        primed transcription (the plain one if there is none; `other_forms`): each scored
        text costs time. Scoring every village made short, common ones (Lent, Loenen) win on
        noise in the tune split. With a shortlist, also the first municipalities of the trie
        search's ranking `searched`."""
        if self.limit is not None:
            return [(p.text, self.name_forms if p.kind == "name" else self.other_forms)
                    for p in self._nearest(transcript, prompted, searched)]
        source = prompted or transcript
        words = self._content(source) or fold(source)
        said = self.said_around(transcript) if self.around else None
        forms = self.name_forms + (said,) if said and said not in self.name_forms else self.name_forms
        names = [(p.text, forms) for p in self.grammar.phrases if p.kind == "name"]
        near: list[tuple[str, tuple[str, ...]]] = []
        if words and self._others:
            found = process.extract(words, self._other_keys, scorer=fuzz.WRatio, limit=self.calibration.near_limit)
            near = [(self._others[i], self.other_forms) for _, _, i in found]
        return names + near

    def _nearest(self, transcript: str, prompted: str, searched: tuple[str, ...] = ()) -> list:
        """The shortlist's phrases: rapidfuzz ranks every phrase against each transcript (the
        primed one first, whole and sentence by sentence) twice, by its folded text and by its
        sound (`text.sound`: half of
        the right names whisper garbles are nearer by sound), and each ranking gives its
        first municipalities, `limit` in all, with their best `per_municipality` phrases
        (on the tune callers the two rankings together hold the caller's municipality half as
        often again as either alone: bench/dialogue.md); with no words at all, nothing. Before
        them, the municipalities of the first phrases of the trie search's ranking `searched`
        (`calibration.searched` of them), each with the phrase the search found."""
        assert self.limit is not None
        rankings: list[list[int]] = []
        for source in (prompted, transcript):
            queries = list(dict.fromkeys(
                words for part in (source, *_SENTENCE_END.split(source)) if (words := self._content(part) or fold(part))))
            if queries:
                for fold_as, keys in ((str, self._keys), (sound, self._sounds)):
                    nearness = process.cdist([fold_as(q) for q in queries], keys, scorer=fuzz.ratio).max(axis=0)
                    rankings.append([int(i) for i in (-nearness).argsort(kind="stable")[: self.calibration.nearest]])
        chosen: dict[str, list] = {}
        for text in searched:
            if len(chosen) >= self.calibration.searched:
                break
            for phrase in self._phrases_of[text]:
                chosen.setdefault(phrase.municipality, []).append(phrase)
        limit = self.limit + len(chosen)
        share = -(-self.limit // max(len(rankings), 1))  # each ranking's part of the municipalities
        for ranking in rankings:
            taken = 0
            for index in ranking:
                phrase = self.grammar.phrases[index]
                picked = chosen.get(phrase.municipality)
                if picked is None and taken < share and len(chosen) < limit:
                    chosen[phrase.municipality] = [phrase]
                    taken += 1
                elif picked is not None and phrase not in picked and len(picked) < self.calibration.per_municipality:
                    picked.append(phrase)
        return [phrase for picked in chosen.values() for phrase in picked]

    def named(self, prompted: str) -> set[str]:
        """The municipalities whose phrases the primed transcription contains (each phrase
        against the runs of as many content words, so "de gemeente Kapelle graag" names Kapelle)."""
        return {self.grammar.phrases[i].municipality
                for i in phrases_in(self._content(prompted), self._keys, self.calibration.named)}

    def _by_municipality(self, heard: Heard) -> dict[str, tuple[float, str]]:
        """Each municipality's best scored phrase: (score, text)."""
        best: dict[str, tuple[float, str]] = {}
        for text, score in heard.phrase_scores.items():
            for municipality in self._owners[text]:
                if score > best.get(municipality, (float("-inf"), ""))[0]:
                    best[municipality] = (score, text)
        return best

    def name_share(self, transcript: str) -> tuple[float, int]:
        """How much of what whisper heard is a name of this area, and how many content words it
        heard. The share: the best phrase's likeness to some stretch of the content words
        (rapidfuzz's partial ratio), times the part of them that phrase's length covers. A
        caller who names a municipality says little else (the words around a name are
        dropped as fillers); one with a question about a passport says a sentence of other
        words, which a town's name covers little of."""
        words = self._content(transcript)
        if not words:
            return 0.0, 0
        share = max((fuzz.partial_ratio(key, words) / 100 * min(1.0, len(key) / len(words)) for key in self._keys),
                    default=0.0)
        return share, len(words.split())

    def no_name_evidence(self, heard: Heard, said: tuple[float, int] | None = None) -> dict[str, float]:
        """What the no-name gate weighs: name-ness alone. How many different content words
        (whisper repeats a name it cannot spell, "Ooi! Ooi. Ooi", a person says a sentence),
        how much of them a name covers, how long the speech is, and how well the best scored
        phrase explains the audio. Nothing about how the voice sounds: the callers in its
        tune data who say no name are people and those who say one are robots, and whisper's
        confidence would learn that a clear voice names nothing (bench/recognition.md, seventh
        and ninth passes). `said`: `name_share` of the transcript, when the caller has it."""
        share, _ = said or self.name_share(heard.transcript)
        return {"different_words": math.log1p(len(set(self._content(heard.transcript).split()))), "name_share": share,
                "seconds": math.log1p(heard.seconds),
                "score": max(heard.phrase_scores.values(), default=0.0)}

    def evidence(self, heard: Heard, said: tuple[float, int] | None = None) -> dict[str, dict[str, float]]:
        """Per municipality with a scored phrase: the policy's features if it were the answer.
        `said`: `name_share` of the transcript, when the caller has it."""
        words = self._content(heard.transcript)
        best = self._by_municipality(heard)
        elsewhere = self._best(words, self._elsewhere_keys)[1] / 100
        named = self.named(heard.prompted)
        share, count = said or self.name_share(heard.transcript)
        # How much was said, on a log scale: people who talk about something else say more
        # words for longer. And how clearly whisper heard words that are no name of the area
        # (its confidence in the transcript, times the part no name covers): only as a product,
        # so a name said clearly, which whisper is just as sure of, is not held against anyone.
        about = {"name_share": share, "words": math.log1p(count), "seconds": math.log1p(heard.seconds),
                 "clear_other": math.exp(heard.clarity) * (1.0 - share)}
        features = {}
        for municipality, (score, _) in best.items():
            others = max((s for m, (s, _) in best.items() if m != municipality), default=score - UNSCORED)
            own = max((fuzz.ratio(key, words) for key in self._keys_by_municipality.get(municipality, ())),
                      default=0.0) / 100 if words else 0.0
            features[municipality] = {"margin": score - others, "score": score,
                                      "text_top": own, "text_elsewhere": elsewhere,
                                      "no_speech": heard.no_speech_prob,
                                      "prompt_agree": float(named == {municipality}),
                                      "prompt_other": float(len(named) == 1 and municipality not in named),
                                      "prompt_copy": float(len(named) > 1)} | about
        return features

    def decide(self, heard: Heard, accept: float, confirm: float) -> Recognition:
        # A subtitle credit on a short window means whisper heard no speech worth the name.
        if not heard.speech or is_hallucination(heard.transcript):
            return Recognition.rejected(Reason.NO_SPEECH, heard.transcript, timings=heard.timings)
        _, outside = self.text_match(heard.transcript)
        heard_as = self._by_municipality(heard)
        said = self.name_share(heard.transcript)  # the policy's, the gate's and the no-name rule's
        candidates = tuple(sorted(
            (Candidate(m, round(self.policy.probability(f), 4), heard_as[m][1], heard_as[m][1] in self._shared)
             for m, f in self.evidence(heard, said).items()),
            key=lambda c: -c.score))
        if not candidates:
            return Recognition.rejected(Reason.OUT_OF_AREA if outside else Reason.LOW_CONFIDENCE, heard.transcript,
                                        (), heard.timings)
        # Sure that no name was said: asked for one, the candidates no evidence (`Reason.NO_NAME`).
        # Less sure, the call flow weighs the doubt over the caller's takes (`Recognition.no_name`).
        doubt = None if self.gate is None or outside else self.gate.probability(self.no_name_evidence(heard, said))
        if doubt is not None and doubt > 0.5:
            return Recognition.rejected(Reason.NO_NAME, heard.transcript, candidates, heard.timings, doubt)
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        unsure = Reason.AMBIGUOUS if runner_up >= self.calibration.ambiguous else Reason.LOW_CONFIDENCE
        # Only once the primed transcription had its say (a name whisper garbled in the free
        # transcript may still be one), and never for ja/nee (no primed matcher).
        if self.primed:
            share, count = said
            if share < self.calibration.no_name_share and count >= self.calibration.no_name_words:
                unsure = Reason.NO_NAME
        return replace(banded(heard.transcript, candidates, outside, accept, confirm, unsure, heard.timings),
                       no_name=doubt)


def banded(transcript: str, candidates: tuple[Candidate, ...], outside: str | None, accept: float, confirm: float,
           unsure: str, timings: dict[str, float]) -> Recognition:
    """The single take's verdict on ranked candidates: the top one accepted at `accept`, asked
    about at `confirm`, else rejected (`unsure` says why); never a name heard as another area's."""
    top = candidates[0]
    if outside:
        return Recognition.rejected(Reason.OUT_OF_AREA, transcript, candidates, timings)
    if top.score >= accept:
        return Recognition(transcript, candidates, Decision.ACCEPT, top.municipality, Reason.MATCH, timings)
    if top.score >= confirm:
        return Recognition(transcript, candidates, Decision.CONFIRM, top.municipality, Reason.MATCH, timings)
    return Recognition.rejected(unsure, transcript, candidates, timings)
