"""The report as one self-contained HTML file: tables and inline SVG charts, nothing fetched.

A municipality mails it around or opens it offline, so it carries everything itself; its
Content-Security-Policy forbids every outside load, which also makes a stray reference fail
loudly (a console error in the browser test) instead of leaking who read the report.

Every figure cell carries `data-figure="<scope>.<name>"` so the browser test (and anyone
scraping the file) reads figures without depending on the layout.
"""

from __future__ import annotations

from html import escape

from .report import (
    COLUMNS, NATIONAL_2020, NATIONAL_2020_SOURCE, ROUTES, Report, area_label, department_line, national_row, percent, row,
)
from .vocabulary import Ending, Route

# What a route is called on the page, and its colour: greens for speech, blue for the keypad,
# grey for the default, warm colours for losing the caller.
ROUTE_STYLE = {
    Route.FIRST: ("recognised first time", "#1a7f37"),
    Route.ONE_REPEAT: ("after one repeat", "#4ac26b"),
    Route.MORE_REPEATS: ("after more repeats", "#aceebb"),
    Route.KEYPAD: ("keypad menu", "#0969da"),
    Route.DEFAULT: ("default municipality", "#8c959f"),
    Route.HUNG_UP_QUESTION: ("hung up at the question", "#cf222e"),
    Route.HUNG_UP_MENU: ("hung up at the menu", "#fb8f44"),
    Route.NOT_CONNECTED: ("not connected", "#6e40c9"),
    Route.NO_CHOICE: ("no choice", "#57606a"),
}
# The table's columns (`report.COLUMNS`), as the page's data-figure attributes name them.
FIGURE_NAMES = ("calls", "asked", Route.FIRST, Route.ONE_REPEAT, Route.MORE_REPEATS, Route.KEYPAD, Route.DEFAULT,
                Route.HUNG_UP_QUESTION, "confirmations_no", Ending.HUNG_UP_TRANSFER, Ending.OVERFLOW, Ending.FAILED,
                "time_to_transfer")

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1f2328;max-width:72em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.25em .6em;border-bottom:1px solid #d0d7de}
td{text-align:right;white-space:nowrap}td:first-child,th:first-child{text-align:left}
tr.national td{font-style:italic;color:#57606a}tr.municipality td:first-child{padding-left:1.5em}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:.9em;height:.9em;
margin-right:.3em;vertical-align:-.1em}
.note{color:#57606a;font-size:.9em}svg text{font:11px system-ui,sans-serif;fill:#1f2328}
"""


def render(report: Report) -> str:
    data = report.to_dict()
    since, until = data["period"]["since"] or "the first call", data["period"]["until"] or "the last call"
    title = f"fourteenplus report {since} – {until}"
    scope = f" · areas {', '.join(report.areas)}" if report.areas else ""
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}{escape(scope)}</h1>",
        _headline(data),
        "<h2>Figures per area and municipality</h2>",
        _table(data),
        f'<p class="note">Shares of the routes are of the calls asked for a name; "nee" of the confirmations asked; '
        f"hung up T of the calls handed to a trunk; time to transfer is the median from answer to INVITE. "
        f"National 2020: {escape(NATIONAL_2020_SOURCE)}.</p>",
        _departments(data),
        "<h2>Calls per day</h2>",
        _days_chart(data["days"]),
        "<h2>Recognition funnel per municipality</h2>",
        _legend(),
        _funnel_chart(data),
        "</body></html>",
    ]) + "\n"


def _departments(data: dict) -> str:
    """Per municipality with departments: where the callers who heard the question went."""
    items = [f'<li data-figure="{escape(name)}.departments">{escape(name)}: {escape(department_line(f))}</li>'
             for name, f in data["by_municipality"].items() if f["department_asked"]]
    return f"<h2>Departments</h2><ul>{''.join(items)}</ul>" if items else ""


def _headline(data: dict) -> str:
    total = data["total"]
    first = total["route_shares"][Route.FIRST]
    return (f'<p>{total["calls"]} calls, {total["asked"]} asked for a name; recognised the first time: '
            f'<strong data-figure="headline.first">{percent(first)}</strong> '
            f'(national 2020: {percent(NATIONAL_2020[Route.FIRST])}).</p>')


def _table(data: dict) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in ("", *COLUMNS))
    rows = [_row("total", "all calls", data["total"], "total")]
    if len(data["by_node"]) > 1:  # as in the table: one node would repeat "all calls"
        rows += [_row(f"node {name}", f"node {name}", f, "node") for name, f in data["by_node"].items()]
    rows += [_row(f"area {code}", area_label(code), f, "area") for code, f in data["by_area"].items()]
    rows += [_row(name, name, f, "municipality") for name, f in data["by_municipality"].items()]
    cells = "".join(f'<td data-figure="national.{n}">{escape(v)}</td>' for n, v in zip(FIGURE_NAMES, national_row()))
    rows.append(f'<tr class="national"><td>national 2020</td>{cells}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _row(key: str, label: str, figures: dict, kind: str) -> str:
    cells = "".join(f'<td data-figure="{escape(key)}.{n}">{escape(v)}</td>'
                    for n, v in zip(FIGURE_NAMES, row(figures)))
    return f'<tr class="{kind}"><td>{escape(label)}</td>{cells}</tr>'


def _legend() -> str:
    return '<p class="legend">' + "".join(
        f'<span><i style="background:{colour}"></i>{escape(label)}</span>' for label, colour in ROUTE_STYLE.values()
    ) + "</p>"


def _days_chart(days: dict) -> str:
    """Bars of calls per day; the darker part reached a municipality."""
    if not days:
        return "<p>No calls in this period.</p>"
    width, height, left, bottom = 760, 220, 40, 40
    peak = max(d["calls"] for d in days.values())
    step = (width - left) / len(days)
    bar = max(step * 0.7, 1)
    parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#8c959f"/>',
             f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">0</text>',
             f'<text x="{left - 6}" y="14" text-anchor="end">{peak}</text>']
    label_every = max(1, len(days) // 12)  # at most about a dozen date labels stay readable
    for i, (day, counts) in enumerate(days.items()):
        x = left + i * step + (step - bar) / 2
        scale = (height - bottom - 10) / peak
        calls, reached = counts["calls"], counts.get("reached", 0)
        bars = "".join(f'<rect x="{x:.1f}" y="{height - bottom - n * scale:.1f}" width="{bar:.1f}" '
                       f'height="{n * scale:.1f}" fill="{colour}"/>' for n, colour in ((calls, "#afb8c1"),
                                                                                     (reached, "#0969da")))
        parts.append(f'<g data-day="{day}" data-calls="{calls}" data-reached="{reached}">'
                     f"<title>{day}: {calls} calls, {reached} reached a municipality</title>{bars}</g>")
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 14}" '
                         f'text-anchor="middle">{day[5:]}</text>')
    return (f'<svg role="img" aria-label="Calls per day" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
            '<p class="legend"><span><i style="background:#0969da"></i>reached a municipality</span>'
            '<span><i style="background:#afb8c1"></i>did not</span></p>')


def _funnel_chart(data: dict) -> str:
    """One 100 % bar per area and per municipality: how the asked calls went, and the 2020 reference."""
    bars = [(area_label(code), f["routes"], f["asked"]) for code, f in data["by_area"].items() if f["asked"]]
    bars += [(name, f["routes"], f["asked"]) for name, f in data["by_municipality"].items() if f["asked"]]
    # Out of 1000, not out of their sum: the 2 % the evaluation left unexplained stays blank.
    bars.append(("national 2020", {k: round(v * 1000) for k, v in NATIONAL_2020.items() if k in ROUTES}, 1000))
    label_w, bar_w, line = 190, 560, 24
    height = line * len(bars) + 10
    parts = []
    for i, (label, routes, asked) in enumerate(bars):
        y, x = 5 + i * line, label_w
        parts.append(f'<g data-funnel="{escape(label)}" data-asked="{asked}">'
                     f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end">{escape(label)}</text>')
        for key in ROUTES:
            count = routes.get(key, 0)
            if not count:
                continue
            w = bar_w * count / asked
            name, colour = ROUTE_STYLE[key]
            parts.append(f'<rect data-route="{key}" data-share="{count / asked:.4f}" x="{x:.1f}" y="{y}" '
                         f'width="{w:.1f}" height="{line - 6}" fill="{colour}">'
                         f"<title>{escape(label)}: {name} {percent(count / asked)}</title></rect>")
            x += w
        parts.append("</g>")
    width = label_w + bar_w + 10
    return (f'<svg role="img" aria-label="Recognition funnel per municipality" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')
