"""The Asterisk side without Asterisk: generated dialplan, prompts, credentials, mirrors,
and the SIPp harness's parsing. The real calls are in tests/integration."""

from __future__ import annotations

import dataclasses

import re
import stat

import pytest

from fourteenplus import asterisk, asterisk_config, prompts, sipp
from fourteenplus.config import LANGUAGES, load_service
from fourteenplus.numberplan import REASONS
from fourteenplus.resources import DIALPLAN, EXAMPLE_CONFIG


@pytest.fixture(scope="module")
def service():
    return load_service(EXAMPLE_CONFIG)


def _dialplan_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip().startswith(("exten", "same"))]


def test_dialplan_lines_survive_asterisks_config_parser(service):
    # ';' starts a comment even inside an application's arguments; parentheses must balance.
    texts = [asterisk_config.render_dialplan(service)] + [p.read_text() for p in DIALPLAN.glob("*.conf")]
    for text in texts:
        for line in _dialplan_lines(text):
            assert ";" not in line, line
            assert line.count("(") == line.count(")"), line


def test_generated_dialplan_dials_only_configured_trunks(service):
    text = asterisk_config.render_dialplan(service)
    dialled = set(re.findall(r"Set\(FOURTEENPLUS_(?:DIAL|OVERFLOW)=([^)]*)\)", text)) - {""}
    configured = {c.trunk for c in service.connections.values()} | {
        c.overflow for c in service.connections.values() if c.overflow}
    assert dialled == configured


def test_fallback_routes_every_directory_area(service):
    text = asterisk_config.render_dialplan(service)
    assert "exten => 14020,1,Goto(fourteenplus-to-amsterdam,s,1)" in text  # one municipality: direct
    assert "exten => 140229,1,Goto(fourteenplus-menu-0229,s,1)" in text
    for code in service.directory.areas:
        assert f"exten => 14{code},1," in text
    menu = text[text.index("[fourteenplus-menu-0229]"):].split("\n\n")[0]
    order = re.findall(r"Set\(FOURTEENPLUS_MENU_\d+=([a-z-]+)\)", menu)
    assert order == [service.municipality(n).slug for n in service.areas["0229"].connected]
    assert "Set(FOURTEENPLUS_MENU_DEFAULT=hoorn)" in menu  # no choice: the default
    keys = text[text.index("[fourteenplus-menu]"):].split("\n\n")[0].splitlines()
    assert "Goto(fourteenplus-to-${FOURTEENPLUS_MENU_DEFAULT},s,1)" in keys[-3]
    assert "Playback(${FOURTEENPLUS_PROMPTS}/default/${FOURTEENPLUS_MENU_DEFAULT})" in keys[-4]  # never without a word


def test_menu_keys_have_the_same_priorities_in_every_configuration(service):
    """What follows an area's menu Read is one shared context whose lines do not depend on
    the area: a reload that reorders or resizes an area while a caller is in its menu cannot
    move the caller to another priority."""
    reordered = dataclasses.replace(service, areas={**service.areas, "0229": dataclasses.replace(
        service.areas["0229"], connected=service.areas["0229"].connected[::-1][:3])})
    shared = [asterisk_config.render_dialplan(s).split("[fourteenplus-menu]")[1] for s in (service, reordered)]
    assert shared[0] == shared[1]
    assert "${EXTEN" not in shared[0] and "CALLERID" not in shared[0]


def test_prompts_cover_what_the_call_flow_plays(service):
    for language in LANGUAGES:
        texts = prompts.prompt_texts(service, language)
        assert {f"number/{reason}" for reason in REASONS} <= set(texts)
        for code, plan in service.areas.items():
            if len(plan.connected) > 1:
                assert texts[plan.menu_prompt].count(plan.connected[0]) == 1
                for name in plan.connected:
                    assert f"confirm/{service.municipality(name).slug}" in texts
                if plan.default:  # the default is announced by name, in every language
                    assert plan.default in texts[f"default/{service.municipality(plan.default).slug}"]
        assert texts["busy"]
    nl = prompts.prompt_texts(service, "nl")
    assert nl["default/hoorn"] == "U wordt doorverbonden met Hoorn."
    assert nl["busy"] == "Het is nu erg druk. Kies met de toetsen."
    assert nl[service.plan("0229").menu_prompt].startswith("Voor Hoorn, toets 1. Voor Medemblik, toets 2.")
    assert nl["confirm/kapelle"].startswith("Bedoelt u Kapelle?")


def test_credentials_are_random_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("FOURTEENPLUS_STATE", str(tmp_path))
    with pytest.raises(asterisk_config.AsteriskError):
        asterisk_config.credentials()
    first = asterisk_config.credentials(create=True)
    assert stat.S_IMODE(asterisk_config.credentials_path().stat().st_mode) == 0o600
    assert asterisk_config.credentials(create=True) == first
    assert len(first.ari_password) >= 24 and first.ari_password != first.ami_secret
    files = asterisk_config.credential_files(first)
    assert first.ari_password in files["fourteenplus-ari-users.conf"]
    assert "permit=127.0.0.1/255.255.255.255" in files["fourteenplus-manager-users.conf"]


def test_debian_mirror_from_apt_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.debian.org/debian-security\n\n"
        "Types: deb\nURIs: http://mirror.example.nl/debian/\nSuites: bookworm\n")
    assert asterisk.debian_mirror(tmp_path) == "http://mirror.example.nl/debian"
    (tmp_path / "sources.list.d" / "debian.sources").unlink()
    (tmp_path / "sources.list").write_text("deb [arch=amd64] http://ftp.nl.debian.org/debian bookworm main\n")
    assert asterisk.debian_mirror(tmp_path) == "http://ftp.nl.debian.org/debian"
    (tmp_path / "sources.list").unlink()
    assert asterisk.debian_mirror(tmp_path) == asterisk.DEFAULT_MIRROR


def test_rfc4733_key_press():
    packets = sipp._dtmf_payloads("#")
    assert [marker for _, marker in packets] == [True] + [False] * 8
    assert packets[0][0] == bytes([11, 10, 0, 160])
    assert packets[-1][0] == bytes([11, 0x80 | 10, 960 >> 8, 960 & 0xFF])


def test_trunk_log_and_where_a_call_ended(tmp_path):
    trunk = sipp.Trunk(tmp_path)
    trunk.log.write_text(
        "INVITE|2026-11-23\t09:08:22.07\t1795424902.07|busy-rotterdam|0611|Rotterdam||a\n"
        "INVITE|2026-11-23\t09:08:22.09\t1795424902.09|regio-rijnmond|0611| Rotterdam||b\n"
        "INVITE|2026-11-23\t09:08:23.00\t1795424903.00|amsterdam|0622|Amsterdam||c\n"
        "INVITE|2026-11-23\t09:08:24.00\t1795424904.00|0612345678|140229||140229|d\n")
    invites = trunk.invites("0611")
    assert [i.user for i in invites] == ["busy-rotterdam", "regio-rijnmond"]
    [outbound] = trunk.invites(user="0612345678")
    assert outbound.caller == outbound.asserted == "140229" and invites[0].asserted == ""
    result = sipp.CallResult("14010", "0611", tuple(invites), "Asterisk hung up", 1795424901.0, None, (), 0.0)
    assert result.reached.user == "regio-rijnmond"
    assert result.describe() == ("ended at Rotterdam: trunk sip:regio-rijnmond@127.0.0.1:5070, "
                                 "overflow after sip:busy-rotterdam (refused)")
    nothing = sipp.CallResult("140000", "0633", (), "Asterisk hung up", 1.0, 1.1, (), 2.0)
    assert nothing.describe() == "no trunk dialled: Asterisk hung up"


def test_every_prompt_the_dialplans_play_is_one_the_install_makes(service):
    """A Playback or Read of a prompt that was never made is silence to a caller: every id the
    static and the generated dialplan name, and every one their menu variables can hold, is
    among the prompts `prompts.install` makes."""
    made = set(prompts.prompt_texts(service, service.language))
    generated = asterisk_config.render_dialplan(service)
    dialplans = (DIALPLAN / "fourteenplus.conf").read_text() + generated
    named = set(re.findall(r"\$\{FOURTEENPLUS_PROMPTS\}/([a-z0-9_/-]+)(?![a-z0-9_/$-])", dialplans))
    held = set(re.findall(r"FOURTEENPLUS_MENU_PROMPT=([a-z0-9_/-]+)\)", generated))
    held |= {f"default/{slug}" for slug in re.findall(r"FOURTEENPLUS_MENU_DEFAULT=([a-z0-9-]+)\)", generated)}
    assert named and held
    assert named | held <= made, sorted((named | held) - made)
