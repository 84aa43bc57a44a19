"""Probe (issue 26): the numpy decoder (B, fourteenplus/speech/decoder.py) against
`Whisper.align` (A, `Recognizer._logprobs`): agreement on real clips and timing of the batches
the service scored on them, then a grid of 1/10/30/60 texts on windows 200/300/500/800.

    OPENBLAS_NUM_THREADS=1 python dev/fourteenplus_dev/probe_decoder.py 50 [nogrid]
    CALLERS=/tmp/endpoint/callers ... probe_decoder.py 50 nogrid   # the callers' first takes

Results and why it was not built: bench/recognition.md, tenth pass.
"""
import asyncio, csv, sys, time, json
from pathlib import Path
import numpy as np, ctranslate2
from fourteenplus.directory import load_directory
from fourteenplus.grammar import load_grammars
from fourteenplus.config import DEFAULTS, Thresholds
from fourteenplus.speech.service import SpeechService
from fourteenplus.speech import audio, recognizer as R
from fourteenplus.speech.vad import whole_clip
from fourteenplus.speech.decoder import Decoder

CORPUS = Path("/tmp/people/syn")
speech = SpeechService(load_grammars(load_directory()), Thresholds(**DEFAULTS["thresholds"]))
asyncio.run(speech.start())
rec = speech.load()
t = time.perf_counter()
dec = Decoder.read(rec.model.path, rec.tokenizer.eot)
print("decoder load s", round(time.perf_counter() - t, 2), flush=True)
start = rec._start + [rec.tokenizer.no_timestamps]
calls = []
orig = R.Recognizer._align
def spy(self, encoded, frames, bucket, texts):
    calls.append((np.asarray(encoded).copy(), frames, bucket, list(texts)))
    return orig(self, encoded, frames, bucket, texts)
R.Recognizer._align = spy
import os
if os.environ.get("CALLERS"):
    CORPUS = Path(os.environ["CALLERS"])
    rows = [dict(file=r["first"], area_code=r["area_code"]) for r in csv.DictReader((CORPUS / "callers.csv").open())][:int(sys.argv[1])]
else:
    rows = list(csv.DictReader((CORPUS / "manifest.csv").open()))[:int(sys.argv[1]) if len(sys.argv) > 1 else 50]
deltas, rank_changed, top_changed, groups = [], 0, 0, 0
sizes, times_a, times_b = [], [], []
for row in rows:
    calls.clear()
    speech.recognize_now(whole_clip(audio.read_telephone(CORPUS / row["file"])), row["area_code"])
    mem = None
    for enc, frames, bucket, texts in calls:
        if not texts: continue
        t = time.perf_counter()
        a = rec._logprobs([ctranslate2.StorageView.from_array(enc)] * len(texts), frames, texts)
        times_a.append(time.perf_counter() - t)
        t = time.perf_counter()
        if mem is None: mem = dec.memory(enc)  # once per clip, as the recogniser would keep it
        b = dec.logprobs(mem, start, [rec._tokens(x) for x in texts])
        times_b.append(time.perf_counter() - t)
        sizes.append((len(texts), bucket))
        deltas.extend(np.abs(a - b)); groups += 1
        rank_changed += list(np.argsort(-a)) != list(np.argsort(-b))
        top_changed += int(np.argmax(a) != np.argmax(b))
d = np.array(deltas)
ta, tb = np.array(times_a) * 1000, np.array(times_b) * 1000
print("real batches (texts, bucket):", sizes)
print(f"real batches: A total {ta.sum():.0f} ms p50 {np.median(ta):.1f} p95 {np.percentile(ta,95):.1f} | B total {tb.sum():.0f} ms p50 {np.median(tb):.1f} p95 {np.percentile(tb,95):.1f} | A/B total {ta.sum()/tb.sum():.2f}")
print(f"agreement: {len(rows)} clips, {groups} scored batches, {len(d)} texts; |delta| p50 {np.percentile(d,50):.3f} p90 {np.percentile(d,90):.3f} p99 {np.percentile(d,99):.3f} max {d.max():.3f}; ranking changed in {rank_changed} batches, top changed in {top_changed}", flush=True)
if len(sys.argv) > 2: speech.close(); sys.exit()
# Timing: A vs B, same process, alternating, min and median of 5 each.
from fourteenplus.directory import load_directory as LD
names = sorted(LD().municipalities)[::11][:30]
allt = [f.format(n) for n in names for f in (R.SHORT, R.CARRIER)]
print("text pool", len(allt), flush=True)
rng = np.random.default_rng(1)
for bucket in (200, 300, 500, 800):
    enc, frames = rec._encode(rng.standard_normal(bucket * R.HOP).astype(np.float32) * 0.05, bucket)
    arr = np.asarray(enc)
    for n in (1, 10, 30, 60):
        texts = allt[:n]
        toks = [rec._tokens(x) for x in texts]
        ta, tb, tm = [], [], []
        for _ in range(5):
            t = time.perf_counter(); rec._logprobs([enc] * n, frames, texts); ta.append(time.perf_counter() - t)
            t = time.perf_counter(); mem = dec.memory(arr); tm.append(time.perf_counter() - t)
            dec.logprobs(mem, start, toks); tb.append(time.perf_counter() - t)
        ta, tb, tm = (np.array(v) * 1000 for v in (ta, tb, tm))
        print(f"window {bucket} texts {n}: A min {ta.min():.1f} med {np.median(ta):.1f} | B min {tb.min():.1f} med {np.median(tb):.1f} (memory min {tm.min():.1f}) | A/B min {ta.min()/tb.min():.2f} med {np.median(ta)/np.median(tb):.2f}", flush=True)
speech.close()
