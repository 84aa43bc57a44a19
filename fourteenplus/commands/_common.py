"""What several commands share: the --config option and printing errors (configuration errors
with file and line)."""

from __future__ import annotations

import logging
import sys

from .. import logformat
from ..errors import ConfigError, ConfigErrors


def configured(args, grammars: bool = False):
    """(service, grammars or None) from --config, or None once their errors are printed."""
    from ..config import load_service
    from ..grammar import load_grammars
    try:
        service = load_service(args.config)
        return service, load_grammars(service.directory) if grammars else None
    except (ConfigError, ConfigErrors) as exc:
        print_errors(exc)
        return None


def add_config_option(parser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="operator configuration (default: $FOURTEENPLUS_CONFIG, else the shipped example in a checkout, "
                             "/etc/fourteenplus/fourteenplus.yaml when installed)")


def print_error(message: str, stream=None) -> None:
    """`error: message` on stderr. Under systemd with the error's syslog priority in front
    (`<3>`), as the log's own lines have it: `journalctl -p err` finds why a daemon would
    not start, not only what it logged once running."""
    stream = stream or sys.stderr  # looked up now: whoever captures stderr replaces sys.stderr
    prefix = f"<{logformat.priority(logging.ERROR)}>" if logformat.to_journal(stream) else ""
    print(prefix + message, file=stream)


def print_errors(exc: ConfigError | ConfigErrors, stream=None) -> None:
    for error in exc.errors if isinstance(exc, ConfigErrors) else [exc]:
        print_error(f"{error.where}: error: {error.message}" if error.where else f"error: {error.message}", stream)
