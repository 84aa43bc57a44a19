"""End to end: Hoorn's staff call citizens through [fourteenplus-out-hoorn] (their PBX is a
SIPp caller on 127.0.0.2) and the carrier (the SIPp trunk endpoint) sees 14 0229 as the caller,
in From and in P-Asserted-Identity; numbers that are not Dutch never reach the carrier."""

from __future__ import annotations

import pytest

from fourteenplus import sipp

HOORN_PBX = "127.0.0.2"  # fourteenplus/data/asterisk/test-trunks.conf: [hoorn-pbx], context fourteenplus-out-hoorn


@pytest.fixture
def staff_call(trunk, tmp_path):
    def place(number: str) -> sipp.CallResult:
        return sipp.place_call(number, [], trunk, workdir=tmp_path, source=HOORN_PBX)
    return place


@pytest.mark.parametrize("dialled, citizen", [
    ("0612340001", "0612340001"),
    ("+31612340002", "0612340002"),   # international forms of a Dutch number go out national
    ("0031229340003", "0229340003"),
])
def test_staff_call_shows_the_municipalitys_14_number(staff_call, trunk, dialled, citizen):
    result = staff_call(dialled)
    [invite] = trunk.invites(user=citizen)
    assert invite.caller == "140229", "From must carry Hoorn's 14+ number"
    assert invite.asserted == "140229", "P-Asserted-Identity must carry Hoorn's 14+ number"
    assert result.ended == "Asterisk hung up"  # the citizen answered, then hung up


def test_staff_emergency_call_keeps_the_callers_own_number(staff_call, trunk):
    result = staff_call("112")
    [invite] = trunk.invites(user="112")
    assert invite.caller == result.caller and invite.caller != "140229"


@pytest.mark.parametrize("dialled, status", [
    ("0900123456", "403 Forbidden"),          # premium rate
    ("09061234", "403 Forbidden"),
    ("+319091234567", "403 Forbidden"),
    ("+4930123456", "403 Forbidden"),         # international
    ("0044201234567", "403 Forbidden"),
    ("0612340004&PJSIP/x", "484 Address Incomplete"),   # a second destination for Dial
    ("0612340005,1", "484 Address Incomplete"),         # an argument separator
    ("0612/340006", "484 Address Incomplete"),
    ("061234000", "484 Address Incomplete"),            # a digit short
])
def test_staff_call_to_a_number_that_is_not_dutch_is_refused(staff_call, trunk, dialled, status):
    before = len(trunk.invites())
    result = staff_call(dialled)
    assert result.ended == f"not answered: SIP/2.0 {status}"
    assert len(trunk.invites()) == before, "a refused number must never reach the carrier"
