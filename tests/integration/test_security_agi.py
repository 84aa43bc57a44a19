"""Toll fraud in FastAGI mode: the crafted Request-URIs of test_security.py sent into
[fourteenplus-in-agi], whose GotoIf once took a label from ${EXTEN} (a `:` in it, %3A in the
Request-URI, made the rest a Goto of the caller's choice: an outbound call with the
municipality's caller ID). None may reach a trunk, whoever it would show as the caller."""

from __future__ import annotations

import pytest

from .crafted_uris import assert_entry_refuses, attempt, crafted


@pytest.mark.parametrize("dialled", crafted("140229", "fourteenplus-out-hoorn"))
def test_security_crafted_request_uri_into_the_agi_entry_reaches_no_trunk(agi_app, trunk, tmp_path, dialled):
    assert_entry_refuses(attempt(trunk, tmp_path, dialled), dialled)


def test_security_agi_entry_still_routes_a_number_in_both_forms(agi_call):
    """The check lets digits through, the international form too: 14 020 is Amsterdam."""
    for dialled in ("14020", "+3114020"):
        result = agi_call(dialled)
        assert [invite.user for invite in result.invites] == ["amsterdam"], dialled
