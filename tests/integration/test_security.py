"""Toll fraud over real SIP: dialled strings that try to reach the dialplan instead of a
14+ number. None of them may reach a trunk: the SIPp trunk endpoint counts 0 INVITEs.

Strings with anything but digits are refused unanswered (404); digit strings that are no
14+ number are answered with a spoken explanation and ended; names of contexts, channels
and trunks have no extension at all."""

from __future__ import annotations

import pytest

from fourteenplus import sipp

from .crafted_uris import UNPARSED, assert_entry_refuses, attempt, crafted

REFUSED = [
    "140229&PJSIP/regio-zeeland",     # a second channel for Dial
    "140229,,PJSIP/medemblik",        # commas: more arguments for any application
    "14/0229",
    "140229%26Local%2Fs%40fourteenplus-dial",  # percent-encoded in the Request-URI
    "140111*1",
    "+31140229&PJSIP/hoorn",
    "0031140111,1",
    "+44$(SHELL)",
]
NO_EXTENSION = ["PJSIP/regio-zeeland", "regio-zeeland", "s", "h", "fourteenplus-dial", "*140229"]
EXPLAINED = [
    "14" + "0" * 60,          # very long
    "1400441234567890",       # an international number behind 14
    "14000031201234567",
    "1409001234",             # premium rate behind 14
    "140229140229",           # two 14+ numbers in one
]


@pytest.fixture(scope="module")
def invites_before(trunk):
    return len(trunk.invites())


@pytest.mark.parametrize("dialled", REFUSED)
def test_security_fraud_dialled_string_with_non_digits_is_refused_unanswered(call, trunk, dialled, invites_before):
    result = call(dialled)
    assert result.answered_at is None
    assert result.ended == "not answered: SIP/2.0 404 Not Found", result.ended
    assert result.invites == ()


@pytest.mark.parametrize("dialled", NO_EXTENSION)
def test_security_fraud_contexts_channels_and_trunk_names_have_no_extension(call, dialled, invites_before):
    result = call(dialled)
    assert result.answered_at is None and result.ended.startswith("not answered: SIP/2.0 404"), result.ended
    assert result.invites == ()


@pytest.mark.parametrize("dialled", EXPLAINED)
def test_security_fraud_digits_that_are_no_14plus_number_hear_why_and_reach_no_trunk(call, dialled, invites_before):
    result = call(dialled)
    assert result.invites == ()
    # refused unanswered: why as early media, then 404
    assert result.answered_at is None and result.first_audio_at is not None, "the caller hears why"
    assert result.ended == "not answered: SIP/2.0 404 Not Found", result.ended


def test_security_fraud_no_trunk_was_dialled_by_any_of_them(trunk, invites_before):
    """Run last in this module: not a single INVITE reached the trunk endpoint."""
    assert len(trunk.invites()) == invites_before


def test_security_fraud_agi_mode_refuses_the_same_strings(agi_call, trunk):
    before = len(trunk.invites())
    for dialled in ("140229&PJSIP/regio-zeeland", "14,0229"):
        result = agi_call(dialled)
        assert result.ended == "not answered: SIP/2.0 404 Not Found", (dialled, result.ended)
    assert len(trunk.invites()) == before


def test_security_fraud_a_call_from_an_unknown_address_is_not_taken(trunk, running_asterisk, tmp_path):
    """Only the carrier's address is identified (endpoint_identifier_order=ip, no anonymous
    endpoint): an INVITE from anywhere else is refused before any dialplan runs."""
    before = len(trunk.invites())
    result = sipp.place_call("140229", [], trunk, workdir=tmp_path, source="127.0.0.9")
    assert result.answered_at is None and result.ended.startswith("not answered: SIP/2.0 40"), result.ended
    assert len(trunk.invites()) == before


# ---- crafted Request-URIs: separators, raw and encoded (tests/integration/crafted_uris.py) ----

HOORN_PBX = "127.0.0.2"  # test-trunks.conf: Hoorn's PBX, whose endpoint sits in [fourteenplus-out-hoorn]


@pytest.mark.parametrize("dialled", crafted("140229", "fourteenplus-out-hoorn"))
def test_security_crafted_request_uri_into_the_ari_entry_reaches_no_trunk(app, trunk, tmp_path, dialled):
    assert_entry_refuses(attempt(trunk, tmp_path, dialled), dialled)


@pytest.mark.parametrize("dialled", crafted("0612345678", "fourteenplus-out-hoorn"))
def test_security_crafted_request_uri_into_the_staff_context_reaches_no_trunk(app, trunk, tmp_path, dialled):
    ended = attempt(trunk, tmp_path, dialled, source=HOORN_PBX)
    assert ended in {"not answered: SIP/2.0 484 Address Incomplete", "not answered: SIP/2.0 403 Forbidden",
                     UNPARSED}, (dialled, ended)


def test_security_the_bundled_asterisk_runs_as_no_other_host_account(running_asterisk):
    # Debian gives the asterisk user in the root the next free system id, which on a host is
    # another service's (uid 101 is PostgreSQL's on Debian 12 with it installed): every id the
    # running process holds must be the host's fourteenplus-asterisk's alone.
    from pathlib import Path

    from fourteenplus import asterisk

    pid = asterisk.running_pid()
    assert pid, "the bundled Asterisk is not running"
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    uids = {int(x) for x in status["Uid"].split()}
    gids = {int(x) for x in status["Gid"].split()} | {int(x) for x in status["Groups"].split()}
    users = {line.split(":")[0] for line in Path("/etc/passwd").read_text().splitlines()
             if line and int(line.split(":")[2]) in uids}
    groups = {line.split(":")[0] for line in Path("/etc/group").read_text().splitlines()
              if line and int(line.split(":")[2]) in gids}
    assert users == {asterisk.HOST_ACCOUNT}, (uids, users)
    assert groups == {asterisk.HOST_ACCOUNT}, (gids, groups)
