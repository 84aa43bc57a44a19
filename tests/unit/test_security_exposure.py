"""`fourteenplus check` warns, with file and line, about every Asterisk door open beyond
loopback: ARI/AMI/SIP binds, anonymous (guest) endpoints, callers in a dialling context,
weak secrets."""

import shutil

import pytest

from fourteenplus import asterisk, asterisk_config
from fourteenplus.cli import main
from fourteenplus.exposure import audit, read_conf

SHIPPED = asterisk.CONF_DIRS[0]


@pytest.fixture
def etc(tmp_path):
    """A copy of the shipped Asterisk configuration, to open doors in."""
    target = tmp_path / "etc"
    shutil.copytree(SHIPPED, target)
    return target


def replace(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def line_of(path, text):
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def where(warnings):
    return {(w.file.rsplit("/", 1)[-1], w.line): w.message for w in warnings}


def test_security_shipped_configuration_opens_no_door():
    assert audit(SHIPPED) == []


def test_security_ari_on_every_address_is_named_with_its_line(etc):
    replace(etc / "http.conf", "bindaddr=127.0.0.1", "bindaddr=0.0.0.0")
    found = where(audit(etc))
    assert list(found) == [("http.conf", line_of(etc / "http.conf", "bindaddr=0.0.0.0"))]
    assert "beyond loopback" in found[("http.conf", line_of(etc / "http.conf", "bindaddr"))]


def test_security_ami_without_bindaddr_listens_everywhere(etc):
    replace(etc / "manager.conf", "bindaddr=127.0.0.1\n", "")
    (warning,) = audit(etc)
    assert warning.file.endswith("manager.conf") and warning.line == line_of(etc / "manager.conf", "[general]")
    assert "every address" in warning.message


def test_security_ami_user_open_to_the_internet_and_weak_secret(etc):
    (etc / "fourteenplus-manager-users.conf").write_text(
        "[admin]\nsecret=amp111\ndeny=0.0.0.0/0.0.0.0\npermit=0.0.0.0/0.0.0.0\n")
    found = where(audit(etc))
    assert "6 characters" in found[("fourteenplus-manager-users.conf", 2)]
    assert "may log in from 0.0.0.0/0.0.0.0" in found[("fourteenplus-manager-users.conf", 4)]


def test_security_generated_credentials_pass(etc, tmp_path, monkeypatch):
    monkeypatch.setenv("FOURTEENPLUS_STATE", str(tmp_path / "state"))
    for name, text in asterisk_config.credential_files(asterisk_config.credentials(create=True)).items():
        (etc / name).write_text(text)
    assert audit(etc) == []


def test_security_ari_any_origin_and_short_password(etc):
    replace(etc / "ari.conf", "allowed_origins=http://127.0.0.1:8088", "allowed_origins=*")
    (etc / "fourteenplus-ari-users.conf").write_text("[asterisk]\ntype=user\npassword=asterisk\n")
    found = where(audit(etc))
    assert "any web origin" in found[("ari.conf", line_of(etc / "ari.conf", "allowed_origins"))]
    assert "8 characters" in found[("fourteenplus-ari-users.conf", 3)]


def test_security_sip_guest_calls_and_wide_binds_are_named(etc):
    pjsip = etc / "pjsip.conf"
    replace(pjsip, "bind=127.0.0.1:5060", "bind=0.0.0.0:5060")
    replace(pjsip, "endpoint_identifier_order=ip", "endpoint_identifier_order=ip,anonymous")
    with pjsip.open("a") as f:
        f.write("\n[anonymous](fourteenplus-media)\ncontext=fourteenplus-in\n"
                "\n[everyone]\ntype=identify\nendpoint=fourteenplus-callers\nmatch=0.0.0.0/0\n")
    found = where(audit(etc))
    messages = "\n".join(found.values())
    assert "listens on 0.0.0.0:5060" in found[("pjsip.conf", line_of(pjsip, "bind=0.0.0.0"))]
    assert "includes anonymous" in messages
    assert "endpoint named anonymous" in found[("pjsip.conf", line_of(pjsip, "[anonymous]"))]
    assert "matches 0.0.0.0/0" in found[("pjsip.conf", line_of(pjsip, "match=0.0.0.0/0"))]


def test_security_caller_endpoint_in_a_dialling_context_through_its_template(etc):
    """The context comes from the template: the warning points at the template's line."""
    pjsip = etc / "pjsip.conf"
    replace(pjsip, "context=fourteenplus-in\n", "context=fourteenplus-dial\n")
    (warning,) = audit(etc)
    assert warning.line == line_of(pjsip, "context=fourteenplus-dial")
    assert "fourteenplus-callers" in warning.message and "[fourteenplus-in]" in warning.message


def test_security_reader_follows_includes_templates_and_additions(tmp_path):
    (tmp_path / "a.conf").write_text("[t](!)\nx=1 ; comment\n[s](t)\ny=2\n#include b.conf\n[s](+)\nz=3\n")
    (tmp_path / "b.conf").write_text("[u]\nw => 4\n")
    sections = {s.name: s for s in read_conf(tmp_path / "a.conf")}
    assert set(sections) == {"s", "u"}
    assert [(o.key, o.value) for o in sections["s"].options] == [("x", "1"), ("y", "2"), ("z", "3")]
    assert sections["u"].get("w").file.name == "b.conf"


def test_security_check_prints_open_doors_as_warnings_and_exits_0(etc, capsys):
    replace(etc / "http.conf", "bindaddr=127.0.0.1", "bindaddr=192.0.2.10")
    assert main(["check", "--asterisk-etc", str(etc)]) == 0
    err = capsys.readouterr().err
    assert f"{etc / 'http.conf'}:{line_of(etc / 'http.conf', 'bindaddr')}: warning: the HTTP server (ARI) listens on 192.0.2.10" in err


def test_security_check_with_a_missing_asterisk_directory_exits_1(tmp_path, capsys):
    assert main(["check", "--asterisk-etc", str(tmp_path / "nope")]) == 1
    assert "is not a directory" in capsys.readouterr().err
