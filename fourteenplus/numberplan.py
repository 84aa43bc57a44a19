"""Dialled digits → area code (netnummer), or a precise reason why not.

Dutch area codes are prefix-free (no code is the start of another), so the code is the
one known code the digits start with: never a guess from the length.
"""

from __future__ import annotations

from collections.abc import Collection

# Why a number is not a 14+ number; each reason has a prompt `number/<reason>`.
REASONS = {
    "empty": "no digits were dialled",
    "non_digit": "the number contains characters other than digits",
    "too_long": "the number is longer than any 14+ number",
    "not_14": "the number does not start with 14",
    "national_line": "1400 is the national government information line, not a municipality",
    "too_short": "the number stops before the area code is complete",
    "not_geographic": "mobile, freephone, premium and service numbers have no 14+ number",
    "unknown_area": "no Dutch area code starts this way",
    "trailing_digits": "there are digits after the area code",
}

# The area code of a national number (`config.NationalPlan`): a caller there names any
# municipality of the country. A word, not digits, so it can be no real area code; only the
# configured digits of the number ever reach the dialplan.
NATIONAL = "national"

# Separators people and switches write inside numbers; anything else is rejected.
_SEPARATORS = str.maketrans("", "", " -.()/\t")
_MAX_DIGITS = 16  # +31 14 0xxx is 9 digits; the margin keeps room for prefixes, not for tricks


class NumberRejected(ValueError):
    def __init__(self, reason: str, number: str):
        self.reason = reason
        self.number = number
        super().__init__(f"{number!r}: {REASONS[reason]}")


def digits_of(number: str) -> str:
    """National digits: '+31 14 0229' → '140229', '+31 229 252200' → '0229252200'."""
    compact = number.translate(_SEPARATORS)
    for country in ("+31", "0031"):
        if compact.startswith(country):
            compact = compact[len(country):]
            # 14+ numbers take no trunk prefix; every other national number starts with 0.
            if compact and not compact.startswith(("14", "0")):
                compact = "0" + compact
            break
    if not compact:
        raise NumberRejected("empty", number)
    if not compact.isascii() or not compact.isdigit():
        raise NumberRejected("non_digit", number)
    if len(compact) > _MAX_DIGITS:
        raise NumberRejected("too_long", number)
    return compact


def parse(number: str, area_codes: Collection[str], national: Collection[str] = ()) -> str:
    """Return the area code of a 14+ number such as '140229', '14 0229' or '+31 14 0229', or
    `NATIONAL` for one of the `national` numbers (their digits, as `digits_of` gives them)."""
    digits = digits_of(number)
    if digits in national:
        return NATIONAL
    if not digits.startswith("14"):
        # A lone '1' is a 14+ number still being dialled.
        raise NumberRejected("too_short" if digits == "1" else "not_14", number)
    rest = digits[2:]
    if rest == "00":
        raise NumberRejected("national_line", number)
    if len(rest) < 2:
        raise NumberRejected("too_short", number)
    if rest[0] == "0" and rest[1] in "689":
        raise NumberRejected("not_geographic", number)
    for length in range(2, len(rest) + 1):
        if rest[:length] in area_codes:
            if length < len(rest):
                raise NumberRejected("trailing_digits", number)
            return rest[:length]
    if any(code.startswith(rest) for code in area_codes):
        raise NumberRejected("too_short", number)
    raise NumberRejected("unknown_area", number)
