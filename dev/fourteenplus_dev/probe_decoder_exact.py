"""Probe (issue 26): the numpy decoder against CTranslate2 run in float32 on one tune clip: they
agree to ~3e-5 nats, so what differs from the app's int8 `align` is quantisation."""
import numpy as np, ctranslate2, tokenizers
from pathlib import Path
from faster_whisper.tokenizer import Tokenizer
from fourteenplus.speech.decoder import Decoder
from fourteenplus.speech import model as M
from fourteenplus.speech.recognizer import Recognizer, HOP
path = Path("/root/.cache/fourteenplus/model/whisper-base")
m = M.load()
w32 = ctranslate2.models.Whisper(str(path), device="cpu", compute_type="float32", intra_threads=2)
m = M.LoadedModel(w32, m.tokenizer, m.path, 0)
r = Recognizer(m)
dec = Decoder.read(path, r.tokenizer.eot)
from fourteenplus.speech import audio
from fourteenplus.speech.vad import whole_clip
pcm = audio.upsample_8k_to_16k(audio.to_float(whole_clip(audio.read_telephone("/tmp/people/syn/tune-0001.wav")).speech))
enc, frames = r._encode(pcm, 300)
texts = [" Apeldoorn.", " Ik wil graag de gemeente Apeldoorn bellen.", " Epe.", " Ik wil graag de gemeente Epe bellen.", " Deventer.", " Voorst."]
a = r._logprobs([enc] * len(texts), frames, texts)
b = dec.logprobs(dec.memory(np.asarray(enc)), r._start + [r.tokenizer.no_timestamps], [r._tokens(t) for t in texts])
print(np.round(a, 4)); print(np.round(b, 4)); print(np.abs(a - b).max())
