"""`fourteenplus corpus DIR`: a telephone-quality test corpus of spoken municipality names.

espeak-ng speaks each utterance (Dutch voices and variants, and other languages' voices
reading the Dutch text for accents; with `--voices mbrola`, MBROLA's diphone voices, which
sound more like people), sox band-limits it to 300–3400 Hz at 8 kHz, then we
add line noise or background babble at a realistic level and pass it through G.711. About
one clip in six is a negative that must not be routed: silence, a cough-like burst,
"ik weet het niet", a name from another area.

The two splits share nothing but the names: `tune` and `eval` use different voices,
variants, carrier phrases, noise seeds and accents, so a recogniser tuned on `tune` is
measured on speech it has not met. DIR gets the clips and `manifest.csv`
(file,area_code,expected), the format `fourteenplus bench recognition` reads.

With `--repeats` every clip gets a second take, as when the caller hears "Dat verstond ik
niet": the same voice says the same thing again, slower, often without the words around
the name, on the same kind of line. Its row names the first take in `repeat_of`. The
repeats draw from a random stream of their own, so the first takes are the same clips
with or without them.
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import people

SEED_AREAS = ("0229", "0113", "0570", "024", "055")
MBROLA_ROOT = Path("/usr/share/mbrola")


@dataclass(frozen=True)
class Voices:
    dutch: tuple[str, ...]
    accent: tuple[str, ...]  # other languages' voices reading the Dutch text


@dataclass(frozen=True)
class Split:
    seed: int
    # By family: espeak-ng's own formant voices, and MBROLA's diphone voices (cut from
    # recordings of people, so closer to a caller; Debian contrib/non-free, see `make
    # bench-voices`). An MBROLA voice that lacks a diphone espeak-ng asks for says silence
    # there: nl1 lacks most of Dutch's (whisper got 19 % of its names right), tr1 and es2
    # many; nl3 lacks some of the G's (27 of the 178 seed phrases and carriers have a gap),
    # so it speaks the tune split and the complete nl2 the held-out eval split.
    voices: dict[str, Voices]
    carriers: tuple[str, ...]
    negatives: tuple[str, ...]
    # Answers to "Bedoelt u Hoorn?" by what they mean ({} is another municipality's name).
    replies: dict[str, tuple[str, ...]]
    # Answers to "Waarover belt u?" ({} is a department's phrase), and the callers' shares
    # that name a department there (the others say one of `negatives` or `topic_negatives`,
    # never one that names a department of theirs: "ik bel over mijn paspoort" is an answer).
    topics: tuple[str, ...] = ("{}",)
    topic_share: float = 0.7
    topic_negatives: tuple[str, ...] = ()


SPLITS = {
    "tune": Split(
        seed=11,
        voices={"espeak": Voices(("nl", "nl+m1", "nl+f2", "nl+m3", "nl+klatt", "nl+Andy", "nl+Annie"),
                                 ("en-us", "de", "fr-fr", "tr")),
                "mbrola": Voices(("mb-nl3",), ("mb-de4", "mb-us1"))},
        carriers=("{}", "{}", "gemeente {}", "eh, ik wil graag de gemeente {} bellen", "{} graag", "ik wil {} spreken"),
        negatives=("ik weet het niet", "hallo", "eh", "ik bel over mijn paspoort"),
        replies={"yes": ("ja", "ja", "jawel", "ja hoor", "klopt", "ja graag", "dat klopt"),
                 "no": ("nee", "nee", "nee hoor", "neen", "nee, dat klopt niet", "nee, ik bedoel {}"),
                 "none": ("eh", "wat zei u?", "hallo")},
        # The sentences people answer in, as much as the bare word (issue 28).
        topics=("{}", "{}", "over {}", "ik bel over {}", "eh, {}", "de {}", "voor {}", "ik heb een vraag over {}",
                "ik wil iemand van {} spreken"),
        topic_negatives=("ik heb een vraag", "ik wil iemand spreken", "dat weet ik niet precies"),
    ),
    "eval": Split(
        seed=29,
        voices={"espeak": Voices(("nl+f3", "nl+m4", "nl+m6", "nl+f4", "nl+klatt3", "nl+Alicia", "nl+Mike", "nl+grandma"),
                                 ("en-gb", "pl", "es", "id", "ar")),
                "mbrola": Voices(("mb-nl2",), ("mb-fr1", "mb-pl1", "mb-en1"))},
        carriers=("{}", "{}", "de gemeente {}", "ik moet de gemeente {} hebben", "met {} alstublieft",
                  "eh {}", "goedemorgen, ik wil graag {}"),
        negatives=("weet ik niet", "hallo, hoort u mij", "uh", "ik wil een afspraak maken", "geen idee"),
        replies={"yes": ("ja", "ja", "ja, dat klopt", "jazeker", "ja hoor", "jawel", "ja, dat is goed", "klopt"),
                 "no": ("nee", "nee", "nee hoor", "neen", "nee, niet die", "nee dat klopt niet", "nee, ik bedoel {}"),
                 "none": ("uh", "hallo?", "wat zegt u?", "pardon?")},
        topics=("{}", "{}", "over mijn {}", "een vraag over {}", "{} graag"),
    ),
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, help="directory to write the clips and manifest.csv into")
    parser.add_argument("--split", choices=sorted(SPLITS), default="eval")
    parser.add_argument("--count", type=int, default=400, help="number of clips (default 400)")
    parser.add_argument("--areas", default=",".join(SEED_AREAS), help="comma-separated area codes")
    parser.add_argument("--repeats", action="store_true", help="give every clip a second take (the caller asked again)")
    parser.add_argument("--voices", choices=("espeak", "mbrola"), default=None,
                        help="espeak-ng's own voices (the default, except for --callers: both), "
                             "or MBROLA's diphone voices through espeak-ng")
    parser.add_argument("--replies", action="store_true",
                        help='answers to "Bedoelt u …?" instead of names: area code "reply", expected yes, no or none')
    parser.add_argument("--national", action="store_true",
                        help="with --callers: callers of a national number (area code `national`), each naming any "
                             "municipality of the country or one of its places; --areas is ignored")
    parser.add_argument("--callers", action="store_true",
                        help="whole callers for `bench dialogue` (callers.csv): a first and a second take, a ja "
                             "and a nee, each in the caller's own voice and line; espeak-ng's and MBROLA's voices "
                             "unless --voices names one family")
    parser.add_argument("--people", type=Path, metavar="HUMAN_DIR",
                        help="with --callers: callers made of people who name no municipality, from the human "
                             "corpus `shared/tools/human_corpus.py HUMAN_DIR` wrote (its split; voice family human); "
                             "--split, --areas and --voices are ignored")


def _speak(voice: str, text: str, speed: int, pitch: int, workdir: Path) -> np.ndarray:
    """espeak-ng → sox: 8 kHz int16, band-limited like a telephone line."""
    wav = workdir / "tts.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text],
                   check=True, capture_output=True)
    # -R: sox dithers with a random seed otherwise, and the same corpus would differ byte for byte.
    raw = subprocess.run(["sox", "-R", str(wav), "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", "-",
                          "highpass", "300", "lowpass", "3400"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float32)


def _coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """1/f^exponent noise: 0 white hiss, 1 pink (line hum and room), 2 brown (traffic)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / f ** (exponent / 2), n)
    return (noise / (np.std(noise) + 1e-9)).astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x) + 1e-9))


@dataclass(frozen=True)
class Take:
    """Who said a clip, and how: a repeat keeps the voice."""

    voice: str
    speed: int
    pitch: int


class Maker:
    def __init__(self, split: Split, voices: Voices, workdir: Path, babble_lines: tuple[str, ...],
                 seed: int | None = None):
        self.split = split
        self.voices = voices
        seed = split.seed if seed is None else seed
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.workdir = workdir
        self.babble_lines = babble_lines

    def _babble(self, n: int) -> np.ndarray:
        """Background talk: three voices saying other things at once, as in an office or a shop."""
        mix = np.zeros(n, np.float32)
        for _ in range(3):
            line = self.rng.choice(self.babble_lines)
            voice = self.rng.choice(self.voices.dutch)
            speech = _speak(voice, line, self.rng.randint(150, 190), self.rng.randint(20, 80), self.workdir)
            speech = np.tile(speech, n // max(len(speech), 1) + 1)[:n]
            offset = self.rng.randint(0, n)
            mix += np.roll(speech, offset) / (_rms(speech) + 1e-9)
        return mix / (_rms(mix) + 1e-9)

    def _noise(self, n: int) -> tuple[np.ndarray, str]:
        kind = self.rng.choice(("white", "pink", "brown", "babble"))
        if kind == "babble":
            return self._babble(n), kind
        return _coloured_noise(self.np_rng, n, {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind]), kind

    def render(self, speech: np.ndarray | None, snr_db: float | None) -> np.ndarray:
        """Lead-in and tail quiet, noise `snr_db` below the speech (or at a line level of its own), G.711."""
        from fourteenplus.speech import audio

        lead, tail = (int(8000 * self.rng.uniform(a, b)) for a, b in ((0.15, 0.6), (0.2, 0.7)))
        body: np.ndarray = np.zeros(8000, np.float32)
        if speech is not None:
            # Callers arrive anywhere between -26 and -12 dBFS.
            body = speech * (10 ** (self.rng.uniform(-26, -12) / 20) * 32768 / _rms(speech))
        signal = np.concatenate([np.zeros(lead, np.float32), body, np.zeros(tail, np.float32)])
        if snr_db is not None:
            noise, _ = self._noise(len(signal))
            level = _rms(body) * 10 ** (-snr_db / 20) if speech is not None else 32768 * 10 ** (self.rng.uniform(-55, -35) / 20)
            signal += noise * level
        encoding = self.rng.choice(("ulaw", "alaw"))
        pcm = np.clip(signal, -32768, 32767).astype(np.int16)
        return audio.decode(audio.encode(pcm, encoding), encoding)

    def utterance(self, text: str, accent: bool) -> tuple[np.ndarray, Take]:
        voice = self.rng.choice(self.voices.accent if accent else self.voices.dutch)
        take = Take(voice, self.rng.randint(130, 200), self.rng.randint(25, 75))
        return _speak(voice, text, take.speed, take.pitch, self.workdir), take

    def again(self, take: Take, text: str) -> np.ndarray:
        """The same caller asked again: slower (people slow down when not understood)."""
        return _speak(take.voice, text, max(take.speed - self.rng.randint(10, 40), 110), take.pitch, self.workdir)

    def snr(self) -> float | None:
        # A third clean-ish lines, the rest noisy: 25 dB is a quiet room, 10 dB a busy street.
        return None if self.rng.random() < 0.3 else self.rng.uniform(10, 25)

    def cough(self) -> np.ndarray:
        """An aperiodic burst with a fast attack: what a cough or a bump on the handset looks like."""
        n = int(8000 * self.rng.uniform(0.15, 0.4))
        envelope = np.exp(-np.linspace(0, self.rng.uniform(4, 9), n)).astype(np.float32)
        return _coloured_noise(self.np_rng, n, self.rng.choice((0.0, 1.0))) * envelope * 3000


def build(out: Path, split_name: str, count: int, areas: tuple[str, ...], repeats: bool = False,
          family: str = "espeak") -> int:
    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars
    from fourteenplus.speech import audio

    split = SPLITS[split_name]
    directory = load_directory()
    grammars = load_grammars(directory)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        babble = ("ik heb gisteren de hele dag in de tuin gewerkt", "zullen we morgen samen boodschappen doen",
                  "de trein had weer vertraging vanochtend", "wat een mooi weer is het vandaag")
        maker = Maker(split, split.voices[family], Path(tmp), babble_lines=babble)
        # Its own stream (see the module's docstring): the first takes do not move.
        again = Maker(split, split.voices[family], Path(tmp), babble_lines=babble, seed=split.seed + 1000)
        rng = maker.rng
        for index in range(count):
            code = rng.choice(areas)
            grammar = grammars.area(code)
            roll = rng.random()
            said, take = "", None  # the phrase inside the carrier; who said it
            if roll < 0.84:
                municipality = rng.choice(grammar.municipalities)
                phrases = [p for p in grammar.phrases if p.municipality == municipality]
                names = [p for p in phrases if p.kind == "name"]
                phrase = rng.choice(names if rng.random() < 0.6 or len(phrases) == len(names) else
                                    [p for p in phrases if p.kind != "name"])
                said = phrase.text
                text = rng.choice(split.carriers).format(said)
                (speech, take), expected, kind = maker.utterance(text, accent=rng.random() < 0.25), municipality, phrase.kind
            elif roll < 0.89:
                said = rng.choice([p for p in grammars.elsewhere(code) if p.kind == "name"]).text
                text = rng.choice(split.carriers).format(said)
                (speech, take), expected, kind = maker.utterance(text, accent=False), "none", "out_of_area"
            elif roll < 0.95:
                text = rng.choice(split.negatives)
                (speech, take), expected, kind = maker.utterance(text, accent=False), "none", "not_a_name"
            elif roll < 0.98:
                text, speech, expected, kind = "", None, "none", "silence"
            else:
                text, speech, expected, kind = "", maker.cough(), "none", "cough"
            snr = maker.snr() if kind != "silence" else 15.0
            name = f"{split_name}-{index:04d}.wav"
            audio.write_wav(out / name, maker.render(speech, snr))
            row = {"file": name, "area_code": code, "expected": expected, "kind": kind, "text": text,
                   "voice": take.voice if take else "", "snr_db": _snr_text(snr), "repeat_of": ""}
            rows.append(row)
            if repeats:
                rows.append(_repeat(again, row, said, take, snr, out, audio))
    _manifest(out, rows)
    return len(rows)


def _repeat(maker: Maker, first: dict, said: str, take: Take | None, snr: float | None, out: Path, audio) -> dict:
    """The second take of `first`: a name alone half the time, else in one of the split's carriers."""
    text = first["text"]
    if said:
        text = said if maker.rng.random() < 0.5 else maker.rng.choice(maker.split.carriers).format(said)
    speech: np.ndarray | None
    if take:
        speech = maker.again(take, text)
    else:
        speech = maker.cough() if first["kind"] == "cough" else None
    if snr is not None and first["kind"] != "silence":
        snr = min(max(snr + maker.rng.uniform(-3, 3), 8.0), 30.0)
    name = first["file"].replace(".wav", "-r.wav")
    audio.write_wav(out / name, maker.render(speech, snr))
    return first | {"file": name, "text": text, "snr_db": _snr_text(snr), "repeat_of": first["file"]}


def build_replies(out: Path, split_name: str, count: int, areas: tuple[str, ...], family: str = "espeak") -> int:
    """Answers to the confirmation question: the ja/nee recogniser's own corpus. Two in five
    are ja, two nee, one neither (a caller who did not hear the question)."""
    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars
    from fourteenplus.speech import audio
    from fourteenplus.commands.recognize import REPLY_AREA

    split = SPLITS[split_name]
    grammars = load_grammars(load_directory())
    names = [p.text for code in areas for p in grammars.area(code).phrases if p.kind == "name"]
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # Seeded apart from the names corpus of the same split: its clips are other clips.
        maker = Maker(split, split.voices[family], Path(tmp), babble_lines=("de trein had weer vertraging vanochtend",
                                                     "wat een mooi weer is het vandaag"), seed=split.seed + 2000)
        rng = maker.rng
        for index in range(count):
            expected = rng.choice(("yes", "yes", "no", "no", "none"))
            text = rng.choice(split.replies[expected]).format(rng.choice(names))
            speech, take = maker.utterance(text, accent=rng.random() < 0.25)
            snr = maker.snr()
            name = f"{split_name}-reply-{index:04d}.wav"
            audio.write_wav(out / name, maker.render(speech, snr))
            rows.append({"file": name, "area_code": REPLY_AREA, "expected": expected, "kind": "reply", "text": text,
                         "voice": take.voice, "snr_db": _snr_text(snr), "repeat_of": ""})
    _manifest(out, rows)
    return len(rows)


# callers.csv, the format `bench dialogue` reads.
COUGH = "<cough>"  # a caller's take that is a cough, not words
CALLER_COLUMNS = ("caller", "area_code", "expected", "first", "second", "yes", "no", "voice_family",
                  "department", "topic")


def build_callers(out: Path, split_name: str, count: int, areas: tuple[str, ...],
                  families: tuple[str, ...] = ("espeak", "mbrola")) -> int:
    """Whole callers, for the dialogue bench: each says a name (or none), says it again as
    after "Dat verstond ik niet", and answers ja and nee in words of their own, all in one
    voice and on one line. About one caller in seven names no municipality of the area: a
    name from another area, "ik weet het niet", a cough. Families alternate caller by caller;
    a quarter of each family's callers speak with an accent (another language's voice).
    Seeded apart from the split's other corpora: these are other clips.

    A caller of a municipality with departments in the shipped example configuration also
    answers "Waarover belt u?" (`topic`): `topic_share` of them with one of its department's
    phrases (`department`), the others with a negative (`department` "none"); other callers
    leave both empty. Drawn from a seed of their own after every other clip, so the callers'
    other clips are those a corpus made before departments holds.

    `areas` may be (`numberplan.NATIONAL`,): callers of a national number, who name any
    municipality of the country (or a place of it); none of them can name another area's, so
    those who name none say something else or cough."""
    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars
    from fourteenplus.numberplan import NATIONAL
    from fourteenplus.speech import audio

    split = SPLITS[split_name]
    grammars = load_grammars(load_directory())
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    spoken: dict[str, tuple[str, Take, float | None]] = {}  # caller → family, voice, line: for the topics
    babble = ("de trein had weer vertraging vanochtend", "wat een mooi weer is het vandaag",
              "zullen we morgen samen boodschappen doen")
    with tempfile.TemporaryDirectory() as tmp:
        makers = {family: Maker(split, split.voices[family], Path(tmp), babble_lines=babble,
                                seed=split.seed + 3000 + index)
                  for index, family in enumerate(families)}
        for index in range(count):
            family = families[index % len(families)]
            maker = makers[family]
            rng = maker.rng
            code = rng.choice(areas)
            grammar = grammars.area(code)
            roll = rng.random()
            accent = rng.random() < 0.25
            if code == NATIONAL and 0.86 <= roll < 0.93:
                roll = 0.98  # nothing is another area's there: something else said instead
            if roll < 0.86:
                expected = rng.choice(grammar.municipalities)
                phrases = [p for p in grammar.phrases if p.municipality == expected]
                names = [p for p in phrases if p.kind == "name"]
                said = rng.choice(names if rng.random() < 0.7 or len(phrases) == len(names) else
                                  [p for p in phrases if p.kind != "name"]).text
                first_text = rng.choice(split.carriers).format(said)
                second_text = said if rng.random() < 0.5 else rng.choice(split.carriers).format(said)
            else:
                expected, accent = "none", False
                if roll < 0.93:
                    said = rng.choice([p for p in grammars.elsewhere(code) if p.kind == "name"]).text
                    first_text = second_text = rng.choice(split.carriers).format(said)
                elif roll < 0.97:
                    said, first_text, second_text = "", COUGH, COUGH
                else:
                    said = ""
                    first_text = rng.choice(split.negatives)
                    second_text = rng.choice(split.negatives)
            voice = rng.choice(maker.voices.accent if accent else maker.voices.dutch)
            take = Take(voice, rng.randint(130, 200), rng.randint(25, 75))
            snr = maker.snr()
            own = said or (expected if expected != "none" else "")
            yes = rng.choice(split.replies["yes"])
            no = rng.choice([r for r in split.replies["no"] if own or "{}" not in r]).format(own)
            caller = f"{split_name}-caller-{index:04d}"
            clips = {}
            for part, text in (("first", first_text), ("second", second_text), ("yes", yes), ("no", no)):
                speech = (maker.cough() if text == COUGH else maker.again(take, text) if part == "second" else
                          _speak(take.voice, text, take.speed, take.pitch, maker.workdir))
                level = None if snr is None else min(max(snr + rng.uniform(-3, 3), 8.0), 30.0)
                clips[part] = f"{caller}-{part}.wav"
                audio.write_wav(out / clips[part], maker.render(speech, level))
            label = ("mbrola" if family == "mbrola" else "espeak-ng") + (" accent" if accent else "")
            rows.append({"caller": caller, "area_code": code, "expected": expected, **clips, "voice_family": label,
                         "department": "", "topic": ""})
            spoken[caller] = (family, take, snr)
        _topics(out, split, rows, spoken, makers)
    with (out / "callers.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CALLER_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def _topics(out: Path, split: Split, rows: list[dict], spoken: dict, makers: dict) -> None:
    """Each caller's answer to the department question, when their municipality has departments."""
    from fourteenplus.config import EXAMPLE, load_service
    from fourteenplus.speech import audio
    from fourteenplus.text import fold

    departments = {name: c.departments for name, c in load_service(EXAMPLE).connections.items() if c.departments}
    for index, row in enumerate(rows):
        if row["expected"] not in departments:
            continue
        rng = random.Random(split.seed + 7000 + index)
        family, take, snr = spoken[row["caller"]]
        said = {fold(phrase) for department in departments[row["expected"]] for phrase in department.phrases}
        negatives = [text for text in split.negatives + split.topic_negatives
                     if not any(f" {phrase} " in f" {fold(text)} " for phrase in said)]
        if rng.random() < split.topic_share:
            department = rng.choice(departments[row["expected"]])
            row["department"] = department.name
            text = rng.choice(split.topics).format(rng.choice(department.phrases))
        else:
            row["department"], text = "none", rng.choice(negatives)
        maker = makers[family]
        level = None if snr is None else min(max(snr + rng.uniform(-3, 3), 8.0), 30.0)
        row["topic"] = f"{row['caller']}-topic.wav"
        audio.write_wav(out / row["topic"], maker.render(_speak(take.voice, text, take.speed, take.pitch, maker.workdir),
                                                         level))


def missing_mbrola(voices: Voices, root: Path | None = None) -> list[str]:
    """The MBROLA voice files ("nl2") the voices need and this machine lacks: espeak-ng
    would stop at the first clip with a message about its own voice files."""
    root = root or MBROLA_ROOT
    wanted = dict.fromkeys(v.removeprefix("mb-").split("-")[0] for v in (*voices.dutch, *voices.accent)
                           if v.startswith("mb-"))
    return [name for name in wanted if not (root / name / name).exists() and not (root / name).is_file()]


def _snr_text(snr: float | None) -> str:
    """The manifest's snr_db: empty for a clean line."""
    return "" if snr is None else f"{snr:.1f}"


def _manifest(out: Path, rows: list[dict]) -> None:
    with (out / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main(args: argparse.Namespace) -> int:
    from fourteenplus.numberplan import NATIONAL

    areas = tuple(code.strip() for code in args.areas.split(",") if code.strip())
    if args.people:
        if not args.callers:
            print("fourteenplus corpus: --people makes callers: give --callers too", file=sys.stderr)
            return 2
        try:
            written = people.build(args.out, args.people, args.count, CALLER_COLUMNS)
        except (OSError, ValueError) as error:
            print(f"fourteenplus corpus: {error}", file=sys.stderr)
            return 2
        print(f"{written} callers made of people (voice family {people.FAMILY}) in {args.out}")
        return 0
    if args.national:
        if not args.callers:
            print("fourteenplus corpus: --national makes callers: give --callers too", file=sys.stderr)
            return 2
        areas = (NATIONAL,)
    families = (args.voices,) if args.voices else ("espeak", "mbrola") if args.callers else ("espeak",)
    for family in families:
        missing = missing_mbrola(SPLITS[args.split].voices[family])
        if missing:
            print(f"fourteenplus corpus: the {family} voices of the {args.split} split need the MBROLA voice files "
                  f"{', '.join(missing)}: install the Debian packages mbrola {' '.join('mbrola-' + m for m in missing)} "
                  "(contrib and non-free; `make bench-voices` does it as root)", file=sys.stderr)
            return 2
    family = families[0]
    if args.callers:
        written = build_callers(args.out, args.split, args.count, areas, families)
        print(f"{written} callers ({args.split} split) in {args.out}")
        return 0
    if args.replies:
        written = build_replies(args.out, args.split, args.count, areas, family)
    else:
        written = build(args.out, args.split, args.count, areas, args.repeats, family)
    print(f"{written} clips ({args.split} split) in {args.out}")
    return 0
