"""`fourteenplus soak`: the load benchmark over real SIP calls (`fourteenplus_dev.soak`)."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from fourteenplus import asterisk
from fourteenplus.commands._common import add_config_option

from ..soak.report import summary, write_report
from ..soak.run import run_against_running, run_started


def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--start", action="store_true",
                        help="start Asterisk, the trunk endpoint and the app here (the integration tests' "
                             "configuration), and stop them at the end; without it: the running `make run`")
    parser.add_argument("--calls", type=int, default=1000, help="soak calls (default 1000)")
    parser.add_argument("--concurrency", type=int, default=20, help="calls at once during the soak (default 20)")
    parser.add_argument("--steps", default="5,10,20,30,40",
                        help="concurrency steps for the ceiling, comma-separated, run until one breaks it "
                             "('' for none; default 5,10,20,30,40)")
    parser.add_argument("--step-rounds", type=int, default=6,
                        help="calls per step: this many per caller at once, so the step is steady, not "
                             "its ramp (default 6)")
    parser.add_argument("--idle-calls", type=int, default=8, help="sequential spoken calls for the idle figure")
    parser.add_argument("--unsure-share", type=float, default=0.25,
                        help="share of the soak placed under the confirming configuration (with --start)")
    parser.add_argument("--app-nice", type=int, default=0, metavar="N",
                        help="with --start: run the app at nice N, below Asterisk's media threads (an experiment)")
    parser.add_argument("--sample-every", type=int, default=50, metavar="N", help="read CPU and memory every N calls")
    parser.add_argument("--report", type=Path, help="write the figures into this markdown file, between the soak markers")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def main(args) -> int:
    steps = [int(s) for s in args.steps.split(",") if s.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="fourteenplus-soak-"))
    try:
        figures = run_started(args, steps, workdir) if args.start else run_against_running(args, steps, workdir)
    except (RuntimeError, asterisk.AsteriskError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if figures is None:
        return 1
    if args.report:
        write_report(args.report, figures)
    print(json.dumps(figures, indent=2, ensure_ascii=False) if args.json else summary(figures))
    lost = figures["totals"]["lost"]
    if lost == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if lost else 0
