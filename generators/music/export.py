"""``gamegen export`` for music checkpoints: the cached step graph and the uncached sequence graph.

Called by :func:`gamegen.exporters.onnx_export.export_checkpoint` for checkpoints with
``"kind": "music"`` (written by :mod:`.train`). ``model.onnx`` is the one-token step with the LSTM
state as explicit inputs/outputs (the cache the generator drives); ``sequence.onnx`` recomputes
the whole prefix for every token and exists to measure what the cache saves.
"""

from __future__ import annotations

import torch

from gamegen.exporters.onnx_export import GraphSpec, KindExport

from . import encoding as enc
from . import nets


def build_export(ckpt: dict) -> KindExport:
    for key in ("family", "config", "state_dict", "training"):
        if key not in ckpt:
            raise ValueError(f"not a gamegen music checkpoint (missing {key!r})")
    if ckpt["family"] != "lstm":
        raise ValueError(f"unknown music model family {ckpt['family']!r}")
    config = dict(ckpt["config"])
    model = nets.build(config)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    layers, hidden = model.layers, model.hidden

    def ids(gen, shape, hi):
        return torch.randint(0, hi, shape, generator=gen, dtype=torch.int64)

    def step_inputs(gen, dims):
        b = dims["batch"]
        return (ids(gen, (b,), enc.VOCAB), ids(gen, (b,), enc.MAX_POS + 1), ids(gen, (b,), enc.PHRASE),
                torch.randn(layers, b, hidden, generator=gen) * 0.5, torch.randn(layers, b, hidden, generator=gen) * 0.5)

    def seq_inputs(gen, dims):
        b, t = dims["batch"], dims["time"]
        return (ids(gen, (b, t), enc.VOCAB), ids(gen, (b, t), enc.MAX_POS + 1), ids(gen, (b, t), enc.PHRASE))

    step = GraphSpec(
        module=nets.MelodyStep(model), input_names=["token", "pos", "phrase", "h", "c"],
        output_names=["logits", "h_out", "c_out"],
        dynamic=[{0: "batch"}, {0: "batch"}, {0: "batch"}, {1: "batch"}, {1: "batch"}],
        make_inputs=step_inputs, shapes=[{"batch": 1}, {"batch": 3}],
        extra={"hidden": hidden, "layers": layers, "vocab": enc.VOCAB, "ticks_per_quarter": enc.TICKS,
               "pitch_range": [enc.PMIN, enc.PMAX], "durations": list(enc.DURS), "phrase": enc.PHRASE,
               "meters": {k: v for k, v in enc.METERS.items()}, "modes": list(enc.MODES)},
    )
    seq = GraphSpec(
        module=nets.MelodySequence(model), input_names=["tokens", "pos", "phrase"], output_names=["logits"],
        dynamic=[{0: "batch", 1: "time"}] * 3, make_inputs=seq_inputs,
        shapes=[{"batch": 1, "time": 5}, {"batch": 2, "time": 40}],
    )
    return KindExport(ckpt.get("name", "music-lstm"), {"step": ("model.onnx", step), "sequence": ("sequence.onnx", seq)}, {
        "kind": "music", "family": "lstm",
        "description": f"Melody LSTM ({layers}x{hidden}) trained on public-domain music21 corpora (Bach chorales, "
                       "Ryan's Mammoth, O'Neill's); harmonised bass and chord stems",
        "extra": {}, "training": dict(ckpt["training"]),
        "device": {"prefer": "cpu"},    # one small ORT call per step: faster on the CPU than on CUDA
    })
