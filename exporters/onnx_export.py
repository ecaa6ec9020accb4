"""Training checkpoint → ``models/<name>/<version>/{model.onnx, manifest.json}``.

:func:`export_checkpoint` rebuilds the torch module from a checkpoint written by
``gamegen.generators.levels.train``, exports the graph the sampler drives (for LSTMs the single
step) with ``torch.onnx.export(..., dynamo=True)`` and a dynamic batch axis, then checks parity:
ONNX Runtime (CPU) against PyTorch eager on seeded random inputs at several batch sizes. Above
``tolerance`` it raises :class:`ParityError` and writes nothing. Otherwise the model folder is
assembled in a temporary sibling folder and renamed into place, so readers never see half a model.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from .manifest import sha256_file, write_manifest

DEFAULT_VERSION = "1.0.0"
_DTYPES = {"tensor(float)": "float32", "tensor(int64)": "int64", "tensor(int32)": "int32",
           "tensor(float16)": "float16", "tensor(uint8)": "uint8", "tensor(bool)": "bool"}


@contextlib.contextmanager
def _quiet(logger: str):
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


class ParityError(RuntimeError):
    """ONNX Runtime output differs from PyTorch by more than the tolerance; nothing was written."""


def _io(values) -> list[dict]:
    return [{"name": v.name, "dtype": _DTYPES.get(v.type, v.type),
             "shape": [d if isinstance(d, (int, str)) else "?" for d in v.shape]} for v in values]


def export_checkpoint(checkpoint: Path, models_root: Path, version: str | None = None,
                      tolerance: float = 1e-4, name: str | None = None) -> Path:
    """Export ``checkpoint``; returns the model folder ``models_root/<name>/<version>``.

    ``name`` defaults to the checkpoint's game id (``"smb"``, ``"loderunner"``). A negative
    ``tolerance`` makes every parity check fail (tests use it).
    """
    import onnx
    import onnxruntime as ort
    import torch

    from gamegen.generators.levels import nets
    from gamegen.generators.levels.games import GAMES

    ort.set_default_logger_severity(3)
    checkpoint, models_root = Path(checkpoint), Path(models_root)
    version = version or DEFAULT_VERSION
    with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    for key in ("family", "game", "config", "state_dict", "training"):
        if key not in ckpt:
            raise ValueError(f"{checkpoint}: not a gamegen level checkpoint (missing {key!r})")
    family, game_id, config = ckpt["family"], ckpt["game"], ckpt["config"]
    game = GAMES[game_id]
    name = name or game_id
    model = nets.build(family, game_id, config)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    spec = nets.export_spec(family, game_id, model, config)

    batch = torch.export.Dim("batch", min=1, max=4096)
    dynamic_shapes = tuple({axis: batch for axis in d} for d in spec.dynamic)
    example = spec.make_inputs(torch.Generator().manual_seed(0), {"batch": 2})

    models_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-{version}-", dir=models_root))
    try:
        onnx_path = work / "model.onnx"
        t0 = time.perf_counter()
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), _quiet("torch.onnx"):
            warnings.simplefilter("ignore")
            torch.onnx.export(spec.module, example, str(onnx_path), dynamo=True, external_data=False,
                              input_names=spec.input_names, output_names=spec.output_names,
                              dynamic_shapes=dynamic_shapes, verbose=False)
        export_s = time.perf_counter() - t0

        so = ort.SessionOptions()
        so.log_severity_level = 3
        sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        gen = torch.Generator().manual_seed(1234)
        worst = 0.0
        tried = []
        for dims in spec.shapes:
            inputs = spec.make_inputs(gen, dims)
            with torch.no_grad():
                ref = spec.module(*inputs)
            ref = ref if isinstance(ref, tuple) else (ref,)
            got = sess.run(None, {n: t.numpy() for n, t in zip(spec.input_names, inputs)})
            for name_, r, g in zip(spec.output_names, ref, got):
                if tuple(r.shape) != g.shape:
                    raise ParityError(f"{checkpoint}: output {name_} shape {g.shape} from ONNX Runtime, "
                                      f"{tuple(r.shape)} from PyTorch at {dims}")
                worst = max(worst, float(np.max(np.abs(r.numpy().astype(np.float64) - g))))
            tried.append(dims)
        if not worst <= tolerance:
            raise ParityError(f"{checkpoint}: ONNX Runtime differs from PyTorch by {worst:.3g} "
                              f"(tolerance {tolerance:.3g}) over shapes {tried}; nothing written")

        opset = next((o.version for o in onnx.load(str(onnx_path)).opset_import if o.domain in ("", "ai.onnx")), 0)
        training = dict(ckpt["training"])
        manifest = {
            "schema": 1,
            "kind": "levels",
            "name": name,
            "version": version,
            "family": family,
            "game": game_id,
            "description": f"{game.title}: {family} level model trained on VGLC",
            "file": "model.onnx",
            "sha256": sha256_file(onnx_path),
            "bytes": onnx_path.stat().st_size,
            "opset": int(opset),
            "inputs": _io(sess.get_inputs()),
            "outputs": _io(sess.get_outputs()),
            "legend": {s: list(tags) for s, tags in game.legend},
            "extra": spec.extra,
            "training": training,
            "parity": {"max_abs_diff": worst, "tolerance": tolerance, "shapes": tried,
                       "provider": "CPUExecutionProvider", "torch": torch.__version__, "onnxruntime": ort.__version__,
                       "export_seconds": round(export_s, 1)},
        }
        del sess
        write_manifest(work, manifest)

        os.chmod(work, 0o755)
        final = models_root / name / version
        final.parent.mkdir(parents=True, exist_ok=True)
        old = None
        if final.exists():
            old = models_root / f".{name}-{version}.old-{int(time.time() * 1000)}"
            final.rename(old)
        work.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return final
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
