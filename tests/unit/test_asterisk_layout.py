"""On the operator's own Asterisk (issue 27, part 1): its directories read from its own
asterisk.conf, the configuration's `asterisk:` section, and `asterisk install --host` into
an Asterisk laid out as a source build lays it out. Over real calls: tests/integration/test_own_asterisk.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fourteenplus import asterisk, asterisk_config, asterisk_layout, prompts
from fourteenplus.config import EXAMPLE, AsteriskSettings, load_service
from fourteenplus.errors import ConfigError, ConfigErrors

# What `make samples` installs for a source build (a template section, values its defaults).
SOURCE_CONF = """\
; In order for Asterisk to process the [directories](!) stanza below,
; you will need to remove the (!) suffix, which marks this as a template.
[directories](!)
astcachedir => /var/cache/asterisk
astetcdir => /etc/asterisk
astmoddir => /usr/lib/asterisk/modules
astvarlibdir => /var/lib/asterisk
astdbdir => /var/lib/asterisk
astkeydir => /var/lib/asterisk
astdatadir => /var/lib/asterisk     ; sounds, images, keys
astagidir => /var/lib/asterisk/agi-bin
astspooldir => /var/spool/asterisk
astrundir => /var/run/asterisk
astlogdir => /var/log/asterisk
astsbindir => /usr/sbin

[options]
;astdatadir = /nowhere  ; a comment, and another section: neither counts
"""

DEBIAN_CONF = "[directories](!)\nastetcdir => /etc/asterisk\nastdatadir => /usr/share/asterisk\n"


def test_asterisk_conf_names_the_directories_template_or_not():
    source = asterisk_layout.parse(SOURCE_CONF, "asterisk.conf")
    assert source["astdatadir"] == "/var/lib/asterisk" and source["astspooldir"] == "/var/spool/asterisk"
    assert asterisk_layout.parse(DEBIAN_CONF.replace("(!)", ""), "x")["astdatadir"] == "/usr/share/asterisk"
    # Asterisk ignores underscores and case in these names, and takes = as well as =>
    assert asterisk_layout.parse("[Directories]\nAST_DATA_DIR = /opt/ast/\n", "x") == {"astdatadir": "/opt/ast"}


def test_asterisk_conf_with_a_relative_directory_is_refused_with_its_line():
    with pytest.raises(ConfigError) as caught:
        asterisk_layout.parse("[directories]\nastetcdir => /etc/asterisk\nastdatadir => sounds\n", "/etc/asterisk/asterisk.conf")
    assert caught.value.where == "/etc/asterisk/asterisk.conf:3:1" and "astdatadir" in caught.value.message


def test_layout_reads_the_roots_own_file_and_the_configuration_overrides_it(tmp_path):
    (tmp_path / "etc/asterisk").mkdir(parents=True)
    (tmp_path / "etc/asterisk/asterisk.conf").write_text(DEBIAN_CONF)
    assert asterisk_layout.read(tmp_path).sounds == tmp_path / "usr/share/asterisk/sounds"
    moved = asterisk_layout.read(tmp_path, overrides={"astdatadir": "/srv/asterisk"})
    assert moved.sounds == tmp_path / "srv/asterisk/sounds" and moved.etc == tmp_path / "etc/asterisk"
    # no asterisk.conf at all: a source build's compiled-in defaults
    assert asterisk_layout.read(tmp_path / "bare").sounds == tmp_path / "bare/var/lib/asterisk/sounds"


def _config(tmp_path: Path, section: str) -> Path:
    path = tmp_path / "service.yaml"
    path.write_text(EXAMPLE.read_text() + "\n" + section)
    return path


def test_asterisk_section_read_into_the_service(tmp_path):
    service = load_service(_config(tmp_path, """\
asterisk:
  ari:
    url: http://192.0.2.7:8088
    user: pbx-apps
    password_env: PBX_ARI_PASSWORD
    media: slin
  agi: {host: 127.0.0.2, port: 4600}
  ami: {port: 5039}
  asterisk_conf: /opt/asterisk/etc/asterisk.conf
  directories: {astdatadir: /srv/asterisk/}
"""))
    assert service.asterisk == AsteriskSettings(
        ari_url="http://192.0.2.7:8088/", ari_user="pbx-apps", ari_password_env="PBX_ARI_PASSWORD", ari_media="slin",
        agi_host="127.0.0.2", agi_port=4600, ami_port=5039, conf="/opt/asterisk/etc/asterisk.conf",
        directories={"astdatadir": "/srv/asterisk"})
    assert "Set(FOURTEENPLUS_AGI=agi://127.0.0.2:4600/fourteenplus)" in asterisk_config.render_dialplan(service)
    assert load_service(EXAMPLE).asterisk == AsteriskSettings()


@pytest.mark.parametrize("section, line, words", [
    ("asterisk:\n  ari: {user: me}\n", 2, "needs its password"),
    ("asterisk:\n  ari: {password_file: /etc/pw}\n", 2, "without 'user'"),
    ("asterisk:\n  ari: {user: me, password_file: pw}\n", 2, "absolute path"),
    ("asterisk:\n  ari:\n    url: ftp://x\n", 3, "http(s)://"),
    ("asterisk:\n  ari:\n    media: alaw\n", 3, "'media' must be one of ulaw, slin"),
    ("asterisk:\n  agi: {host: 0.0.0.0}\n", 2, "name one address"),
    ("asterisk:\n  agi:\n    host: localhost\n", 3, "IP address"),
    ("asterisk:\n  agi: {port: 70000}\n", 2, "between 1 and 65535"),
    ("asterisk:\n  asterisk_conf: etc/asterisk.conf\n", 2, "absolute path"),
    ("asterisk:\n  directories:\n    astsoundsdir: /x\n", 3, "unknown key 'astsoundsdir'"),
    ("asterisk:\n  ami:\n    host: pbx.example\n", 3, "manager listens on"),
    ("asterisk:\n  ami: {port: 0}\n", 2, "between 1 and 65535"),
    ("asterisk:\n  ami: {user: admin}\n", 2, "unknown key 'user'"),
    ("asterisk:\n  manager: {}\n", 2, "unknown key 'manager'"),
])
def test_asterisk_section_errors_name_their_line(tmp_path, section, line, words):
    path = _config(tmp_path, section)
    first = path.read_text().splitlines().index("asterisk:") + 1  # the section's own line
    with pytest.raises(ConfigErrors) as caught:
        load_service(path)
    [error] = caught.value.errors
    assert error.file == str(path) and error.line == first + line - 1 and words in error.message


def test_ari_login_is_the_operators_user_with_the_password_from_file_or_environment(tmp_path, monkeypatch):
    secret = tmp_path / "ari-password"
    secret.write_text("s3cret-of-theirs\n")
    own = AsteriskSettings(ari_user="pbx-apps", ari_password_file=str(secret))
    assert asterisk_config.ari_login(own) == ("pbx-apps", "s3cret-of-theirs")
    from_env = AsteriskSettings(ari_user="pbx-apps", ari_password_env="PBX_ARI_PASSWORD")
    with pytest.raises(asterisk_config.AsteriskError, match=r"\$PBX_ARI_PASSWORD"):
        asterisk_config.ari_login(from_env)
    monkeypatch.setenv("PBX_ARI_PASSWORD", "from-env")
    assert asterisk_config.ari_login(from_env) == ("pbx-apps", "from-env")
    secret.unlink()
    with pytest.raises(asterisk_config.AsteriskError, match="cannot read the password"):
        asterisk_config.ari_login(own)


def source_built(root: Path) -> Path:
    """An Asterisk installed from source into `root`: its own asterisk.conf in a non-Debian
    place, sounds in /var/lib/asterisk, and the operator's own extensions/ari/manager files."""
    etc = root / "opt/asterisk/etc"
    etc.mkdir(parents=True)
    (etc / "asterisk.conf").write_text(SOURCE_CONF.replace("astetcdir => /etc/asterisk", "astetcdir => /opt/asterisk/etc"))
    (etc / "extensions.conf").write_text("[from-carrier]\nexten => _X.,1,Goto(fourteenplus-in,${EXTEN},1)")
    (etc / "ari.conf").write_text("[general]\nenabled = yes\n#include \"fourteenplus-ari-users.conf\"\n")
    os.chmod(etc / "extensions.conf", 0o600)
    return etc


@pytest.fixture
def no_speech(monkeypatch):
    """Prompts made without speech synthesis: where they go is what is tested."""
    made = []

    def install(service, sounds, owner=None):
        (sounds / prompts.SOUNDS_SUBDIR).mkdir(parents=True, exist_ok=True)
        made.append(sounds)
        return 0
    monkeypatch.setattr(prompts, "install", install)
    return made


def test_install_host_writes_only_ours_where_the_operators_asterisk_conf_says(tmp_path, monkeypatch, no_speech):
    monkeypatch.setenv("FOURTEENPLUS_STATE", str(tmp_path / "state"))
    root = tmp_path / "root"
    etc = source_built(root)
    before = {p.name for p in etc.iterdir()}
    service = load_service(_config(tmp_path, "asterisk:\n  asterisk_conf: /opt/asterisk/etc/asterisk.conf\n"))
    said: list[str] = []
    assert asterisk.install(service, root=root, host=True, log=said.append) == etc
    assert no_speech == [root / "var/lib/asterisk/sounds"]
    ours = {"fourteenplus.conf", "fourteenplus-generated.conf", "fourteenplus-ari-users.conf",
            "fourteenplus-manager-users.conf"}
    assert {p.name for p in etc.iterdir()} == before | ours | {"manager.conf"}
    extensions = (etc / "extensions.conf").read_text()
    # appended on a line of its own, the operator's file keeps its mode
    assert extensions.endswith("Goto(fourteenplus-in,${EXTEN},1)\n; added by `fourteenplus asterisk install --host`\n"
                               "#include fourteenplus.conf\n; added by `fourteenplus asterisk install --host`\n"
                               "#include fourteenplus-generated.conf\n")
    assert (etc / "extensions.conf").stat().st_mode & 0o777 == 0o600
    assert (etc / "ari.conf").read_text().count("fourteenplus-ari-users.conf") == 1  # already included
    assert (etc / "manager.conf").read_text().endswith("#include fourteenplus-manager-users.conf\n")
    assert not (root / "usr/share").exists()
    text = "\n".join(said)
    assert str(root / "var/lib/asterisk/sounds/fourteenplus") in text
    assert f"added `#include fourteenplus.conf` to {etc / 'extensions.conf'}" in text
    assert "ari.conf" not in text.split("; prompts")[1]  # nothing added there
    # again: nothing is added twice
    asterisk.install(service, root=root, host=True, log=said.append)
    assert (etc / "extensions.conf").read_text() == extensions
    assert asterisk.ours(service, root) and asterisk.layout(service, root).sounds == root / "var/lib/asterisk/sounds"


def test_install_host_with_the_operators_ari_user_writes_no_ari_user(tmp_path, monkeypatch, no_speech):
    monkeypatch.setenv("FOURTEENPLUS_STATE", str(tmp_path / "state"))
    root = tmp_path / "root"
    etc = source_built(root)
    service = load_service(_config(tmp_path, "asterisk:\n  asterisk_conf: /opt/asterisk/etc/asterisk.conf\n"
                                             "  ari: {user: pbx-apps, password_env: PBX_ARI_PASSWORD}\n"))
    asterisk.install(service, root=root, host=True, log=lambda line: None)
    assert not (etc / "fourteenplus-ari-users.conf").exists()
    assert (etc / "fourteenplus-manager-users.conf").exists()


def test_install_host_without_the_operators_asterisk_conf_says_what_to_name(tmp_path, monkeypatch, no_speech):
    root = tmp_path / "root"
    source_built(root)
    with pytest.raises(asterisk_config.AsteriskError, match="asterisk.asterisk_conf"):
        asterisk.install(load_service(EXAMPLE), root=root, host=True)
