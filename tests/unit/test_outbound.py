"""CLIP for staff calling out: the `outbound` configuration, its file:line errors, and the
dialplan that shows a municipality's 14+ number. The real calls are in
tests/integration/test_outbound.py."""

from __future__ import annotations

import re

import pytest

from fourteenplus import asterisk_config
from fourteenplus.config import EXAMPLE, load_service
from fourteenplus.resources import DIALPLAN

from .test_config import errors_of

BASE = """\
municipalities:
  Hoorn: {trunk: PJSIP/hoorn@trunks}
  Medemblik: {trunk: PJSIP/medemblik@trunks}
  Deventer: {trunk: PJSIP/deventer@trunks}
  Olst-Wijhe: {trunk: PJSIP/olst-wijhe@trunks}
  Epe: {trunk: PJSIP/epe@trunks}
areas:
  "0229": {municipalities: [Hoorn, Medemblik], default: Hoorn}
  "0570": {municipalities: [Deventer, Olst-Wijhe], default: Deventer}
  "0578": {municipalities: [Epe, Olst-Wijhe], default: Epe}
"""


def test_outbound_of_the_example_shows_each_municipalitys_14_number():
    service = load_service(EXAMPLE)
    hoorn, olst = service.outbound["Hoorn"], service.outbound["Olst-Wijhe"]
    assert (hoorn.number, hoorn.slug, hoorn.trunk) == ("140229", "hoorn", "fourteenplus-carrier")
    assert olst.number == "140570"  # behind two area codes: the configured one


def test_outbound_per_municipality_trunk(write_yaml):
    service = load_service(write_yaml(BASE + "outbound:\n  trunk: kpn\n  municipalities:\n"
                                      "    Hoorn:\n    Medemblik: {trunk: other-carrier}\n"))
    assert service.outbound["Hoorn"].trunk == "kpn" and service.outbound["Medemblik"].trunk == "other-carrier"


@pytest.mark.parametrize("outbound, line, message", [
    ("  trunk: kpn\n  municipalities:\n    Koggenland:\n", 3, "'Koggenland' is not a connected municipality"),
    ("  trunk: kpn\n  municipalities:\n    Olst-Wijhe:\n", 3, "connected behind 140570, 140578: give the 'number'"),
    ("  trunk: kpn\n  municipalities:\n    Hoorn: {number: \"14 0570\"}\n", 3,
     "'number' '14 0570' of Hoorn must be its own 14+ number, one of 140229"),
    ("  trunk: PJSIP/kpn\n  municipalities:\n    Hoorn:\n", 1, "'trunk' must be a PJSIP endpoint name"),
    ("  municipalities:\n    Hoorn:\n", 2, "outbound calls of Hoorn need a 'trunk'"),
    ("  trunk: kpn\n  municipalities:\n    Hoorn: {clip: 140229}\n", 3, "unknown key 'clip' in outbound Hoorn"),
])
def test_outbound_errors_name_the_line(write_yaml, outbound, line, message):
    path, errors = errors_of(write_yaml, BASE + "outbound:\n" + outbound)
    first = BASE.count("\n") + 1  # the line of `outbound:`
    [error] = errors
    assert error.startswith(f"{path}:{first + line}:") and message in error, error


def test_outbound_dialplan_sets_the_14_number_and_trunk_per_municipality():
    text = asterisk_config.render_dialplan(load_service(EXAMPLE))
    context = text[text.index("[fourteenplus-out-olst-wijhe]"):].split("\n\n")[0]
    assert "include => fourteenplus-out" in context
    clip = text[text.index("[fourteenplus-out-olst-wijhe-clip]"):].split("\n\n")[0]
    assert "Set(FOURTEENPLUS_CLIP=140570)" in clip and "Set(FOURTEENPLUS_OUT_TRUNK=fourteenplus-carrier)" in clip
    assert "[fourteenplus-out-amsterdam]" not in text  # only municipalities that asked for it


def _context(text: str, name: str) -> list[str]:
    block = text[text.index(f"[{name}]"):].split("\n\n")[0]
    return [line for line in block.splitlines() if line.startswith("exten")]


def test_outbound_dials_exten_only_where_its_pattern_allows_nothing_but_digits():
    # A pattern with . or ! lets through & , / …: such an extension may only refuse.
    for line in _context((DIALPLAN / "fourteenplus.conf").read_text(), "fourteenplus-out"):
        pattern = re.match(r"exten => ([^,]+),", line).group(1)
        if "." in pattern or "!" in pattern:
            assert "${EXTEN" not in line and "Goto(fourteenplus-out-refused," in line, line
        else:
            assert re.fullmatch(r"_?(\+|00)?[0-9X\[\]-]+", pattern), line
