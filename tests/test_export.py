"""Tiny train -> ONNX export -> manifest + checksum -> load_sampler -> sample (one per family/game)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
VGLC = ROOT.parent / "shared" / "data" / "vglc"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not VGLC.is_dir(), reason=f"VGLC training corpus not found at {VGLC} (needed to train)"),
]
torch = pytest.importorskip("torch", reason="training extras (torch) not installed")
pytest.importorskip("onnxscript", reason="training extras (onnxscript) not installed")
ort = pytest.importorskip("onnxruntime")

from gamegen.exporters.manifest import (  # noqa: E402
    REQUIRED, ChecksumError, ManifestError, load_manifest, verify_checksum, write_manifest,
)
from gamegen.exporters.onnx_export import ParityError, export_checkpoint  # noqa: E402
from gamegen.generators.levels.games import GAMES  # noqa: E402
from gamegen.generators.levels.samplers import load_sampler  # noqa: E402
from gamegen.generators.levels.train import train  # noqa: E402

CASES = [("smb", "lstm"), ("loderunner", "lstm"), ("smb", "dcgan"), ("loderunner", "dcgan")]


def session(path: Path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{(game, family): (checkpoint, model_dir)} — trained with --tiny, exported once per module."""
    out = {}
    for game, family in CASES:
        d = tmp_path_factory.mktemp(f"{game}-{family}")
        ckpt = train(game, family, d / "ckpt.pt", seed=3, tiny=True, log=lambda *_: None)
        out[(game, family)] = (ckpt, export_checkpoint(ckpt, d / "models", version="0.0.1"))
    return out


@pytest.mark.parametrize("game,family", CASES)
def test_manifest_fields_and_checksum(exported, game, family):
    _, model_dir = exported[(game, family)]
    assert model_dir.name == "0.0.1" and model_dir.parent.name == game
    assert sorted(p.name for p in model_dir.iterdir()) == ["manifest.json", "model.onnx"]
    m = load_manifest(model_dir)
    assert set(REQUIRED) <= set(m)
    assert (m["schema"], m["kind"], m["name"], m["version"], m["family"], m["game"]) == (
        1, "levels", game, "0.0.1", family, game)
    assert m["bytes"] == (model_dir / "model.onnx").stat().st_size
    assert m["legend"] == {s: list(t) for s, t in GAMES[game].legend}
    assert m["parity"]["max_abs_diff"] <= m["parity"]["tolerance"] == 1e-4
    assert len(m["parity"]["shapes"]) >= 3
    assert all(io["shape"][0] == "batch" for io in m["inputs"] + m["outputs"])
    assert {"data", "held_out", "command", "epochs", "seed", "seconds"} <= set(m["training"])
    verify_checksum(model_dir, m)


@pytest.mark.parametrize("game,family", CASES)
def test_sampler_shapes_symbols_and_determinism(exported, game, family):
    _, model_dir = exported[(game, family)]
    g = GAMES[game]
    sampler = load_sampler(model_dir, load_manifest(model_dir), session)
    width = 45 if g.width is None else g.width
    controls = {"enemies": 0.7, "gaps": 0.3, "temperature": 1.2}
    a = list(sampler.sample(np.random.default_rng(11), width, controls, 16))
    b = list(sampler.sample(np.random.default_rng(11), width, controls, 16))
    if g.width is None:
        assert [c.shape[1] for c in a] == [16, 16, 13]
    else:
        assert len(a) == 1
    for c in a:
        assert c.dtype == np.uint8 and c.shape[0] == g.height
    grid = np.concatenate(a, axis=1)
    assert grid.shape == (g.height, width)
    assert set(bytes(np.unique(grid)).decode()) <= set(g.symbols)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    if game == "loderunner":
        assert (grid == ord("M")).sum() == 1
    other = np.concatenate(list(sampler.sample(np.random.default_rng(12), width, controls, 16)), axis=1)
    assert not np.array_equal(grid, other)


def test_parity_failure_writes_nothing(exported, tmp_path):
    ckpt, _ = exported[("loderunner", "dcgan")]
    root = tmp_path / "models"
    with pytest.raises(ParityError, match="differs from PyTorch"):
        export_checkpoint(ckpt, root, tolerance=-1.0)
    assert not any(p for p in root.rglob("*")), list(root.rglob("*"))


def test_checksum_and_manifest_errors(exported, tmp_path):
    _, model_dir = exported[("smb", "dcgan")]
    m = load_manifest(model_dir)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.onnx").write_bytes((model_dir / "model.onnx").read_bytes() + b"\0")
    write_manifest(bad, m)
    with pytest.raises(ChecksumError) as e:
        verify_checksum(bad, m)
    assert m["sha256"] in str(e.value) and "model.onnx" in str(e.value)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ManifestError, match="no manifest"):
        load_manifest(empty)
    (empty / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="invalid JSON"):
        load_manifest(empty)
    partial = {k: v for k, v in m.items() if k not in ("sha256", "opset")}
    (empty / "manifest.json").write_text(json.dumps(partial))
    with pytest.raises(ManifestError, match="sha256, opset"):
        load_manifest(empty)


def test_cli_export_name_puts_a_model_under_another_name(exported, tmp_path):
    """``gamegen export --name``: the same checkpoint exported under another model name (how the
    transformer became ``levels/loderunner`` 2.0.0); a name that is not a plain folder name is
    refused by name and writes nothing."""
    import subprocess

    from .conftest import gamegen_cmd

    ckpt, first = exported[("loderunner", "lstm")]
    models = tmp_path / "models"
    r = subprocess.run(gamegen_cmd("export", str(ckpt), "--models", str(models), "--version", "2.0.0",
                                   "--name", "loderunner-alias"), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    man = load_manifest(models / "loderunner-alias" / "2.0.0")
    assert man["name"] == "loderunner-alias" and man["family"] == "lstm"
    assert (models / "loderunner-alias" / "2.0.0" / "model.onnx").read_bytes() == (first / "model.onnx").read_bytes()
    bad = subprocess.run(gamegen_cmd("export", str(ckpt), "--models", str(tmp_path / "m2"), "--name", "../up"),
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "--name" in bad.stderr and "'../up'" in bad.stderr
    assert not (tmp_path / "m2").exists() and not (tmp_path / "up").exists()
