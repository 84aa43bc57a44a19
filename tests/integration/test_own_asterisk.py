"""The operator's own Asterisk, laid out as a source build lays it out (issue 27, part 1), over
real calls.

Inside the bundled root, a second Asterisk installation under /opt/fourteenplus-source: its own
asterisk.conf (`asterisk -C`), its configuration in <prefix>/etc/asterisk and its sounds in
<prefix>/var/lib/asterisk/sounds, where a source build keeps them, not Debian's
/usr/share/asterisk. Its files are the operator's: the shipped configuration without our
`#include` lines, and an ARI user of its own, whose password the app reads from a file.
`asterisk install --host` must find everything from that asterisk.conf, write only our files
and the #include lines, and the app must log in as the operator's ARI user. The bundled
Asterisk is stopped for the module and started again after it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from fourteenplus import asterisk, asterisk_layout, paths, prompts, resources, sipp
from fourteenplus.paths import CHECKOUT
from fourteenplus.config import load_service
from fourteenplus.sipp import Say, WaitPrompt
from fourteenplus_dev.app import AppProcess

from .conftest import placer, stored

PREFIX = "/opt/fourteenplus-source"  # as Asterisk sees it: ./configure --prefix=… of a source build
ETC = f"{PREFIX}/etc/asterisk"
ARI_USER, ARI_PASSWORD = "pbx-apps", "an-operators-own-ari-password"
AMI_PORT = 5039  # the operator's manager is not on the default port: `asterisk.ami` says where


def asterisk_conf(modules: str) -> str:
    dirs = {"astetcdir": ETC, "astmoddir": modules, "astvarlibdir": f"{PREFIX}/var/lib/asterisk",
            "astdbdir": f"{PREFIX}/var/lib/asterisk", "astkeydir": f"{PREFIX}/var/lib/asterisk",
            "astdatadir": f"{PREFIX}/var/lib/asterisk", "astagidir": f"{PREFIX}/var/lib/asterisk/agi-bin",
            "astspooldir": f"{PREFIX}/var/spool/asterisk", "astrundir": f"{PREFIX}/var/run/asterisk",
            "astlogdir": f"{PREFIX}/var/log/asterisk", "astcachedir": f"{PREFIX}/var/cache/asterisk",
            "astsbindir": "/usr/sbin"}
    return "[directories]\n" + "".join(f"{key} => {value}\n" for key, value in dirs.items())


def operators_files() -> dict[str, str]:
    """The operator's own configuration: the shipped one without anything of ours in it."""
    files = {}
    for conf in sorted(resources.ASTERISK_CONF.glob("*.conf")):
        if conf.name in asterisk.OWN_FILES:
            continue
        files[conf.name] = "".join(line for line in conf.read_text().splitlines(keepends=True)
                                   if not line.startswith("#include fourteenplus"))
    files["ari.conf"] += f"\n[{ARI_USER}]\ntype=user\nread_only=no\npassword_format=plain\npassword={ARI_PASSWORD}\n"
    files["manager.conf"] = files["manager.conf"].replace("port=5038", f"port={AMI_PORT}")
    return files


@pytest.fixture(scope="module")
def own_asterisk(trunk, service_yaml, tmp_path_factory):
    """(configuration, root, what install said) of the source-layout Asterisk, running."""
    root = paths.asterisk_root()
    tree = root / PREFIX.lstrip("/")
    shutil.rmtree(tree, ignore_errors=True)
    uid, gid = asterisk.asterisk_ids(root)
    modules = "/" + str(next(root.glob("usr/lib/*/asterisk/modules")).relative_to(root))
    etc = root / ETC.lstrip("/")
    etc.mkdir(parents=True)
    for name, text in {**operators_files(), "asterisk.conf": asterisk_conf(modules)}.items():
        (etc / name).write_text(text)
    for made in ("var/lib/asterisk", "var/spool/asterisk", "var/run/asterisk", "var/log/asterisk", "var/cache/asterisk"):
        (tree / made).mkdir(parents=True)  # what `make install` makes
    # and the data a source install puts beside the sounds: the modules' documentation, without
    # which Asterisk refuses their options, and ARI's API descriptions
    for data in ("documentation", "rest-api"):
        (tree / "var/lib/asterisk" / data).symlink_to(f"/usr/share/asterisk/{data}")
    for top, dirs, files in os.walk(tree):
        for name in (".", *dirs, *files):
            os.lchown(os.path.join(top, name), uid, gid)  # a link, not what it points to in the root
    secrets = tmp_path_factory.mktemp("own-asterisk")
    (secrets / "ari-password").write_text(ARI_PASSWORD + "\n")
    config = secrets / "service.yaml"
    config.write_text(service_yaml.read_text() + f"""
asterisk:
  asterisk_conf: {ETC}/asterisk.conf
  ari: {{user: {ARI_USER}, password_file: {secrets / 'ari-password'}}}
  ami: {{port: {AMI_PORT}}}
""")
    service = load_service(config)
    said: list[str] = []
    asterisk.install(service, root=root, host=True, log=said.append)
    asterisk.stop()  # the bundled one: the same ports
    try:
        asterisk.start(root, settings=service.asterisk)
        yield config, root, "\n".join(said)
    finally:
        asterisk.stop()
        shutil.rmtree(tree, ignore_errors=True)
        asterisk.start(root)


@pytest.fixture(scope="module")
def own_app(own_asterisk, tmp_path_factory):
    """The app serving it, its /metrics on a port of its own (the bundled app's may be taken):
    yields that port."""
    config, _, _ = own_asterisk
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = AppProcess(config, tmp_path_factory.mktemp("own-app") / "app.log",
                         options=("--metrics-port", str(port)))
    process.start()
    yield port
    process.stop()


def test_install_host_follows_the_operators_asterisk_conf(own_asterisk):
    config, root, said = own_asterisk
    etc = root / ETC.lstrip("/")
    sounds = asterisk_layout.read(root, f"{ETC}/asterisk.conf").sounds
    assert sounds == root / PREFIX.lstrip("/") / "var/lib/asterisk/sounds"
    assert (sounds / prompts.SOUNDS_SUBDIR / "nl/question.ulaw").stat().st_size > 1000
    assert f"added `#include fourteenplus.conf` to {etc / 'extensions.conf'}" in said
    assert f"added `#include fourteenplus-manager-users.conf` to {etc / 'manager.conf'}" in said
    assert "ari.conf" not in said, "the app logs in as the operator's ARI user: no user of ours there"
    assert not (etc / "fourteenplus-ari-users.conf").exists()


def test_the_keypad_fallback_plays_from_the_operators_sounds_without_the_app(own_asterisk, trunk, tmp_path):
    """No app: the dialplan's keypad menu (its prompts from the same sounds) still routes the call."""
    result = placer(trunk, tmp_path)("140229", [WaitPrompt(), sipp.PressKeys("2")])
    assert result.first_audio_at is not None
    assert [invite.user for invite in result.invites] == ["medemblik"]


def test_a_call_through_the_operators_source_layout_asterisk(own_app, trunk, service_yaml, tmp_path):
    """The question is heard (from the sounds the operator's asterisk.conf names), the name is
    recognised by the app logged in as the operator's ARI user, and the trunk rings."""
    started = time.time()
    result = placer(trunk, tmp_path)("140229", [WaitPrompt(), Say("Koggenland")])
    assert result.first_audio_at is not None, "the question was played"
    assert [invite.user for invite in result.invites] == ["koggenland"]
    record = stored(service_yaml, "140229", since=started)
    assert record is not None and record.municipality == "Koggenland"


def test_status_finds_the_app_as_the_operators_ari_user(own_app, own_asterisk):
    """`fourteenplus status` on the operator's Asterisk reaches its manager on the port the
    configuration names, asks ARI as the configuration's user (the generated one is not in
    their ari.conf) and reads the app's /readyz."""
    config, _, _ = own_asterisk
    result = subprocess.run([sys.executable, "-m", "fourteenplus.cli", "status", "--json", "--config", str(config),
                             "--metrics-port", str(own_app)],
                            capture_output=True, text=True, cwd=CHECKOUT, timeout=60)
    health = json.loads(result.stdout)
    assert result.returncode == 0, (health["problems"], result.stderr)
    assert health["asterisk"] is True and health["version"].startswith("22.")
    assert health["ari_app"] is True
    assert health["readiness"] == {"ari": {"ready": True, "checks": {"ari": True, "model": True, "records": True}}}
