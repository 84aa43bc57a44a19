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

# An apostrophe-like mark before s or t at the start of a word, glued to the next word
# ("'sHertogenbosch"): split it so the article is its own word. Transcripts and keyboards
# produce all of these marks for the same apostrophe.
_APOSTROPHES = "'\u2019\u2018`\u00b4\u02bc"
_GLUED_ARTICLE = re.compile(rf"(?:^|(?<=\s))[{_APOSTROPHES}]([st])(?=[^\W\d_])")
_NOT_WORD = re.compile(r"[\W_]+")


def fold(s: str) -> str:
    """The comparison key of a name: see the module docstring."""
    decomposed = unicodedata.normalize("NFKD", s)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    plain = _GLUED_ARTICLE.sub(r"\1 ", plain)
    return _NOT_WORD.sub(" ", plain).strip()


# A caller asking for English says "English", "in English please" or the Dutch "Engels";
# the recogniser, listening for Dutch, writes an English word down as "English", "Englisch",
# "Englief" or "English lean", and "Engels" as "Engel" (measured: whisper base on espeak-ng
# en-gb/en-us/nl voices, 13 of 18 requests found, none of the grammar's phrases). So a word
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
