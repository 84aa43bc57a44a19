"""A reload never sends a key to another municipality than the menu names: the generated
dialplan and prompts are brought in step with the new configuration before it takes a call,
or the reload is refused and the configuration in force stays whole (issue 23, part 4).
Over real calls: tests/integration/test_faults.py and test_agi_calls.py."""

from __future__ import annotations

import json
import logging

import anyio
import pytest

from fourteenplus import asterisk, prompts
from fourteenplus.commands import _serving
from fourteenplus.config import EXAMPLE, load_service
from fourteenplus.metrics import Metrics
from fourteenplus.session import CallServices

ORDER = "municipalities: [Hoorn, Medemblik, Drechterland, Opmeer, Koggenland]"
REORDERED = "municipalities: [Koggenland, Hoorn, Medemblik, Drechterland, Opmeer]"


class FakeSpeech:
    def reconfigure(self, grammars, thresholds, deadline):
        pass


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "service.yaml"
    path.write_text(EXAMPLE.read_text())
    assert ORDER in path.read_text()
    return path


def reload(config, root, text: str):
    """Reload `config` after writing `text` into it: (service in force after, adapter uses, metrics)."""
    service = load_service(config)
    config.write_text(text)
    used, metrics = [], Metrics()

    async def use(new):
        used.append(new)

    adapter = _serving.Adapter(lambda: None, lambda: 0, use, root)
    new = anyio.run(_serving.reload, service, CallServices(FakeSpeech(), metrics=metrics), adapter)
    return new, used, metrics.render()


def installed(tmp_path, service):
    """A root whose generated files say what `service` needs, made without speech synthesis:
    the manifests and files that `asterisk.install` leaves, with empty audio."""
    root = tmp_path / "root"
    (root / "etc/asterisk").mkdir(parents=True)
    (root / "etc/asterisk/fourteenplus.conf").write_text("; ours\n")
    sounds = asterisk.layout(service, root).sounds / prompts.SOUNDS_SUBDIR
    manifests: dict[str, dict] = {}
    for key, digest in prompts.sources(service).items():
        language, pid = key.split("/", 1)
        (sounds / language / pid).parent.mkdir(parents=True, exist_ok=True)
        for law in prompts.LAWS:
            (sounds / language / f"{pid}.{law}").write_bytes(b"")
        manifests.setdefault(language, {})[pid] = digest
    for language, manifest in manifests.items():
        (sounds / language / ".sources.json").write_text(json.dumps(manifest))
    (sounds / ".dialplan.sha256").write_text(asterisk._dialplan_digest(service) + "\n")
    return root


def test_fault_reload_generated_files_in_step_only_for_the_configuration_they_were_made_from(tmp_path, config):
    service = load_service(config)
    root = installed(tmp_path, service)
    assert asterisk.out_of_step(service, root) == []
    config.write_text(config.read_text().replace(ORDER, REORDERED))
    reordered = load_service(config)
    stale = asterisk.out_of_step(reordered, root)
    menu = reordered.plan("0229").menu_prompt
    assert menu != service.plan("0229").menu_prompt, "a reordered menu is another prompt"
    assert "dialplan" in stale and f"nl/{menu}" in stale and f"en/{menu}" in stale


def test_fault_reload_reordered_menu_refused_when_no_asterisk_of_ours_is_known(config, caplog):
    with caplog.at_level(logging.ERROR, logger="fourteenplus"):
        new, used, metrics = reload(config, None, config.read_text().replace(ORDER, REORDERED))
    assert new is None and used == [], "the configuration in force stays whole"
    assert 'fourteenplus_config_reloads_total{result="failed"} 1' in metrics
    assert any("keypad menus" in r.getMessage() and "stays in force" in r.getMessage() for r in caplog.records)


def test_fault_reload_thresholds_only_needs_nothing_regenerated(config):
    new, used, _ = reload(config, None, config.read_text().replace("accept: 0.99", "accept: 0.91"))
    assert new is not None and [s.thresholds.accept for s in used] == [0.91]


def test_fault_reload_reordered_menu_refused_when_the_files_cannot_be_written(tmp_path, config, caplog, monkeypatch):
    old = load_service(config)
    root = installed(tmp_path, old)
    # Not writable whoever we are: a directory where the generated dialplan goes.
    (root / "etc/asterisk/fourteenplus-generated.conf").mkdir()
    monkeypatch.setattr(asterisk.os, "geteuid", lambda: 1000)  # the service user: files keep their owner
    with caplog.at_level(logging.ERROR, logger="fourteenplus"):
        new, used, metrics = reload(config, root, config.read_text().replace(ORDER, REORDERED))
    assert new is None and used == [], "the configuration in force stays whole"
    assert 'fourteenplus_config_reloads_total{result="failed"} 1' in metrics
    messages = [r.getMessage() for r in caplog.records]
    assert any("cannot write the generated dialplan" in m and "stays in force" in m for m in messages), messages
    assert asterisk.out_of_step(old, root) == [], "what the configuration in force needs is still there"


def test_fault_reload_with_a_broken_policy_file_is_refused(config, tmp_path, monkeypatch, caplog):
    """$FOURTEENPLUS_POLICY's file replaced by one that does not load: the reload says which
    file and why, and the configuration and policy in force stay."""
    broken = tmp_path / "policy.yaml"
    broken.write_text("names: {weights: [1, 2], bias: 0, features: [margin]}\n")
    monkeypatch.setenv("FOURTEENPLUS_POLICY", str(broken))
    with caplog.at_level(logging.ERROR, logger="fourteenplus"):
        new, used, metrics = reload(config, None, config.read_text().replace("accept: 0.99", "accept: 0.91"))
    assert new is None and used == []
    assert any(str(broken) in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_fault_reload_a_call_in_progress_keeps_the_menu_whose_keys_it_holds(tmp_path, config, monkeypatch):
    """A reordered menu is a new prompt id; the old file stays for an hour of installs, so a
    call that began before the reload, and holds the old keys, plays the menu that names them,
    even when a second reload comes while it listens."""
    monkeypatch.setattr(prompts, "speak", lambda text, language, targets: [t.write_text(text) for t in targets.values()])
    sounds = tmp_path / "sounds"
    before = load_service(config)
    prompts.install(before, sounds)
    config.write_text(config.read_text().replace(ORDER, REORDERED))
    after = load_service(config)
    old, new = (sounds / prompts.SOUNDS_SUBDIR / "nl" / f"{s.plan('0229').menu_prompt}.ulaw" for s in (before, after))
    prompts.install(after, sounds, now=1000.0)
    assert old.read_text().startswith("Voor Hoorn, toets 1.") and new.read_text().startswith("Voor Koggenland, toets 1.")
    prompts.install(after, sounds, now=1000.0 + 60)  # a second reload while the call listens
    assert old.exists()
    prompts.install(after, sounds, now=1000.0 + prompts.RETIRED_KEPT_S)  # no call spans an hour of reloads
    assert not old.exists() and new.exists()


def test_prompts_retired_by_an_older_install_are_kept_from_when_it_wrote_them(tmp_path, config, monkeypatch):
    monkeypatch.setattr(prompts, "speak", lambda text, language, targets: [t.write_text(text) for t in targets.values()])
    sounds = tmp_path / "sounds"
    prompts.install(load_service(config), sounds)
    base = sounds / prompts.SOUNDS_SUBDIR / "nl"
    (base / "menu/0229-00000000.ulaw").write_text("an older menu")
    (base / ".retired.json").write_text('["menu/0229-00000000"]')  # the format before 2026-12
    written = (base / ".retired.json").stat().st_mtime
    prompts.install(load_service(config), sounds, now=written + 1)
    assert (base / "menu/0229-00000000.ulaw").exists()
    prompts.install(load_service(config), sounds, now=written + prompts.RETIRED_KEPT_S)
    assert not (base / "menu/0229-00000000.ulaw").exists()
