"""What the package ships beside its code, named once and found through importlib.resources.

A checkout and an installed wheel read the same files: the national directory, the prompt
texts, the example configuration, the grammars, the Asterisk, Kamailio and systemd templates,
the static dialplan, the SIPp scenarios `fourteenplus call` runs, the fitted policy, and the
Prometheus alert rules, their on-call runbook and Grafana dashboard for the operator's monitoring. The
operator's own files (configuration, state) are `paths`' business, not this module's.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _shipped(*parts: str) -> Path:
    # Asterisk, SIPp and systemd are handed these as file names, so they have to be files on
    # disk: pip installs a wheel unpacked; a package imported from a zip is not supported.
    resource = files(__package__).joinpath(*parts)
    if not isinstance(resource, Path):
        raise RuntimeError(f"fourteenplus must be installed unpacked (pip install), not imported from {resource}")
    return resource


DIRECTORY = _shipped("data", "directory.yaml")
PROMPT_TEXTS = _shipped("data", "prompts.yaml")
EXAMPLE_CONFIG = _shipped("data", "fourteenplus.example.yaml")
GRAMMARS = _shipped("data", "grammars")
ASTERISK_CONF = _shipped("data", "asterisk")  # what `asterisk install` puts into an Asterisk's etc
DIALPLAN = _shipped("data", "dialplan")
KAMAILIO_TEMPLATE = _shipped("data", "asterisk", "kamailio", "kamailio.cfg.in")
SIPP_SCENARIOS = _shipped("data", "sipp")
UNIT_TEMPLATE = _shipped("data", "systemd", "fourteenplus.service.in")
ALERT_RULES = _shipped("data", "prometheus", "alerts.yaml")  # for the operator's Prometheus
RUNBOOK = _shipped("data", "prometheus", "runbook.md")  # the on-call runbook the alerts point at
DASHBOARD = _shipped("data", "grafana", "fourteenplus.json")  # for the operator's Grafana
POLICY = _shipped("speech", "policy.yaml")
