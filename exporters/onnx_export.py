"""Training checkpoint → ``models/<name>/<version>/{model.onnx, manifest.json}``, for every kind.

:func:`export_checkpoint` hands a training checkpoint to its kind's exporter (named in the kinds
table), which says which graphs to export (:class:`GraphSpec`); each is exported with
``torch.onnx.export(..., dynamo=True)`` and dynamic axes, then parity-checked: ONNX Runtime (CPU)
against PyTorch eager on seeded random inputs at several shapes. Above
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from gamegen.generators.errors import FailedPrecondition

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


class ParityError(FailedPrecondition):
    """ONNX Runtime output differs from PyTorch by more than the tolerance; nothing was written."""


def _io(values) -> list[dict]:
    return [{"name": v.name, "dtype": _DTYPES.get(v.type, v.type),
             "shape": [d if isinstance(d, (int, str)) else "?" for d in v.shape]} for v in values]


@dataclass
class GraphSpec:
    """One graph to export: the torch module, its I/O names, dynamic axes and parity inputs."""

    module: Any
    input_names: list[str]
    output_names: list[str]
    dynamic: list[dict[int, str]]                  # per input: {axis: symbolic name}
    make_inputs: Callable                          # (torch.Generator, {dim name: size}) -> tuple of tensors
    shapes: list[dict[str, int]]                   # dynamic-dim values tried in the parity check
    extra: dict = field(default_factory=dict)      # goes into manifest["extra"] (main graph)
    dim_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)  # default 1..4096
    # drop the exporter's per-node metadata (PyTorch stack traces, ~15% of a small graph's bytes);
    # opt-in so that the files of models exported before stay byte-identical when re-exported
    strip_metadata: bool = False
    # the module's forward takes its inputs from this index on as ``*args`` (one ONNX input each):
    # torch.export wants their dynamic shapes grouped as one tuple
    varargs_from: int | None = None


@dataclass
class KindExport:
    """What a content kind's ``build_export(checkpoint)`` returns for :func:`export_checkpoint`.

    ``graphs`` maps a role to (file name, spec); the first is the manifest's main ``file``, the
    others go to ``files``. ``manifest`` holds the kind's own fields (kind, family, description,
    extra, training ...); the exporter adds file, sha256, bytes, opset, inputs, outputs, parity.
    """

    name: str
    graphs: dict[str, tuple[str, GraphSpec]]
    manifest: dict


def export_graph(spec, onnx_path: Path, tolerance: float, where: str) -> tuple[dict, Any]:
    """Export ``spec`` to ``onnx_path`` and check ORT vs torch; returns (parity, ORT session).

    Raises :class:`ParityError` when outputs differ by more than ``tolerance`` or shapes differ.
    """
    import onnxruntime as ort
    import torch

    ranges = getattr(spec, "dim_ranges", None) or {}
    dims = {}
    derived = {}     # "4*h4": an axis that is a whole multiple of another dynamic one
    for d in spec.dynamic:
        for name in d.values():
            k, _, base = name.partition("*")
            if base and k.isdigit():
                derived[name] = (int(k), base)
                name = base
            lo, hi = ranges.get(name, (1, 4096))
            dims.setdefault(name, torch.export.Dim(name, min=lo, max=hi))
    for name, (k, base) in derived.items():
        dims[name] = k * dims[base]
    dynamic_shapes = tuple({axis: dims[name] for axis, name in d.items()} for d in spec.dynamic)
    if getattr(spec, "varargs_from", None) is not None:
        dynamic_shapes = dynamic_shapes[:spec.varargs_from] + (dynamic_shapes[spec.varargs_from:],)
    example = spec.make_inputs(torch.Generator().manual_seed(0),
                               {n: max(2, ranges.get(n, (1, 0))[0]) for n in dims if n not in derived})
    t0 = time.perf_counter()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), _quiet("torch.onnx"):
        warnings.simplefilter("ignore")
        torch.onnx.export(spec.module, example, str(onnx_path), dynamo=True, external_data=False,
                          input_names=spec.input_names, output_names=spec.output_names,
                          dynamic_shapes=dynamic_shapes, verbose=False)
    if getattr(spec, "strip_metadata", False):
        import onnx

        proto = onnx.load(str(onnx_path))
        for node in proto.graph.node:
            del node.metadata_props[:]
        onnx.save(proto, str(onnx_path))
    export_s = time.perf_counter() - t0

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(1234)
    worst = 0.0
    tried = []
    for shape in spec.shapes:
        inputs = spec.make_inputs(gen, shape)
        with torch.no_grad():
            ref = spec.module(*inputs)
        ref = ref if isinstance(ref, tuple) else (ref,)
        got = sess.run(None, {n: t.numpy() for n, t in zip(spec.input_names, inputs)})
        for name_, r, g in zip(spec.output_names, ref, got):
            if tuple(r.shape) != g.shape:
                raise ParityError(f"{where}: output {name_} shape {g.shape} from ONNX Runtime, "
                                  f"{tuple(r.shape)} from PyTorch at {shape}")
            worst = max(worst, float(np.max(np.abs(r.numpy().astype(np.float64) - g))))
        tried.append(shape)
    if not worst <= tolerance:
        raise ParityError(f"{where}: ONNX Runtime differs from PyTorch by {worst:.3g} "
                          f"(tolerance {tolerance:.3g}) over shapes {tried}; nothing written")
    parity = {"max_abs_diff": worst, "tolerance": tolerance, "shapes": tried,
              "provider": "CPUExecutionProvider", "torch": torch.__version__, "onnxruntime": ort.__version__,
              "export_seconds": round(export_s, 1)}
    return parity, sess


def _opset(onnx_path: Path) -> int:
    import onnx

    return int(next((o.version for o in onnx.load(str(onnx_path)).opset_import if o.domain in ("", "ai.onnx")), 0))


def publish(work: Path, models_root: Path, name: str, version: str) -> Path:
    """Move a finished model folder into ``models_root/name/version`` (replacing it whole)."""
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


def export_checkpoint(checkpoint: Path, models_root: Path, version: str | None = None,
                      tolerance: float = 1e-4, name: str | None = None) -> Path:
    """Export ``checkpoint``; returns the model folder ``models_root/<name>/<version>``.

    The checkpoint's ``kind`` (``levels`` when absent) is looked up in the kinds table
    (:mod:`gamegen.generators.kinds`), whose exporter returns a :class:`KindExport`; this module
    knows no kind. ``name`` defaults to the checkpoint's own name. A negative
    ``tolerance`` makes every parity check fail (tests use it).
    """
    import onnxruntime as ort
    import torch

    ort.set_default_logger_severity(3)
    checkpoint, models_root = Path(checkpoint), Path(models_root)
    version = version or DEFAULT_VERSION
    with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict):
        raise ValueError(f"{checkpoint}: not a gamegen checkpoint")
    from gamegen.generators import kinds

    kind = ckpt.get("kind", "levels")   # level checkpoints predate the field
    try:
        job = kinds.exporter(kind)(ckpt)
    except kinds.UnknownKind:
        raise ValueError(f"{checkpoint}: checkpoint kind {kind!r} has no exporter") from None
    except ValueError as e:
        raise ValueError(f"{checkpoint}: {e}") from None
    name = name or job.name

    models_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-{version}-", dir=models_root))
    try:
        manifest = {"schema": 1, **job.manifest, "name": name, "version": version}
        manifest.setdefault("extra", {})
        files = {}
        for i, (role, (fname, spec)) in enumerate(job.graphs.items()):
            path = work / fname
            parity, sess = export_graph(spec, path, tolerance, f"{checkpoint} [{role}]")
            entry = {"file": fname, "sha256": sha256_file(path), "bytes": path.stat().st_size,
                     "opset": _opset(path), "inputs": _io(sess.get_inputs()), "outputs": _io(sess.get_outputs()),
                     "parity": parity}
            del sess
            if i == 0:
                manifest.update(entry)
                manifest["extra"] = {**spec.extra, **manifest["extra"]}
            else:
                files[role] = entry
        if files:
            manifest["files"] = files
        write_manifest(work, manifest)
        return publish(work, models_root, name, version)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
