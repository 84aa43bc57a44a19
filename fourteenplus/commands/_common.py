"""What several commands share: the --config option and printing configuration errors."""

from __future__ import annotations

import sys

from ..errors import ConfigError, ConfigErrors


def add_config_option(parser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="operator configuration (default: $FOURTEENPLUS_CONFIG, else fourteenplus.example.yaml)")


def print_errors(exc: ConfigError | ConfigErrors, stream=sys.stderr) -> None:
    for error in exc.errors if isinstance(exc, ConfigErrors) else [exc]:
        print(f"{error.where}: error: {error.message}" if error.where else f"error: {error.message}", file=stream)
