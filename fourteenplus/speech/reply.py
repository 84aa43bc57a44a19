"""What the words of an answer to "Bedoelt u Hoorn?" say, beside the audio's scores.

The reply matcher scores the few phrases of `service.SAID_YES`/`SAID_NO` against the audio, as
a name's are (each scored phrase costs an align, so they stay few). What people say is
broader: "natuurlijk", "graag", "nee dank u", "ja, maar …", and in a whole sentence the
audio's best phrase says less. Whisper's free transcript (already paid for) says it in
words: `text.answer_of` reads the everyday forms of ja and nee off its start, and
`service.Answer.of` lets them veto a ja the audio alone would take.

The words after the answer may hold a name: "nee, Koggenland" corrects us, "ja, Hoorn" to
"Bedoelt u Hoorn?" confirms, "ja, Opmeer" does not. `said_name` finds them; the speech
service hears a correction with the area's name recognition (service.reply_now).
"""

from __future__ import annotations

from ..text import SAYS_NO, SAYS_YES, answer_of, spelt_answer
from .matcher import FILLERS, content

# Around a name said with the answer, besides a name's own fillers: the rest of the answer
# ("ja hoor, dank u", "nee, ik bedoel …", "nee, dat klopt niet, …").
AROUND_A_NAME = FILLERS | frozenset(word for form in SAYS_YES | SAYS_NO for word in form.split()) | frozenset(
    "bedoel bedoelde zei zeg dank bedankt sorry is was die dus wel maar toch".split())
# More words than this after the answer are a sentence of its own, not a name: not worth a
# name recognition (and its cost).
NAME_WORDS = 4


def said_name(transcript: str, heard: bool | None = None) -> tuple[bool | None, str]:
    """The side the answer starts with and the words after it that may be a name ("" when
    none, or more than a name's worth). When the words start with no answer whisper knows
    but the audio heard one (`heard`, the reply model's likelier side), the first word is
    taken for whisper's spelling of it: espeak-ng's "nee, Koggenland" is "Lij, Kogenland."."""
    said, rest = answer_of(transcript)
    if said is None and heard is not None:
        said, rest = heard, " ".join(rest.split()[1:])
    # Whisper often writes a short answer twice ("Natuurlijk niet. Natuurlig"): the answer
    # again, misspelt, is no name (scored as one, a person's "Natuurlijk niet." named Buren).
    words = " ".join(word for word in content(rest, AROUND_A_NAME).split() if not spelt_answer(word))
    return said, words if said is not None and len(words.split()) <= NAME_WORDS else ""
