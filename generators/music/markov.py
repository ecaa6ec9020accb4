"""The baseline: a Markov chain over the same tokens, data and driver as the melody LSTM.

The next token is predicted from the last :data:`ORDERS` tokens and the position in the bar,
interpolating the orders (``P = 0.75 P4 + 0.2 P2 + 0.05 P1``, each order's weight moved down when
its context was never seen) so every token the driver allows keeps a finite score. The count
table (numpy arrays, a few hundred KB) is the model file ``markov.npz`` of a normal model folder
(``family: markov``), checksum-verified like an ONNX file; fitting it needs only the cached corpus:

    python -m gamegen.generators.music.markov --corpus runs/music/corpus.jsonl --models models
"""

from __future__ import annotations

import argparse
import io
import json
import shlex
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from . import encoding as enc

ORDERS = (4, 2, 1)
WEIGHTS = (0.75, 0.2, 0.05)
NAME = "music-markov"
FILE = "markov.npz"


def context_key(history: tuple[int, ...], pos: int, order: int) -> int:
    """One int64 per (last ``order`` tokens, pos): base-VOCAB digits, then the position."""
    k = order
    for t in history[-order:]:
        k = k * enc.VOCAB + int(t)
    return k * (enc.MAX_POS + 1) + int(pos)


def fit(sequences) -> dict[str, np.ndarray]:
    """Count table from encoded (tokens, pos, phrase) sequences: per order sorted keys + CSR rows."""
    tables = {}
    for order in ORDERS:
        counts: dict[int, Counter] = defaultdict(Counter)
        for toks, pos, _ in sequences:
            for i in range(order, len(toks)):
                counts[context_key(tuple(toks[i - order:i]), pos[i - 1], order)][int(toks[i])] += 1
        keys = np.array(sorted(counts), dtype=np.int64)
        indptr = [0]
        nxt, cnt = [], []
        for k in keys:
            for t, n in sorted(counts[int(k)].items()):
                nxt.append(t)
                cnt.append(n)
            indptr.append(len(nxt))
        tables[f"keys{order}"] = keys
        tables[f"indptr{order}"] = np.array(indptr, dtype=np.int64)
        tables[f"next{order}"] = np.array(nxt, dtype=np.int16)
        tables[f"count{order}"] = np.array(cnt, dtype=np.int32)
    return tables


class MarkovStepper:
    """Stepper over a fitted table; the state is the recent tokens (no model call)."""

    def __init__(self, tables: dict[str, np.ndarray]):
        self.t = tables
        self.rows = {o: {int(k): i for i, k in enumerate(tables[f"keys{o}"])} for o in ORDERS}

    @classmethod
    def load(cls, path: Path) -> "MarkovStepper":
        with np.load(path, allow_pickle=False) as z:
            return cls({k: z[k] for k in z.files})

    def start(self):
        return ()

    def step(self, state, token: int, pos: int, phrase: int):
        hist = (state + (int(token),))[-max(ORDERS):]
        p = np.zeros(enc.VOCAB)
        spare = 0.0
        for order, w in zip(ORDERS, WEIGHTS):
            row = self.rows[order].get(context_key(hist, pos, order)) if len(hist) >= order else None
            if row is None:
                spare += w
                continue
            a, b = self.t[f"indptr{order}"][row], self.t[f"indptr{order}"][row + 1]
            c = self.t[f"count{order}"][a:b].astype(np.float64)
            p[self.t[f"next{order}"][a:b]] += (w + spare) * c / c.sum()
            spare = 0.0
        p += (spare + 1e-4) / enc.VOCAB
        return np.log(p), hist


def npz_bytes(tables: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` (readable by ``np.load``) with fixed zip timestamps: same table, same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in sorted(tables):
            arr = io.BytesIO()
            np.lib.format.write_array(arr, np.ascontiguousarray(tables[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, arr.getvalue())
    return buf.getvalue()


def write_model(tables: dict[str, np.ndarray], models_root: Path, training: dict, version: str = "1.0.0") -> Path:
    """A model folder ``models_root/music-markov/<version>/`` with the table and its manifest."""
    from gamegen.exporters.manifest import sha256_file, write_manifest
    from gamegen.exporters.onnx_export import publish

    models_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{NAME}-{version}-", dir=models_root))
    (work / FILE).write_bytes(npz_bytes(tables))
    write_manifest(work, {
        "schema": 1, "kind": "music", "name": NAME, "version": version, "family": "markov",
        "description": "Baseline: Markov chain (orders 4/2/1 + bar position) over the melody LSTM's tokens "
                       "and data; same harmonisation and stems",
        "file": FILE, "sha256": sha256_file(work / FILE), "bytes": (work / FILE).stat().st_size,
        "opset": 0, "inputs": [], "outputs": [],
        "extra": {"orders": list(ORDERS), "weights": list(WEIGHTS), "vocab": enc.VOCAB, "ticks_per_quarter": enc.TICKS},
        "training": training,
        "parity": {"max_abs_diff": 0.0, "tolerance": 0.0, "shapes": [], "note": "count table, no ONNX graph"},
    })
    return publish(work, models_root, NAME, version)


def main(argv=None) -> None:
    from .corpus import SOURCES, load

    ap = argparse.ArgumentParser(prog="python -m gamegen.generators.music.markov", description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("runs/music/corpus.jsonl"))
    ap.add_argument("--models", type=Path, default=Path("models"))
    a = ap.parse_args(argv)
    t0 = time.time()
    pieces = load(a.corpus)
    train = [p for p in pieces if not p["held_out"]]
    seqs = [s for p in train for s in enc.piece_tokens(p, (-1, 0, 1))]
    tables = fit(seqs)
    out = write_model(tables, a.models, {
        "data": "music21 corpus (public domain): " + ", ".join(SOURCES) +
                f"; {len(train)} pieces normalised to C major / A minor, octave-transposed copies",
        "held_out": f"{len(pieces) - len(train)} pieces (10 % by piece-id hash), not counted",
        "command": "python -m gamegen.generators.music.markov " + shlex.join(sys.argv[1:] if argv is None else argv),
        "epochs": 1, "seed": 0, "seconds": round(time.time() - t0, 1),
    })
    print(json.dumps({"model": str(out), "contexts": {o: int(len(tables[f'keys{o}'])) for o in ORDERS}}))


if __name__ == "__main__":
    main()
