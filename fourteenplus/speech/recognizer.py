"""Audio → how well each of an area's phrases explains it, plus what whisper heard freely.

Free transcription by whisper base on 8 kHz speech is weak (it hears "Gohrenrand" for
Koggenland), and a prompt listing the names gets copied into the output. So the
transcript is only one voice here; the decision rests on scoring the area's closed set:

1. The clip is trimmed to the speech found in it (`vad.Spoken`: by the endpointer that cut the
   utterance, or over a whole clip no endpointer cut); no voiced speech → nothing.
2. One encoder pass over a short window: the speech plus a margin, rounded up to a bucket
   (2–8 s). Far cheaper than whisper's 30 s and, since the phrases are teacher-forced rather
   than generated, free of the repetition loops short windows cause.
3. A bounded greedy transcription (no prompt, so nothing to copy): the matcher's unbiased
   text evidence. (As a rival "something else was said", scored like the phrases, it and a
   set of non-answers such as "ik weet het niet" separated negatives no better on the tune
   split than the text evidence does, and each costs an align: see bench/recognition.md.)
4. Each candidate phrase is scored with `Whisper.align` (its per-token probabilities): official
   names in a short (" Koggenland.") and, when the speech is long enough to hold one, a
   carrier-sentence form; villages and aliases in the short form. Raw log-probabilities favour short, common texts; we subtract a share of each
   text's log-probability under a null window (line noise), which measures how much the
   *audio* raised it: a pointwise mutual information.
5. Only when that leaves doubt (the speech service decides; a `Clip` keeps the encoded
   window and the scores so far): a second bounded greedy transcription with the area's
   phrases (names, aliases, villages) as whisper's previous-text prompt, and the villages it
   picks scored as in 4. Biased on purpose: it spells a village whisper would otherwise
   garble ("Klaasmoren" → "Blasmolen"), so it picks which villages are worth scoring, and
   its one named municipality is evidence the policy weighs. It often copies the prompt
   ("Hoorn, Drechterland."), which the matcher treats as no evidence.

The result (`Heard`) is scores, not a decision: the matcher decides.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from . import audio, vad
from .model import LoadedModel
from .trie import Trie

HOP = 160  # 16 kHz samples per mel frame (10 ms)
# Mel frames; a window never grows past the last. Both the encoder and every
# scored text cost in proportion to the window, so the steps are fine.
BUCKETS = (200, 300, 400, 500, 650, 800)
CARRIER = " Ik wil graag de gemeente {} bellen."
SHORT = " {}."
# Whisper's stock inventions on quiet or noisy audio (subtitle credits, sign-offs). A
# transcript that is one of these is no evidence of speech.
_HALLUCINATION = re.compile(
    r"amara|ondertitel|ondertiteling|bedankt voor het kijken|tot de volgende keer|abonneer|"
    r"thanks for watching|subtitles|copyright|www\.|\.com|\.nl\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Tuning:
    # Set on the tune split (bench/recognition.md): see there before changing them.
    prior_weight: float = 0.8  # share of the null-window log-probability subtracted (PMI at 1.0)
    max_tokens: int = 16  # greedy transcription bound, start tokens included: a loop costs at most this
    # Tokens the primed transcription may add after its prompt: shorter bounds picked villages
    # and named municipalities no worse on the tune split, and every token costs time
    # (bench/recognition.md, second pass); this leaves room for a long carrier sentence before
    # the name.
    prompted_tokens: int = 12
    # Whisper reads at most this much previous text (half its 448-token context); a longer
    # prompt keeps its end, as whisper's own decoding does.
    prompt_limit: int = 223
    # Speech shorter than this holds no carrier sentence: its names are scored alone, which
    # saves the longer text (the carrier form never scored best below it on the tune callers:
    # bench/recognition.md, sixth pass).
    carrier_min_s: float = 1.5
    # A national number's trie search (`search`): the prefixes extended at each depth. On the
    # first 10 national tune callers a beam of 30 ranked no more municipalities first for about
    # twice the cost; on 60, a beam of 5 lost one caller of 50 (bench/dialogue.md).
    search_beam: int = 10
    # ... and the tokens it extends them to at most (a longer phrase scores as its prefix).
    search_depth: int = 4


@dataclass
class Heard:
    """What the recogniser found in one clip: input to the matcher."""

    transcript: str
    speech: bool
    phrase_scores: dict[str, float]  # phrase text → calibrated log-score (higher is better)
    no_speech_prob: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    prompted: str = ""  # the transcription with the area's phrases as prompt (biased: see above)
    seconds: float = 0.0  # of speech: a name is short, a sentence about something else is not
    # How sure whisper is of its own free transcript: the mean log-probability of its tokens.
    # People who talk about something else are heard as clear words; a name whisper does not
    # know comes out garbled and unsure.
    clarity: float = 0.0


@dataclass
class Clip:
    """One utterance while the recogniser works on it: the encoded window and what was found
    so far, so that a later stage (the primed transcription, more phrases) only pays for
    what is new. No encoded window when there was no speech."""

    started: float  # perf_counter at the start: `total_ms` counts from here
    timings: dict[str, float]
    seconds: float = 0.0  # of speech
    encoded: object = None
    frames: int = 0
    bucket: int = 0
    transcript: str = ""
    no_speech_prob: float = 1.0
    clarity: float = 0.0  # the free transcript's mean token log-probability (`Heard.clarity`)
    prompted: str = ""
    # P(the free transcript opens with the word `clip(opening=…)` asked about), whatever
    # whisper wrote first (`Recognizer.transcribe`); 0 when none was asked about.
    opens: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)  # scored text → calibrated log-score
    searched: tuple[str, ...] = ()  # a national number's phrases as the trie search ranked them (`search`)

    @property
    def speech(self) -> bool:
        return self.encoded is not None


def is_hallucination(text: str) -> bool:
    return bool(_HALLUCINATION.search(text))


def _bucket(frames: int) -> int:
    return next((b for b in BUCKETS if frames <= b), BUCKETS[-1])


class Recognizer:
    """Holds the loaded model; safe for as many threads at once as the model has replicas
    (`model.load(workers=…)`): its caches are filled under a lock, and the model computes
    outside it (two threads may both compute a missing prior; both get the same number)."""

    def __init__(self, model: LoadedModel, tuning: Tuning = Tuning()):
        from faster_whisper.feature_extractor import FeatureExtractor

        self.model = model
        self.tuning = tuning
        self.whisper = model.whisper
        self.tokenizer = model.tokenizer
        self._mel = FeatureExtractor(feature_size=80)
        self._start = [self.tokenizer.sot, self.tokenizer.language, self.tokenizer.transcribe, self.tokenizer.no_timestamps]
        self._null = {b: self._encode(self._null_audio(b), b)[0] for b in BUCKETS}
        self._priors: dict[tuple[str, int], float] = {}
        self._prompts: dict[str, list[int]] = {}
        self._spelled: dict[str, list[int]] = {}  # an opening word → its one-token spellings (`_spellings`)
        self._tries: dict[tuple[str, ...], Trie] = {}
        # The null window's next-token log-probabilities after a trie path: (path, bucket) → token → value.
        self._next_priors: dict[tuple[tuple[int, ...], int], dict[int, float]] = {}
        self._cached = threading.Lock()

    @staticmethod
    def _null_audio(frames: int) -> np.ndarray:
        # Quiet line noise: the window a phrase is scored against when nobody says anything.
        return np.random.default_rng(0).standard_normal(frames * HOP).astype(np.float32) * 0.002

    def _encode(self, pcm16k: np.ndarray, frames: int):
        import ctranslate2

        window = np.zeros(frames * HOP, np.float32)
        used = min(len(pcm16k), len(window))
        window[:used] = pcm16k[:used]
        mel = self._mel(window, padding=0)[:, :frames]
        return self.whisper.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None]))), max(used // HOP, 1)

    def _tokens(self, text: str) -> list[int]:
        return self.tokenizer.encode(text) + [self.tokenizer.eot]

    def _logprobs(self, windows: list, frames: int, texts: list[str]) -> np.ndarray:
        """Sum of log-probabilities of each text (teacher-forced) given its encoded window.

        One `align` call for the whole batch: the clip's texts and the null-window priors
        still missing from the cache (an area's first calls) go together.
        """
        import ctranslate2

        if not texts:
            return np.zeros(0)
        batch = ctranslate2.StorageView.from_array(np.concatenate([np.asarray(w) for w in windows], axis=0))
        results = self.whisper.align(batch, self._start, [self._tokens(t) for t in texts], [frames] * len(texts))
        return np.array([float(np.sum(np.log(np.maximum(r.text_token_probs, 1e-12)))) for r in results])

    def _align(self, encoded, frames: int, bucket: int, texts: list[str]) -> dict[str, float]:
        """Calibrated scores of `texts` against `encoded`."""
        with self._cached:
            missing = [t for t in dict.fromkeys(texts) if (t, bucket) not in self._priors]
        values = self._logprobs([encoded] * len(texts) + [self._null[bucket]] * len(missing), frames, texts + missing)
        with self._cached:  # the first thread's prior stands, so every clip is judged by one
            for t, v in zip(missing, values[len(texts):]):
                self._priors.setdefault((t, bucket), v)
            priors = [self._priors[(t, bucket)] for t in texts]
        weight = self.tuning.prior_weight
        return {t: float(r - weight * prior) for t, r, prior in zip(texts, values[: len(texts)], priors)}

    def transcribe(self, encoded, opening: str = "") -> tuple[str, float, float, float]:
        """The free transcript, whisper's no-speech probability, its mean token log-probability
        and, with an `opening` word, the probability whisper gave that word as the transcript's
        first (its one-token spellings: " Ja", " ja", "Ja"), wherever greedy decoding went. A
        person's "Ja, we zijn al bijna klaar." is written "We zijn een pijn de klaar" with
        P(" Ja") 0.23 beside " We"; nothing else a person said opened with a ja at above 0.02
        (bench/recognition.md, issue 24). Read off the first step's distribution, which the
        decoder computes anyway: no other pass."""
        result = self.whisper.generate(
            encoded, [self._start], beam_size=1, max_length=self.tuning.max_tokens,
            no_repeat_ngram_size=3, return_no_speech_prob=True, return_scores=True,
            return_logits_vocab=bool(opening),
        )[0]
        opens = 0.0
        if opening and result.logits and result.logits[0]:
            logits = np.asarray(result.logits[0][0], dtype=np.float64)
            top = logits.max()
            every = np.exp(logits - top)
            opens = float(every[self._spellings(opening)].sum() / every.sum())
        return (self.tokenizer.decode(result.sequences_ids[0]).strip(), float(result.no_speech_prob),
                float(result.scores[0]), opens)

    def _spellings(self, word: str) -> list[int]:
        """The tokens that spell `word` whole as a transcript's first token (with or without
        the leading space, capitalised or not); a spelling of more tokens is left out, its
        first one being the start of other words too. Tokenised once per word: every reply
        asks for the same one."""
        with self._cached:
            tokens = self._spelled.get(word)
        if tokens is None:
            forms = (" " + word, " " + word.capitalize(), word, word.capitalize())
            tokens = sorted({ids[0] for ids in map(self.tokenizer.encode, forms) if len(ids) == 1})
            with self._cached:
                self._spelled[word] = tokens
        return tokens

    def transcribe_prompted(self, encoded, prompt: str) -> str:
        """Greedy transcription after `prompt` as previous text (whisper's hotword trick)."""
        with self._cached:
            prefix = self._prompts.get(prompt)
        if prefix is None:
            prefix = [self.tokenizer.sot_prev, *self.tokenizer.encode(prompt)[-self.tuning.prompt_limit :], *self._start]
            with self._cached:
                self._prompts[prompt] = prefix
        # CTranslate2 counts the prefix in max_length.
        result = self.whisper.generate(encoded, [prefix], beam_size=1, no_repeat_ngram_size=3,
                                       max_length=len(prefix) + self.tuning.prompted_tokens)[0]
        return self.tokenizer.decode(result.sequences_ids[0]).strip()

    def _next_logprobs(self, windows: list, prompts: list[list[int]], wanted: list[tuple[int, ...]]) -> list[dict[int, float]]:
        """For each prompt (start tokens and forced text), the log-probability of each of its
        `wanted` tokens coming next, given its encoded window: one `generate` call for the batch."""
        import ctranslate2

        forced = max(len(p) for p in prompts) - len(self._start)
        batch = ctranslate2.StorageView.from_array(np.concatenate([np.asarray(w) for w in windows], axis=0))
        # CTranslate2 returns the distribution before each forced token and then each generated
        # one, and counts some steps twice against max_length: this much returns forced + 1 of them.
        results = self.whisper.generate(batch, prompts, beam_size=1, max_length=max(2 * (forced + 1), forced + 4),
                                        return_logits_vocab=True, suppress_blank=False, suppress_tokens=[])
        out = []
        for prompt, result, tokens in zip(prompts, results, wanted):
            logits = np.asarray(result.logits[0][len(prompt) - len(self._start)], dtype=np.float64)
            top = logits.max()
            total = top + np.log(np.exp(logits - top).sum())
            out.append({token: float(logits[token] - total) for token in tokens})
        return out

    def search(self, clip: Clip, phrases: tuple[str, ...], lead: str) -> None:
        """A national number's first stage (`trie`): `phrases` ranked by how well the audio
        explains them after the transcript's `lead` (the words before the name, "Eh, ik wil
        graag"), calibrated against the null window as `_align` is; into `clip.searched`."""
        if not clip.speech:
            return
        mark = time.perf_counter()
        with self._cached:
            trie = self._tries.get(phrases)
        if trie is None:
            trie = Trie.of({p: self.tokenizer.encode(" " + p) for p in phrases})
            with self._cached:
                trie = self._tries.setdefault(phrases, trie)
        before = [*self._start, *(self.tokenizer.encode(" " + lead) if lead else [])]
        weight = self.tuning.prior_weight

        def level(nodes: list[tuple[tuple[int, ...], tuple[int, ...]]]) -> list[dict[int, float]]:
            with self._cached:
                missing = [(path, tokens) for path, tokens in nodes if (path, clip.bucket) not in self._next_priors]
            values = self._next_logprobs(
                [clip.encoded] * len(nodes) + [self._null[clip.bucket]] * len(missing),
                [[*before, *path] for path, _ in nodes] + [[*self._start, *path] for path, _ in missing],
                [tokens for _, tokens in nodes] + [tokens for _, tokens in missing])
            with self._cached:  # as in `_align`: the first thread's prior stands
                for (path, _), v in zip(missing, values[len(nodes):]):
                    self._next_priors.setdefault((path, clip.bucket), v)
                priors = [self._next_priors[(path, clip.bucket)] for path, _ in nodes]
            return [{t: v - weight * prior[t] for t, v in heard.items()} for prior, heard in zip(priors, values)]

        clip.searched = tuple(trie.search(level, self.tuning.search_beam, self.tuning.search_depth))
        clip.timings["search_ms"] = (time.perf_counter() - mark) * 1000

    def clip(self, spoken: vad.Spoken, opening: str = "") -> Clip:
        """The stages every utterance pays for: its speech (as found already) encoded and
        freely transcribed; with an `opening` word, how likely the transcript opens with it
        (`Clip.opens`)."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        if spoken.span is None:
            return Clip(started, timings)
        speech = audio.upsample_8k_to_16k(audio.to_float(spoken.speech))
        bucket = _bucket(len(speech) // HOP + 30)
        mark = time.perf_counter()
        encoded, frames = self._encode(speech, bucket)
        timings["encode_ms"] = (time.perf_counter() - mark) * 1000
        mark = time.perf_counter()
        transcript, no_speech, clarity, opens = self.transcribe(encoded, opening)
        timings["transcribe_ms"] = (time.perf_counter() - mark) * 1000
        return Clip(started, timings, len(spoken.speech) / audio.TELEPHONE_RATE, encoded, frames, bucket, transcript,
                    no_speech, clarity, opens=opens)

    def prime(self, clip: Clip, prompt: str) -> None:
        """The primed transcription of a clip with speech (`prompt`: the area's phrases)."""
        mark = time.perf_counter()
        clip.prompted = self.transcribe_prompted(clip.encoded, prompt)
        clip.timings["prompted_ms"] = (time.perf_counter() - mark) * 1000

    def score(self, clip: Clip, shortlist) -> Heard:
        """The clip's scores for the phrases `shortlist(transcript, prompted, searched) ->
        list[tuple[str, tuple[str, ...]]]` picks, each with the forms to score it in (SHORT, CARRIER). Texts the
        clip was scored on before are not scored again.

        The matcher owns the shortlist and the prompt (it knows the grammar and the
        transcript's words); the recogniser only needs texts to score.
        """
        if not clip.speech:
            return Heard("", False, {}, 1.0, clip.timings)
        mark = time.perf_counter()
        phrases = shortlist(clip.transcript, clip.prompted, clip.searched)
        carrier = clip.seconds >= self.tuning.carrier_min_s
        forms = {p: [form.format(p) for form in templates if carrier or form != CARRIER] for p, templates in phrases}
        missing = [t for ts in forms.values() for t in ts if t not in clip.scores]
        clip.scores.update(self._align(clip.encoded, clip.frames, clip.bucket, missing))
        clip.timings["score_ms"] = clip.timings.get("score_ms", 0.0) + (time.perf_counter() - mark) * 1000
        clip.timings["total_ms"] = (time.perf_counter() - clip.started) * 1000
        return Heard(clip.transcript, True, {p: max(clip.scores[t] for t in ts) for p, ts in forms.items()},
                     clip.no_speech_prob, clip.timings, clip.prompted, clip.seconds, clip.clarity)

    def transcribe_plain(self, samples8k: np.ndarray) -> tuple[str, dict[str, float]]:
        """The baseline: whisper's standard 30 s window, free transcription, no trimming, no biasing."""
        started = time.perf_counter()
        pcm = audio.upsample_8k_to_16k(audio.to_float(samples8k))
        encoded, _ = self._encode(pcm, 3000)
        result = self.whisper.generate(encoded, [self._start], beam_size=5, max_length=448)[0]
        text = self.tokenizer.decode(result.sequences_ids[0]).strip()
        return text, {"total_ms": (time.perf_counter() - started) * 1000}
