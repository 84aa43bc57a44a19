"""Dutch name folding: one comparison key for a name however it is written or transcribed;
and whether a transcript asks for English instead of naming a municipality.

`fold("'s-Hertogenbosch") == fold("s Hertogenbosch") == "s hertogenbosch"` and
`fold("Súdwest-Fryslân") == "sudwest fryslan"`. The grammar folds every phrase with this and
the matcher folds every transcript with it, so both sides meet on the same key.

What folding does, in order:
- Unicode compatibility form, then drop combining marks: â ú ê lose their accents and the
  ligature ĳ becomes ij, so "Súdwest-Fryslân" and a transcript "Sudwest Fryslan" agree.
- Lowercase (casefold).
- The elided articles 's (des) and 't (het) become a word of their own: "'s-Gravenhage",
  "'s Gravenhage", "s'Gravenhage" and "'sGravenhage" all start with the word "s". The
  letter is kept, not dropped, so "'s-Heerenhoek" does not collide with a "Heerenhoek".
- Every other character that is not a letter or digit (hyphen, apostrophe, comma,
  parenthesis, full stop) becomes a space, and runs of spaces collapse to one.

It deliberately does not rewrite spellings (ij/y, "Den Bosch"): those are aliases in the
grammar data, where a person can see and review them.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence

from rapidfuzz import fuzz

# An apostrophe-like mark before s or t at the start of a word, glued to the next word
# ("'sHertogenbosch"): split it so the article is its own word. Transcripts and keyboards
# produce all of these marks for the same apostrophe.
_APOSTROPHES = "'\u2019\u2018`\u00b4\u02bc"
_GLUED_ARTICLE = re.compile(rf"(?:^|(?<=\s))[{_APOSTROPHES}]([st])(?=[^\W\d_])")
_NOT_WORD = re.compile(r"[\W_]+")


# What whisper confuses in a Dutch name it does not know ("Kutlingbord" for Culemborg, "Harlem"):
# spellings of one sound, and voiced and voiceless consonants, in this order.
_SOUNDS = (("ch", "g"), ("ij", "ei"), ("y", "i"), ("c", "k"), ("ph", "f"), ("th", "t"), ("dt", "t"),
           ("v", "f"), ("z", "s"), ("w", "v"), ("d", "t"), ("b", "p"), ("g", "k"), ("q", "k"), ("x", "ks"),
           ("ou", "au"), ("ui", "au"), ("h", ""))
_DOUBLED = re.compile(r"(.)\1+")


def sound(s: str) -> str:
    """A rough sound-alike key of folded text, without spaces: what a national number's
    shortlist compares besides the folded text (`speech.matcher`), since a name whisper does
    not know comes out spelt by ear. Only for finding candidates: never a reason to route."""
    key = fold(s)
    for written, said in _SOUNDS:
        key = key.replace(written, said)
    return _DOUBLED.sub(r"\1", key).replace(" ", "")


def fold(s: str) -> str:
    """The comparison key of a name: see the module docstring."""
    decomposed = unicodedata.normalize("NFKD", s)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    plain = _GLUED_ARTICLE.sub(r"\1 ", plain)
    return _NOT_WORD.sub(" ", plain).strip()


def phrases_in(words: str, keys: Sequence[str], ratio: float) -> list[int]:
    """The indices of the folded phrases `keys` that some run of as many of `words` (folded,
    space-separated) spells at `ratio` (rapidfuzz, 0..100) or closer: "de gemeente kapelle
    graag" holds "kapelle"; a phrase longer than the words is compared with all of them."""
    split = words.split()
    found = []
    for index, key in enumerate(keys):
        size = len(key.split())
        runs = (" ".join(split[i : i + size]) for i in range(max(len(split) - size + 1, 1)))
        if split and any(fuzz.ratio(key, run) >= ratio for run in runs):
            found.append(index)
    return found


# A caller asking for English says "English", "in English please" or the Dutch "Engels";
# the recogniser, listening for Dutch, writes an English word down as "English", "Englisch",
# "Englief" or "English lean", and "Engels" as "Engel" (whisper base on espeak-ng voices:
# bench/recognition.md, "Asking for English"; none of the grammar's phrases). So a word
# that starts like English, or comes this close to "engels", asks for English; "Engelen",
# a village, does not.
ENGLISH_STARTS = ("engl", "ingl")
ENGLISH_DUTCH = "engels"
ENGLISH_SIMILARITY = 0.85


def asks_for_english(transcript: str) -> bool:
    """Whether a transcript asks for the conversation in English."""
    return any(word.startswith(ENGLISH_STARTS)
               or difflib.SequenceMatcher(None, word, ENGLISH_DUTCH).ratio() >= ENGLISH_SIMILARITY
               for word in fold(transcript).split())


# What a caller answers to "Bedoelt u Hoorn?", read off the start of the free transcript:
# the everyday forms of ja and nee, folded. Read as the words the answer starts with (after
# a filler), the longest form first, so "natuurlijk niet" is a nee and "dat klopt niet" no
# "dat klopt". Whisper writes a drawn-out ja as "Jaa" or "Jah" and nee as "Nee" or "Neej".
SAYS_YES = frozenset({
    "ja", "jaa", "jah", "jaja", "jawel", "jazeker", "ja hoor", "ja graag", "ja zeker", "ja dat klopt",
    "klopt", "dat klopt", "klopt helemaal", "graag", "natuurlijk", "zeker", "correct", "goed", "prima",
    "inderdaad", "precies", "juist", "dat is goed", "dat is het", "oke", "okay", "ok", "yes",
})
SAYS_NO = frozenset({
    "nee", "neej", "neen", "nee hoor", "nee dank u", "nee dank je", "nee bedankt", "niet", "o nee", "oh nee",
    "natuurlijk niet", "zeker niet", "helemaal niet", "klopt niet", "dat klopt niet", "niet die", "no",
})
# Heard before the answer and no part of it.
_ANSWER_FILLERS = frozenset("eh ehm uh uhm hm hmm nou ah".split())
_ANSWER_LONGEST = max(len(form.split()) for form in SAYS_YES | SAYS_NO)
# A long answer word whisper misspells by a letter or two is still read as that word
# (a person's "Natuurlijk! Hier zijn …" is written "Laptuurlijk. Hier zijn …"): the first word
# at this rapidfuzz ratio (0..100) or closer to one of the single-word forms of at least
# `_SPELT_LETTERS` letters. A short one (ja, nee, klopt) is never read so: too many words are
# a letter or two from it. Chosen on the tune replies (bench/recognition.md, eighth pass): at
# 80 one first word of 512 is read so, the next nearest of any transcript is at 62.
_SPELT_RATIO = 80.0
_SPELT_LETTERS = 6
_SPELT_FORMS = tuple(sorted(form for form in SAYS_YES | SAYS_NO if " " not in form and len(form) >= _SPELT_LETTERS))
# A ja whose next few words deny ("Ja, nee", "Ja, dat is niet.", "ja, niet die") is no ja: the
# caller changed their mind, or whisper wrote a nee's opening as ja and heard the rest right
# (an accented "nee, niet die" was written "Ja, dat is niet." and put through, bench/dialogue.md,
# 2026-12-07). "Waarom niet" agrees.
_DENIALS = frozenset({"nee", "neej", "neen", "niet", "geen", "no"})
_DENIAL_WORDS = 3


def spelt_answer(word: str) -> str:
    """The long answer word (natuurlijk, inderdaad, …) a folded `word` is whisper's spelling
    of, at `_SPELT_RATIO` or closer; "" when none."""
    ratio, form = max(((fuzz.ratio(word, form), form) for form in _SPELT_FORMS), default=(0.0, ""))
    return form if ratio >= _SPELT_RATIO else ""


def _denies(words: list[str]) -> bool:
    """Whether folded words after a ja deny it: a `_DENIALS` word among the first few, not
    after "waarom"."""
    words = words[:_DENIAL_WORDS]
    return any(word in _DENIALS and (i == 0 or words[i - 1] != "waarom") for i, word in enumerate(words))


def _lead(transcript: str) -> tuple[str, list[str]]:
    """The answer form a transcript starts with (after a filler; "" when none) and the folded
    words after it. A long answer word misspelt a little ("laptuurlijk") counts as that
    word, and as the start of the longer forms it begins ("laptuurlijk niet" is a nee)."""
    words = fold(transcript).split()
    while words and words[0] in _ANSWER_FILLERS:
        words = words[1:]
    if words and words[0] not in SAYS_YES | SAYS_NO:
        form = spelt_answer(words[0])
        if form:
            words = [form, *words[1:]]
    for size in range(min(_ANSWER_LONGEST, len(words)), 0, -1):
        lead = " ".join(words[:size])
        if lead in SAYS_YES or lead in SAYS_NO:
            return lead, words[size:]
    return "", words


def answer_of(transcript: str) -> tuple[bool | None, str]:
    """The side a transcript's answer starts with (True: ja, False: nee, None: neither, or
    a ja the next words deny, `denied_ja`) and the folded words after it, where a correction
    ("nee, Koggenland") or a name ("ja, Hoorn") would be."""
    lead, rest = _lead(transcript)
    side = None if not lead or _denied(lead, rest) else lead in SAYS_YES
    return side, " ".join(rest)


def denied_ja(transcript: str) -> bool:
    """A ja the next words deny ("Ja, nee": the caller changed their mind, which way is not
    for us to guess; "Ja, dat is niet.")."""
    return _denied(*_lead(transcript))


def _denied(lead: str, rest: list[str]) -> bool:
    return lead in SAYS_YES and _denies(rest)
