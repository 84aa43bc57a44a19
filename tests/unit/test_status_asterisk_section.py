"""`fourteenplus status` looks for the call-handling side where the configuration's `asterisk:`
section puts it (issue 27): the FastAGI server on `asterisk.agi`'s address, the ARI app at
`asterisk.ari.url`, asked as the operator's ARI user. Asterisk itself (AMI) is a stand-in here;
tests/integration/test_status.py asks a real one."""

from __future__ import annotations

import base64
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fourteenplus import ami, asterisk_config, cli
from fourteenplus.config import EXAMPLE


class Asterisk22:
    """AMI's answers to the status actions: an idle Asterisk 22 without trunks."""

    async def send_action(self, action: dict) -> dict:
        return {"CoreSettings": {"AsteriskVersion": "22.1.0"},
                "CoreStatus": {"CoreStartupDate": "2026-12-06", "CoreStartupTime": "21:00:00"}}.get(action["Action"], {})

    def close(self) -> None:
        pass


@pytest.fixture
def installation(tmp_path, monkeypatch):
    """A state dir with the generated credentials, and AMI answering as Asterisk 22 would."""
    monkeypatch.setenv("FOURTEENPLUS_STATE", str(tmp_path / "state"))
    asterisk_config.credentials(create=True)

    async def connect(user, secret, **kwargs):
        return Asterisk22()
    monkeypatch.setattr(ami, "connect", connect)
    return tmp_path


def configuration(tmp_path, section: str):
    path = tmp_path / "fourteenplus.yaml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8") + "\n" + section, encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status(config, mode: str, capsys) -> tuple[int, dict]:
    code = cli.main(["status", "--json", "--mode", mode, "--config", str(config)])
    return code, json.loads(capsys.readouterr().out)


def test_status_finds_the_fastagi_server_on_the_configured_port(installation, capsys):
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        config = configuration(installation, f"asterisk:\n  agi: {{host: 127.0.0.1, port: {port}}}\n")
        code, health = status(config, "agi", capsys)
    assert (code, health["agi_server"], health["problems"]) == (0, True, [])
    # the default port is not where this configuration's server listens
    assert status(configuration(installation, f"asterisk:\n  agi: {{port: {free_port()}}}\n"), "agi", capsys)[1][
        "problems"] == ["the FastAGI server is not reachable: run `fourteenplus agi`"]


def test_status_asks_the_configured_ari_as_the_operators_user(installation, monkeypatch, capsys):
    asked: list[tuple[str, str]] = []

    class Ari(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append((self.path, base64.b64decode(self.headers["Authorization"].split()[1]).decode()))
            self.send_response(200 if self.path == "/ari/applications/fourteenplus" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ari)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("PBX_ARI_PASSWORD", "s3cret-of-the-pbx")
        config = configuration(installation, f"""\
asterisk:
  ari: {{url: "http://127.0.0.1:{server.server_address[1]}", user: pbx-apps, password_env: PBX_ARI_PASSWORD}}
""")
        code, health = status(config, "ari", capsys)
    finally:
        server.shutdown()
        server.server_close()
    assert (code, health["ari_app"]) == (0, True)
    assert asked == [("/ari/applications/fourteenplus", "pbx-apps:s3cret-of-the-pbx")]


def test_status_without_the_ari_users_password_says_so_and_fails(installation, capsys):
    config = configuration(installation, "asterisk:\n  ari: {user: pbx-apps, password_env: PBX_ARI_UNSET}\n")
    code, health = status(config, "ari", capsys)
    assert code == 1 and health["ari_app"] is False
    assert any("$PBX_ARI_UNSET" in problem for problem in health["problems"]), health["problems"]
