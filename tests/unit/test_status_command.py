"""`fourteenplus status`, the on-call engineer's one command (issue 27): it looks for the
call-handling side where the configuration's `asterisk:` section puts it (the FastAGI server on
`asterisk.agi`'s address, the ARI app at `asterisk.ari.url`, asked as the operator's ARI user),
and says what that app's own /readyz says of it (model, record store). Asterisk itself (AMI)
is a stand-in here; tests/integration/test_status.py asks a real one."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fourteenplus import ami, asterisk_config, cli
from fourteenplus.config import EXAMPLE
from fourteenplus.metrics import Metrics


class Asterisk22:
    """AMI's answers to the status actions: an idle Asterisk 22 without trunks."""

    async def send_action(self, action: dict) -> dict:
        return {"CoreSettings": {"AsteriskVersion": "22.1.0"},
                "CoreStatus": {"CoreStartupDate": "2026-12-06", "CoreStartupTime": "21:00:00"}}.get(action["Action"], {})

    def close(self) -> None:
        pass


@pytest.fixture
def installation(tmp_path, monkeypatch, ami_asked):
    """A state dir with the generated credentials, AMI answering as Asterisk 22 would, and no
    app's /readyz where status looks (not an app that runs on this machine's default ports)."""
    monkeypatch.setenv("FOURTEENPLUS_STATE", str(tmp_path / "state"))
    for side in ami.READYZ_PORTS:
        monkeypatch.setitem(ami.READYZ_PORTS, side, free_port())
    asterisk_config.credentials(create=True)

    async def connect(user, secret, host, port, **kwargs):
        ami_asked.append((host, port))
        return Asterisk22()
    monkeypatch.setattr(ami, "connect", connect)
    return tmp_path


@pytest.fixture
def ami_asked() -> list[tuple[str, int]]:
    """Where status asked AMI, in order."""
    return []


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


def test_status_asks_ami_where_the_section_says(installation, ami_asked, capsys):
    status(configuration(installation, ""), "agi", capsys)
    status(configuration(installation, "asterisk:\n  ami: {host: 127.0.0.3, port: 5039}\n"), "agi", capsys)
    assert ami_asked == [("127.0.0.1", 5038), ("127.0.0.3", 5039)]


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


@pytest.fixture
def agi_app(installation, monkeypatch):
    """A FastAGI port and, on another, the /readyz of the app behind it (`Metrics` as `agi`
    serves it, its checks those `agi` gives): (configuration, metrics, which records can lose)."""
    metrics, losing = Metrics(), {"records": False}
    metrics.ready_when("model", lambda: True)
    metrics.ready_when("records", lambda: not losing["records"])
    metrics.ready_when("agi", lambda: True)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(metrics.serve("127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    monkeypatch.setitem(ami.READYZ_PORTS, "agi", server.sockets[0].getsockname()[1])
    with socket.create_server(("127.0.0.1", 0)) as listening:
        config = configuration(installation, f"asterisk:\n  agi: {{port: {listening.getsockname()[1]}}}\n")
        yield config, losing
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    server.close()
    loop.close()


def test_status_says_the_app_is_ready_from_its_readyz(agi_app, capsys):
    config, _ = agi_app
    code, health = status(config, "agi", capsys)
    assert code == 0 and health["readiness"] == {"agi": {"ready": True, "checks": {"agi": True, "model": True,
                                                                                    "records": True}}}
    assert cli.main(["status", "--mode", "agi", "--config", str(config)]) == 0
    assert "fourteenplus agi: ready (agi ok, model ok, records ok)" in capsys.readouterr().out


def test_an_app_that_loses_records_is_a_problem_that_status_names(agi_app, capsys):
    """The FastAGI port still takes calls, but the record store and the spool take no record:
    up to the port, down to the engineer."""
    config, losing = agi_app
    losing["records"] = True
    code, health = status(config, "agi", capsys)
    assert code == 1 and health["agi_server"] is True
    assert health["problems"] == [f"`fourteenplus agi` is not ready: records failing "
                                  f"(its /readyz on 127.0.0.1:{ami.READYZ_PORTS['agi']})"]


def test_status_asks_the_metrics_port_it_is_given_or_none(agi_app, monkeypatch, capsys):
    config, losing = agi_app
    losing["records"] = True
    port = ami.READYZ_PORTS["agi"]
    monkeypatch.setitem(ami.READYZ_PORTS, "agi", free_port())  # not where this app serves: --metrics-port says
    assert cli.main(["status", "--mode", "agi", "--config", str(config), "--metrics-port", str(port)]) == 1
    assert "fourteenplus agi: NOT ready (agi ok, model ok, records FAILING)" in capsys.readouterr().out
    code = cli.main(["status", "--json", "--mode", "agi", "--config", str(config), "--metrics-port", "0"])
    assert (code, json.loads(capsys.readouterr().out)["readiness"]) == (0, {})


def test_an_app_without_readyz_is_reported_not_failed(installation, capsys):
    """Metrics off (--metrics-port 0) or on another port: status cannot say, and says so."""
    with socket.create_server(("127.0.0.1", 0)) as listening:
        config = configuration(installation, f"asterisk:\n  agi: {{port: {listening.getsockname()[1]}}}\n")
        code, health = status(config, "agi", capsys)
        assert (code, health["readiness"]) == (0, {"agi": None})
        assert cli.main(["status", "--mode", "agi", "--config", str(config)]) == 0
    assert f"fourteenplus agi: no /readyz on 127.0.0.1:{ami.READYZ_PORTS['agi']}" in capsys.readouterr().out
