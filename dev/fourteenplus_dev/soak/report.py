"""The soak's figures as bench/soak.md shows them: the tables, then the figures as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from ..benchfile import write_block


def p50_p95(spread_: dict) -> str:
    return f"{spread_['p50']:.0f} / {spread_['p95']:.0f}" if spread_.get("n") else "–"


def render(figures: dict) -> str:
    """The generated part of bench/soak.md: the tables; the full figures follow as JSON."""
    t = figures["totals"]
    lines = [f"Run {figures['date']} on {figures['machine']}; configuration {figures['configuration']}; "
             f"code {figures['code']}.", "",
             f"**{t['calls']} calls, {t['lost']} lost** (soak {t['soak_calls']} calls, {t['soak_lost']} lost); "
             f"peak {t['peak_concurrency']} calls up at once.", "",
             "| phase | at once | calls | lost | to the default, announced | keypad (busy) | peak / mean up "
             "| calls/min | voice p50 / p95 ms "
             "| app: utterance → transfer p50 / p95 ms | names confirmed | reply p50 / p95 ms "
             "| tick late p95 / max ms | CPU % app / Asterisk / harness / trunk / others |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for f in figures["phases"]:
        cpu = f["cpu_percent"]
        cpu_text = " / ".join(f"{cpu[k]:.0f}" if k in cpu else "–" for k in ("app", "asterisk", "harness", "trunk", "others"))
        tick = f["tick_late_ms"]
        lines.append(f"| {f['phase']} | {f['concurrency']} | {f['calls']} | {f['lost']} | "
                     f"{f.get('defaulted', 0)} | {f.get('busy', 0)} | "
                     f"{f['peak_concurrency']} / {f['mean_concurrency']} | {f['calls_per_minute']} | "
                     f"{p50_p95(f['latency']['voice'])} | {p50_p95(f['app_utterance_to_transfer_ms'])} | "
                     f"{f['names_confirmed']} of {f['names']} | {p50_p95(f['latency']['reply'])} | "
                     f"{tick.get('p95', '–')} / {tick.get('max', '–')} | {cpu_text} |")
    lines += ["", _ceiling_text(figures["ceiling"]), "",
              "| app pid | RSS start MB | RSS end MB | peak MB | samples |", "| --- | --- | --- | --- | --- |"]
    for m in figures["app_memory"]:
        lines.append(f"| {m['pid']} | {m['rss_start_mb']} | {m['rss_end_mb']} | {m['peak_mb']} | {m['samples']} |")
    lines += ["", "Every sample (calls done, seconds since the start, RSS MB and CPU seconds so far):", "",
              "| calls | s | phase | app RSS | app CPU s | Asterisk RSS | Asterisk CPU s | machine busy s |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in figures["samples"]:
        app, ast = s.get("app", {}), s.get("asterisk", {})
        lines.append(f"| {s['calls']} | {s['t_s']} | {s['phase']} | {app.get('rss_mb', '–')} | "
                     f"{app.get('cpu_s', '–')} | {ast.get('rss_mb', '–')} | {ast.get('cpu_s', '–')} | "
                     f"{s['machine_busy_s']} |")
    lines += ["", "The mix (weights per phase; expected ends under the configuration measured):", "",
              "| caller | number | script | must end | weight | phases |", "| --- | --- | --- | --- | --- | --- |"]
    for m in figures["mix"]:
        lines.append(f"| {m['scenario']} | {m['number']} | {m['script']} | {m['expected']} | {m['weight']} | "
                     f"{', '.join(m['phases'])} |")
    lost = [dict(call, phase=f["phase"]) for f in figures["phases"] for call in f["lost_calls"]]
    if lost:
        lines += ["", "Lost calls:", ""] + [f"- {c['phase']} call {c['call']}: {c['number']} "
                                            f"({c['scenario']}: {c['script']}): {c['problem']}; the app: {c['app']}"
                                            for c in lost]
    defaulted = [dict(call, phase=f["phase"]) for f in figures["phases"] for call in f.get("defaulted_calls", [])]
    if defaulted:
        lines += ["", "Put through to the area's default, announced (not lost; where the script went unheard):", ""] + [
            f"- {c['phase']} call {c['call']}: {c['number']} ({c['scenario']}: {c['script']}); the app: {c['app']}"
            for c in defaulted]
    compact = {k: v for k, v in figures.items() if k not in ("samples", "mix")}  # tables above
    lines += ["", "```json", json.dumps(compact, indent=1, ensure_ascii=False), "```"]
    return "\n".join(lines)


def _ceiling_text(c: dict) -> str:
    limit = f"Ceiling (limit: p95 end of speech → INVITE ≤ 2 × idle = {c['limit_p95_ms']} ms, 0 lost): "
    if not c["steps"]:
        return limit + "no steps run."
    broke = c["broke_at"]
    return limit + f"held up to {c['held_up_to'] or 'no step'} at once; " + (
        f"broke at {broke['concurrency']} ({broke['why']}, p95 {broke['p95_ms']} ms, {broke['lost']} lost)."
        if broke else "no step broke it.")


def write_report(path: Path, figures: dict) -> None:
    """Replace the generated block of the file; the prose around it is kept."""
    write_block(path, "soak", render(figures), "Soak")


def summary(figures: dict) -> str:
    """The tables without the JSON, for the terminal."""
    return render(figures).split("\n```json", 1)[0]
