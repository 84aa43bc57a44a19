"""`fourteenplus asterisk build|install|start|stop|status`: the bundled Asterisk 22.

build    debootstrap the Asterisk root into the cache (once; reused afterwards)
install  our configuration, generated credentials, the dialplan from the YAML, the prompts
start    run Asterisk in the background (pid file in the state dir) until ARI answers
stop     stop the Asterisk we started, by its pid
status   whether it runs and ARI answers (exit 1 when not)

On a machine that already runs Asterisk: `install --host` writes only our own files into
/etc/asterisk and the sounds directory, and says what to #include (data/asterisk/README.md).
"""

from __future__ import annotations

import sys

from .. import asterisk, asterisk_config
from ..config import load_service
from ..errors import ConfigError, ConfigErrors
from ._common import add_config_option, print_errors


def configure(parser) -> None:
    parser.add_argument("action", choices=("build", "install", "start", "stop", "status"))
    add_config_option(parser)
    parser.add_argument("--agi", action="store_true",
                        help="install: send the bundled callers to [fourteenplus-in-agi] (run `fourteenplus agi`)")
    parser.add_argument("--host", action="store_true",
                        help="install into this machine's own Asterisk (/etc/asterisk) instead of the bundled root")


def main(args) -> int:
    try:
        if args.action == "build":
            print(f"Asterisk root: {asterisk.build()}")
        elif args.action == "install":
            if not args.host:
                asterisk.build()
            asterisk.install(load_service(args.config), host=args.host, agi=args.agi)
        elif args.action == "start":
            asterisk.start()
        elif args.action == "stop":
            print("Asterisk stopped" if asterisk.stop() else "Asterisk was not running")
        else:
            return _status()
    except (ConfigError, ConfigErrors) as exc:
        print_errors(exc)
        return 1
    except asterisk.AsteriskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _status() -> int:
    pid = asterisk.running_pid()
    creds = asterisk_config.credentials() if asterisk_config.credentials_path().exists() else None
    info = asterisk.ari_info(creds.ari_user, creds.ari_password) if creds else None
    version = (info or {}).get("system", {}).get("version", "?")
    print(f"process: {f'running (pid {pid})' if pid else 'not running'}")
    print(f"ARI:     {f'answering at {asterisk_config.ARI_URL} (Asterisk {version})' if info else 'not answering'}")
    return 0 if info else 1
