"""The model manifest: ``manifest.json`` next to ``model.onnx`` in ``models/<name>/<version>/``.

Schema 1 (all fields required unless marked optional)::

    schema       1
    kind         "levels"                      content kind served by the model
    name         "smb" | "loderunner" | ...    model name (= folder name)
    version      "1.0.0"                       (= sub-folder name)
    family       "lstm" | "dcgan" | ...        model family (how the sampler drives the graph)
    description  one line for ListModels
    file         "model.onnx"
    sha256       hex digest of ``file``
    bytes        size of ``file``
    opset        ONNX default-domain opset
    inputs       [{name, dtype, shape}]        shape entries are ints or symbolic names ("batch")
    outputs      [{name, dtype, shape}]
    extra        {...}                         family-specific (column vocabulary, hidden size, latent size)
    training     {data, held_out, command, epochs, seed, seconds}
    parity       {max_abs_diff, tolerance, shapes}   ORT vs PyTorch on random inputs
    files        optional: {role: {file, sha256, bytes, inputs, outputs, parity}} further ONNX
                 graphs of the same model (e.g. an uncached decoder next to the cached step);
                 each is checksum-verified like ``file``
    device       optional: {prefer: "cpu" | "cuda", measured: "..."} where the model runs fastest;
                 ``--device auto`` puts it there (step-by-step recurrent models: "cpu", one small
                 call per step; convolutional ones: "cuda"). Not covered by ``sha256`` (which is
                 the ONNX file's), so it can be stated for a shipped model without re-exporting.

A kind may require fields of its own (levels: ``game``, the GameSpec id, and ``legend``, the tile
legend); they are declared in the kinds table (:mod:`gamegen.generators.kinds`), not here.

The registry refuses a model whose ``sha256`` does not match its file (:func:`verify_checksum`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from gamegen.generators.errors import FailedPrecondition

SCHEMA = 1
MANIFEST = "manifest.json"

# field -> accepted python type(s)
REQUIRED: dict[str, type | tuple[type, ...]] = {
    "schema": int,
    "kind": str,
    "name": str,
    "version": str,
    "family": str,
    "description": str,
    "file": str,
    "sha256": str,
    "bytes": int,
    "opset": int,
    "inputs": list,
    "outputs": list,
    "extra": dict,
    "training": dict,
    "parity": dict,
}
TRAINING_FIELDS = ("data", "held_out", "command", "epochs", "seed", "seconds")
PARITY_FIELDS = ("max_abs_diff", "tolerance", "shapes")
DEVICES = ("cpu", "cuda")


class ManifestError(FailedPrecondition, ValueError):
    """A manifest is missing, not valid JSON, or lacks/mistypes a field. The message says which."""


class ChecksumError(FailedPrecondition, ValueError):
    """The model file's sha256 differs from the manifest's."""

    def __init__(self, path: Path, expected: str, actual: str):
        super().__init__(f"checksum mismatch for {path}: manifest says sha256 {expected}, file has {actual}")
        self.path, self.expected, self.actual = Path(path), expected, actual


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def validate(manifest: Any, where: str = "manifest") -> dict:
    """Return ``manifest`` if it satisfies schema 1, else raise :class:`ManifestError`."""
    if not isinstance(manifest, dict):
        raise ManifestError(f"{where}: expected a JSON object, got {type(manifest).__name__}")
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise ManifestError(f"{where}: missing field(s) {', '.join(missing)}")
    for key, typ in REQUIRED.items():
        value = manifest[key]
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            want = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
            raise ManifestError(f"{where}: field {key!r} must be {want}, got {type(value).__name__} {value!r:.60}")
    files = manifest.get("files", {})
    if not isinstance(files, dict) or not all(
        isinstance(f, dict) and isinstance(f.get("file"), str) and isinstance(f.get("sha256"), str)
        and _plain_name(f["file"]) for f in files.values()
    ):
        raise ManifestError(f"{where}: field 'files' must map roles to {{file, sha256, ...}} with plain file names")
    device = manifest.get("device")
    if device is not None and not (isinstance(device, dict) and device.get("prefer") in DEVICES):
        raise ManifestError(f"{where}: field 'device' must be {{\"prefer\": \"cpu\" or \"cuda\"}}, got {device!r:.80}")
    if manifest["schema"] != SCHEMA:
        raise ManifestError(f"{where}: schema {manifest['schema']} is not supported (this version reads schema {SCHEMA})")
    if len(manifest["sha256"]) != 64 or any(ch not in "0123456789abcdef" for ch in manifest["sha256"]):
        raise ManifestError(f"{where}: field 'sha256' must be 64 lowercase hex digits, got {manifest['sha256']!r}")
    if not _plain_name(manifest["file"]):
        raise ManifestError(f"{where}: field 'file' must be a plain file name in the model folder, got {manifest['file']!r}")
    for key in ("inputs", "outputs"):
        for i, io in enumerate(manifest[key]):
            if not isinstance(io, dict) or not {"name", "dtype", "shape"} <= io.keys() or not isinstance(io["shape"], list):
                raise ManifestError(f"{where}: {key}[{i}] must be an object with name, dtype and shape (list), got {io!r:.80}")
    for key, fields in (("training", TRAINING_FIELDS), ("parity", PARITY_FIELDS)):
        lack = [f for f in fields if f not in manifest[key]]
        if lack:
            raise ManifestError(f"{where}: field {key!r} lacks {', '.join(lack)}")
    return manifest


def _plain_name(name: str) -> bool:
    return "/" not in name and "\\" not in name and name not in ("", ".", "..")


def write_manifest(model_dir: Path | str, manifest: dict) -> Path:
    """Validate and write ``model_dir/manifest.json`` (atomically: temp file + rename)."""
    model_dir = Path(model_dir)
    validate(manifest, str(model_dir / MANIFEST))
    path = model_dir / MANIFEST
    tmp = model_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_manifest(model_dir: Path | str) -> dict:
    """Read and validate ``model_dir/manifest.json``; :class:`ManifestError` says what is wrong."""
    path = Path(model_dir) / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: no manifest (every model folder needs {MANIFEST} next to its ONNX file)") from None
    except OSError as e:
        raise ManifestError(f"{path}: cannot read manifest: {e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ManifestError(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    return validate(data, str(path))


def verify_checksum(model_dir: Path | str, manifest: dict) -> None:
    """Raise :class:`ChecksumError` unless every model file hashes to its manifest sha256."""
    entries = [(manifest["file"], manifest["sha256"])]
    entries += [(f["file"], f["sha256"]) for f in manifest.get("files", {}).values()]
    for name, expected in entries:
        path = Path(model_dir) / name
        if not path.is_file():
            raise ManifestError(f"{path}: model file named by the manifest does not exist")
        actual = sha256_file(path)
        if actual != expected:
            raise ChecksumError(path, expected, actual)
