"""The ceiling rule: how many callers at once one node holds."""

from __future__ import annotations


def ceiling(steps: list[dict], idle_p95: float | None) -> dict:
    """The first step where p95 passes twice idle, a call is lost or callers are sent to the
    keypad because the recogniser cannot keep up; the last step that held."""
    held, broke = None, None
    for step in steps:
        p95 = step["latency"]["voice"].get("p95")
        slow = idle_p95 is not None and p95 is not None and p95 > 2 * idle_p95
        busy = step.get("busy", 0)
        if slow or step["lost"] or busy:
            broke = {"concurrency": step["concurrency"], "p95_ms": p95, "lost": step["lost"], "busy": busy,
                     "why": " and ".join(w for w, bad in (("p95 > 2× idle", slow), ("calls lost", step["lost"]),
                                                          ("callers sent to the keypad (busy)", busy)) if bad)}
            break
        held = step["concurrency"]
    return {"steps": [s["concurrency"] for s in steps], "limit_p95_ms": round(2 * idle_p95, 1) if idle_p95 else None,
            "held_up_to": held, "broke_at": broke}
