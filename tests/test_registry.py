"""Model repository loading: checksums, refusal of broken models, provider reporting."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from gamegen.server.registry import ModelNotFound, ModelUnavailable, load_registry

from .conftest import MODELS, gamegen_cmd


def _npc_served() -> bool:
    from gamegen.generators import kinds

    return "npc" in kinds.KIND_TABLE


def copy_models(tmp_path):
    dst = tmp_path / "models"
    # the bundled npc models ship before a generator serves their kind (see _refused)
    skip = None if _npc_served() else shutil.ignore_patterns("npc-*")
    shutil.copytree(MODELS, dst, ignore=skip)
    return dst


def _refused(reg):
    """Refusals, less the bundled npc models while no generator serves the npc kind yet: their
    policies and runtime ship first (generators/npc); once kinds.KIND_TABLE has "npc" they count."""
    if _npc_served():
        return reg.refused
    return [(p, r) for p, r in reg.refused if "manifest kind 'npc' is not served" not in r]


def test_bundled_models_load_with_cpu_provider(registry):
    assert not _refused(registry), registry.refused
    for ref, version in (("levels/smb", "2.0.0"), ("levels/loderunner", "2.0.0"), ("levels/loderunner@1.0.0", "1.0.0"),
                         ("levels/smb@1.0.0", "1.0.0"),
                         ("levels/loderunner-masked", "2.0.0"), ("levels/loderunner-masked@1.0.0", "1.0.0"),
                         ("levels/loderunner-transformer", "1.1.0"), ("levels/loderunner-transformer@1.0.0", "1.0.0")):
        gen = registry.resolve(ref)
        assert gen.info.execution_provider == "CPUExecutionProvider"
        assert gen.info.family and gen.info.version == version


def test_corrupted_model_is_refused_and_the_rest_still_load(tmp_path, caplog):
    models = copy_models(tmp_path)
    for version in ("1.0.0", "2.0.0"):
        onnx_file = models / "smb" / version / "model.onnx"
        data = bytearray(onnx_file.read_bytes())
        data[len(data) // 2] ^= 0xFF
        onnx_file.write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR, logger="gamegen.registry"):
        reg = load_registry(models, device="cpu", warmup=False)
    assert sorted(p for p, _ in reg.refused) == [str(models / "smb" / "1.0.0"), str(models / "smb" / "2.0.0")]
    assert "sha256" in reg.refused[0][1]
    assert any("refused model" in r.message and "smb" in r.message for r in caplog.records)
    assert reg.resolve("levels/loderunner")
    with pytest.raises(ModelNotFound) as ei:
        reg.resolve("levels/smb")
    assert "levels/loderunner" in str(ei.value)


def test_bad_manifest_and_unknown_kind_are_refused(tmp_path):
    models = copy_models(tmp_path)
    (models / "smb" / "1.0.0" / "manifest.json").write_text("{not json")
    lr = models / "loderunner" / "1.0.0" / "manifest.json"
    m = json.loads(lr.read_text())
    m["kind"] = "holograms"
    lr.write_text(json.dumps(m))
    reg = load_registry(models, device="cpu", warmup=False)
    reasons = dict(reg.refused)
    assert len(reasons) == 2
    assert "holograms" in reasons[str(models / "loderunner" / "1.0.0")]
    assert reg.resolve("levels/smb-rules")  # model-free generators are still there


def _txt(gen, seed: int) -> bytes:
    from gamegen.generators.events import Asset

    return next(e.data for e in gen.generate(seed, {}, ["txt"], partials=False) if isinstance(e, Asset))


def test_lazy_registry_loads_each_model_when_first_asked_for(tmp_path, registry):
    models = tmp_path / "models"
    for name in ("smb", "loderunner"):
        shutil.copytree(MODELS / name, models / name)
    bad = models / "smb" / "2.0.0"
    data = bytearray((bad / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "model.onnx").write_bytes(bytes(data))
    reg = load_registry(models, device="cpu", warmup=False, lazy=True)
    assert not reg.refused                                     # nothing is loaded (or checked) yet
    assert "levels/smb" in reg.refs() and "levels/loderunner" in reg.refs()
    with ThreadPoolExecutor(4) as pool:                        # a bake resolves on several threads: loaded once
        got = list(pool.map(lambda _: reg.resolve("levels/loderunner@1.0.0"), range(8)))
    lstm = reg.resolve("levels/loderunner@1.0.0")
    assert all(g is lstm for g in got)
    assert lstm.info.family == "lstm" and lstm.info.execution_provider == "CPUExecutionProvider"
    assert _txt(lstm, 3) == _txt(registry.resolve("levels/loderunner@1.0.0"), 3)   # the same bytes as eager
    with pytest.raises(ModelUnavailable) as ei:                # the newest smb fails its checksum when asked
        reg.resolve("levels/smb")
    assert "levels/smb@2.0.0" in str(ei.value) and "sha256" in str(ei.value)
    assert [p for p, _ in reg.refused] == [str(bad)]
    assert reg.resolve("levels/smb").info.version == "1.0.0"   # then, as eager loading does, the next one
    assert {(g.info.ref, g.info.version) for g in reg.all() if g.info.ref == "levels/smb"} == {("levels/smb", "1.0.0")}
    r = subprocess.run(gamegen_cmd("generate", "levels/smb@2.0.0", "--models", str(models), "-f", "txt",
                                   "--out", str(tmp_path / "out")), capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "cannot be loaded" in r.stderr and "sha256" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "out").exists()


def test_missing_model_directory(tmp_path):
    with pytest.raises(FileNotFoundError) as ei:
        load_registry(tmp_path / "nope", device="cpu")
    assert "nope" in str(ei.value) and "does not exist" in str(ei.value)


def test_cuda_is_never_claimed_without_a_gpu(tmp_path):
    import onnxruntime as ort

    reg = load_registry(MODELS, device="auto", warmup=False)
    usable = "CUDAExecutionProvider" in ort.get_available_providers()
    for gen in reg.all():
        if gen.info.execution_provider not in ("none", "CPUExecutionProvider"):
            assert usable and gen.info.execution_provider == "CUDAExecutionProvider"


def test_device_cuda_without_gpu_is_a_clear_refusal(tmp_path):
    import onnxruntime as ort

    reg = load_registry(MODELS, device="cuda", warmup=False)
    sessions_on_cuda = [g for g in reg.all() if g.info.execution_provider == "CUDAExecutionProvider"]
    if sessions_on_cuda:
        pytest.skip("a usable GPU is present")
    assert all("CUDA" in reason for _, reason in _refused(reg)) and _refused(reg)


def test_serving_path_never_imports_torch():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from gamegen.server.registry import load_registry\n"
        "from gamegen.server.app import GameGenServer\n"
        "import gamegen.server.cli, gamegen.client, gamegen.server.bake\n"
        "reg = load_registry(device='cpu')\n"
        "from gamegen.generators.params import ParamError\n"
        "for g in reg.all():\n"
        "    try:\n"
        "        list(g.generate(1, {}, list(g.info.formats)))\n"
        "    except ParamError:\n"  # needs an upload (an image ...); its warm-up at load ran it with one
        "        pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnxscript', 'onnx'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"serving path imported training modules: {r.stdout} {r.stderr}"
