"""The call's words, defined once: what the call flow plays and listens for, what it writes
into a call's record, and what the session measures.

Every value is a `StrEnum` (a `Word`): a member is the very string the stores hold, the logs print and
the Prometheus labels carry ("spoken" is `CallPath.SPOKEN`), so rows written before these
names existed read back equal to them, and a member is never renamed, only added. The call
flow, the session, the records, the report, the metrics and the bench all import from here;
none of them types one of these strings again.

This module imports nothing of the project: everything may use it.
"""

from __future__ import annotations

from enum import StrEnum


class Word(StrEnum):
    """A word of the call's vocabulary. Its repr is its string's, so the actions and records
    in the logs read as they always have (`prompts=('question',)`, `outcome='transferred'`)."""

    def __repr__(self) -> str:
        return repr(self.value)


class CallPath(Word):
    """How a call reached its municipality (`CallRecord.path`)."""
    DIRECT = "direct"                # the number dialled serves one municipality
    SPOKEN = "spoken"                # the name accepted the first time it was said
    SPOKEN_REPEAT = "spoken_repeat"  # accepted when said again, after "Dat verstond ik niet"
    CONFIRMED = "confirmed"          # a ja (or key 1) to "Bedoelt u …?"
    KEYPAD = "keypad"                # the keypad menu
    DEFAULT = "default"              # the area's default municipality


SPOKEN_PATHS = (CallPath.SPOKEN, CallPath.SPOKEN_REPEAT, CallPath.CONFIRMED)  # routed on what was heard


class Outcome(Word):
    """What became of a call, as the call flow ends it (`CallRecord.outcome`)."""
    TRANSFERRED = "transferred"          # handed to a trunk
    AFTER_HOURS = "after_hours"          # closed: sent to the after-hours number
    CLOSED = "closed"                    # closed, and told so
    REJECTED_NUMBER = "rejected_number"  # a number that is no 14+ number
    NOT_SERVED = "not_served"            # an area code this installation does not answer
    NOT_CONNECTED = "not_connected"      # a municipality the operator does not serve
    NO_CHOICE = "no_choice"              # nothing chosen at the menu, and no default
    ABANDONED = "abandoned"              # the caller hung up first
    # On a national number: the municipality named is not connected here, and the caller
    # was told its 14+ number ("Opmeer is bereikbaar op veertien 0 2 2 6").
    REFERRED = "referred"


class Route(Word):
    """How a call that heard the question went, as the report counts it (`report.route`): the
    2020 national evaluation's categories, one per asked call."""
    FIRST = "first"                        # recognised the first time the caller said a name
    ONE_REPEAT = "one_repeat"              # after one repeat
    MORE_REPEATS = "more_repeats"          # after more
    KEYPAD = CallPath.KEYPAD.value
    DEFAULT = CallPath.DEFAULT.value
    HUNG_UP_QUESTION = "hung_up_question"  # hung up while asked for the name or "Bedoelt u …?"
    HUNG_UP_MENU = "hung_up_menu"          # hung up at the keypad menu
    NOT_CONNECTED = Outcome.NOT_CONNECTED.value
    NO_CHOICE = Outcome.NO_CHOICE.value


class Ending(Word):
    """What became of a transferred call once the trunk answered for it: with `Outcome`, the
    outcome the report and the metrics (`calls_total{outcome}`) count (`records.ending`)."""
    OVERFLOW = "overflow"                  # the trunk failed, its overflow took the call
    FAILED = "failed"                      # the trunk (and any overflow) did not take it
    HUNG_UP_TRANSFER = "hung_up_transfer"  # the caller gave up while it rang
    UNKNOWN = "unknown"                    # a record without an outcome


class DialStatus(Word):
    """Asterisk's DIALSTATUS, as far as the records and the report read it."""
    ANSWER = "ANSWER"
    BUSY = "BUSY"
    NOANSWER = "NOANSWER"
    CONGESTION = "CONGESTION"
    CHANUNAVAIL = "CHANUNAVAIL"
    CANCEL = "CANCEL"  # the caller hung up while it rang


TRUNK_FAILURES = (DialStatus.BUSY, DialStatus.NOANSWER, DialStatus.CONGESTION, DialStatus.CHANUNAVAIL)


class AttemptKind(Word):
    """What an attempt was (`Attempt.kind`)."""
    NAME = "name"          # a name said
    REPLY = "reply"        # a ja or nee said
    KEYPAD = "keypad"      # a key pressed
    SILENCE = "silence"    # nothing said in time
    FAILURE = "failure"    # the recogniser failed (or could not keep up)
    LANGUAGE = "language"  # English asked for
    # The answer to the department question, whatever it was (said, pressed, silence, a
    # failure): its decision says which, its reason the department chosen or `GENERAL_LINE`.
    DEPARTMENT = "department"


class Decision(Word):
    """What was made of an attempt (`Attempt.decision`): for a name, the recogniser's verdict
    (`speech.Recognition.decision`); else what the caller said or did. YES and NO are also
    the two sides of a reply wherever one is labelled (the reply grammar, corpora, tune)."""
    ACCEPT = "accept"      # a name: sure enough to put through
    CONFIRM = "confirm"    # a name: likely, to be asked about
    REJECT = "reject"      # a name: nothing likely
    YES = "yes"            # ja, or key 1
    NO = "no"              # nee, or key 2
    UNCLEAR = "unclear"    # neither ja nor nee understood
    PRESSED = "digit"      # a key
    TIMED_OUT = "timeout"  # no answer in time
    FAILED = "error"       # a failure
    ENGLISH = "en"         # English chosen


def said(yes: bool) -> Decision:
    """The side of a reply: ja → YES, nee → NO."""
    return Decision.YES if yes else Decision.NO


class Reason(Word):
    """Why a name's recognition was rejected, or `MATCH` for one accepted or to be confirmed
    (`speech.Recognition.reason`, kept as a name attempt's `Attempt.reason`)."""
    MATCH = "match"
    NO_SPEECH = "no_speech"
    OUT_OF_AREA = "out_of_area"        # a name of another area: never routed
    LOW_CONFIDENCE = "low_confidence"
    AMBIGUOUS = "ambiguous"            # a runner-up close behind
    NO_NAME = "no_name"                # speech, but about something else: no name covers much of it
    TIMEOUT = "timeout"                # past the speech service's deadline
    ERROR = "error"                    # the recogniser failed
    # The call flow's backstop: no answer at all in time (a failure attempt's reason).
    DEADLINE = "deadline"
    # A turn the endpointer cut off (it never ended) whose last seconds named nothing, or
    # answered neither ja nor nee: the keypad menu (a failure attempt's reason).
    CUT_OFF = "cut_off"


NOT_EVIDENCE = (Reason.OUT_OF_AREA, Reason.NO_SPEECH, Reason.NO_NAME)  # candidates that say nothing


class State(Word):
    """The call flow's states, named for what the caller is doing (`CallRecord.abandoned_at`)."""
    STARTING = "starting"
    ASKING = "asking"          # asked for the name
    CONFIRMING = "confirming"  # asked "Bedoelt u …?"
    MENU = "menu"              # at the keypad menu
    CHOOSING = "choosing"      # asked what the call is about (a department)
    # asked "Over paspoort?" about the department heard, likely but not sure enough
    CONFIRMING_DEPARTMENT = "confirming_department"
    ENDING = "ending"          # hearing a final message
    TRANSFERRED = "transferred"
    DONE = "done"


class ListenMode(Word):
    """What the caller is listened for (`callflow.Listen.mode`)."""
    NAME = "name"
    REPLY = "reply"
    DEPARTMENT = "department"  # what the call is about, once the municipality is known


class Timing(Word):
    """The timings (ms) a session writes into its call's record (`CallRecord.timings`), which
    the report gives as medians."""
    ANSWER_TO_FIRST_PROMPT = "answer_to_first_prompt"
    SPEECH_END_TO_TRANSFER = "speech_end_to_transfer"
    ANSWER_TO_INVITE = "answer_to_invite"  # the whole wait before the trunk is dialled


# ---- prompt ids: paths under a prompt set, sounds/fourteenplus/<language>/<prompt id> ----

class Prompt(Word):
    """The prompts that are one file per prompt set."""
    QUESTION = "question"            # "Welke gemeente wilt u bellen?"
    AGAIN = "again"                  # the question again, after "Dat verstond ik niet"
    # The question with a hint, for speech that names no municipality: the caller was
    # understood, they did not say a name.
    NO_NAME = "no-name"
    REPLY_KEYS = "reply-keys"        # after a question whose spoken answer was not understood
    MENU_AGAIN = "menu-again"        # a wrong key at the menu
    NOT_CONNECTED = "not-connected"
    GOODBYE = "goodbye"
    TRUNK_FAILED = "trunk-failed"    # the dialplan's, when a trunk and its overflow fail
    # Before the menu, when the recognisers cannot keep up ("it is busy, choose with the
    # keys"); also the reason of that call's failure attempt.
    BUSY = "busy"
    # On a national number, for a caller who could not be understood (no keypad menu holds
    # the whole country): "dial 14 and your area code".
    DIAL_AREA = "dial-area"


class PromptFamily(Word):
    """The prompts made per municipality, area or reason: `prompt_id(family, key)`."""
    CONFIRM = "confirm"        # "Bedoelt u X?", per municipality (its slug)
    CONFIRM_OR = "confirm-or"  # "Of bedoelt u Y?", the next likeliest after a nee
    MENU = "menu"              # the keypad menu, per area code
    NUMBER = "number"          # a number refused, per reason
    CLOSED = "closed"          # the municipality is closed now, per municipality
    DEFAULT = "default"        # "U wordt doorverbonden met X.", before an area's default
    DEPARTMENT = "department"  # "Waarover belt u? …", per municipality with departments
    # "Over paspoort?", per department (<municipality slug>/<department slug>): one heard
    # likely but not surely enough at the department question.
    DEPARTMENT_CONFIRM = "department-confirm"
    # On a national number, per municipality not connected here: "<name> is bereikbaar op 14 …".
    REACHABLE = "reachable"


CONFIRM_FAMILIES = (PromptFamily.CONFIRM, PromptFamily.CONFIRM_OR)
# A department attempt's reason when the caller goes to the municipality's own line.
GENERAL_LINE = "general"


def prompt_id(family: PromptFamily, key: str) -> str:
    """The prompt of `family` for `key` (a municipality's slug, an area code, a reason)."""
    return f"{family}/{key}"
