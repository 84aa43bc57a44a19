"""The soak (`fourteenplus soak`): a load benchmark over real SIP calls (issue 8, "Load").

Hundreds of SIPp callers at once, mixed as callers are (`MIX`): areas with one municipality,
spoken names, keys, confirmations, numbers that are not served, and callers hanging up at
every step. Every call has an expected end (a municipality's trunk, a spoken message, or
the caller's own hang-up); a call that ends anywhere else is lost, and listed. One exception:
a caller put through to the area's default after hearing where (the announcement that comes
right before its INVITE) ended somewhere deliberate, if not where they asked: counted apart
("to the default"), not lost; reached without the announcement, it is lost.

The run, in order: a few sequential spoken calls (the idle latency), concurrency steps (the
ceiling: where p95 end of speech → INVITE passes twice idle, or calls are lost), then the
soak itself. Confirmations need a configuration in which the app asks "Bedoelt u …?", so
with --start the soak ends with a second block under such a configuration (the app
restarted with it). Throughout, the app's, Asterisk's and this harness's CPU and memory are
read from /proc every --sample-every calls.

With --start it starts Asterisk (the integration tests' configuration: SIPp trunks that
answer, refuse and never answer), the SIPp trunk endpoint and the app itself, and stops them
all by pid at the end; without it, it calls the running `make run` like `bench calls`.

The parts: `mix` (the callers), `judging` (where each call must end, and whether it did),
`placing` (the calls placed, so many at once), `phase` (a phase's calls and figures),
`ceiling` (the ceiling rule), `readings` (/proc and the harness's own ticks), `run` (the
phases in order, the apps started or found) and `report` (bench/soak.md's block).
"""
