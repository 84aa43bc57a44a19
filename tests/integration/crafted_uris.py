"""Request-URI users an attacker would send to reach the dialplan instead of a number.

Every separator that Asterisk's applications parse (Goto/GotoIf labels, argument lists,
expressions, variables, Dial's channel lists), raw where a SIP URI can carry it and
percent-encoded (pjsip decodes %XX before the dialplan sees ${EXTEN}), around numbers that
look valid, plus very long strings. `;` goes only encoded: the caller's SIPp reads its
numbers from a file that `;` separates."""

from __future__ import annotations

from urllib.parse import unquote

SEPARATORS = [":", ",", "|", "^", "(", ")", "$", "{", "[", '"', ";", "&", "/", " "]


def _encoded(char: str) -> str:
    return "%" + format(ord(char), "02X")


def crafted(number: str, target: str) -> list[str]:
    """Crafted users for a call that should reach `number`, aimed at the context `target`."""
    out = [f"{number[:1]}%3A{target},0612345678,1,x",      # the issue's own: GotoIf's false branch
           f"{number}%3A{target},s,1",
           f"+31{number}%2C{target}",
           f"{number}%24%7BSHELL%7D",                          # ${SHELL}
           f"{number}%0D%0AX-Injected%3A%201",                 # a line break into a header
           f"{number}{'%3A' * 200}",                           # very long
           number + "9" * 200 + "%26PJSIP%2Fx"]
    for sep in SEPARATORS:
        out.append(f"{number}{_encoded(sep)}{target}{_encoded(sep)}0612345678{_encoded(sep)}1")
        if sep != ";":
            out.append(f"{number}{sep}{target}{sep}0612345678")
    return out


# pjsip drops a request line it cannot parse (a raw space, " { [ | ^, a user:password form):
# no answer at all, the caller's SIPp gives up.
UNPARSED = "not answered: no answer from Asterisk"
# Asterisk keeps the first 80 characters of a dialled string (AST_MAX_EXTENSION).
EXTENSION_LENGTH = 80


def attempt(trunk, workdir, dialled: str, source: str = "127.0.0.1") -> str:
    """Place one crafted call and fail if any trunk received an INVITE meanwhile, whoever it
    showed as the caller (the fraud showed the municipality's number, not the attacker's).
    Returns what the caller got: the SIP status, or how the call ended."""
    from fourteenplus import sipp

    before = len(trunk.invites())
    result = sipp.place_call(dialled, [], trunk, workdir=workdir, source=source, timeout_s=4)
    assert len(trunk.invites()) == before, f"{dialled!r} reached a trunk: {trunk.invites()[before:]}"
    return result.ended


def assert_entry_refuses(ended: str, dialled: str) -> None:
    """An entry context ([fourteenplus-in], [fourteenplus-in-agi]) refuses anything that is not a
    number unanswered (404); a string whose kept 80 characters are digits is a number that is no
    14+ number: explained as early media, and refused unanswered (404) too."""
    if unquote(dialled)[:EXTENSION_LENGTH].isdigit():
        assert ended == "not answered: SIP/2.0 404 Not Found", (dialled, ended)
    else:
        assert ended in {"not answered: SIP/2.0 404 Not Found", UNPARSED}, (dialled, ended)
