"""One shape for every kind: checks declared once reach every caller, one error hierarchy, and the
base class owns the lifecycle (Final, timings, provider)."""

from __future__ import annotations

import ast
import dataclasses
import io
from pathlib import Path

import grpc
import numpy as np
import pytest

from gamegen.client import Client, GameGenError, InvalidArgument, NotFound
from gamegen.generators import errors, kinds
from gamegen.generators.base import Generator
from gamegen.generators.params import Param, ParamError, Rule
from gamegen.generators.textures import images, procedural
from gamegen.server import convert
from gamegen.server.backends import LocalBackend
from gamegen.server.bake import BakeFileError, load_bake_file
from gamegen.server.registry import Registry

from .conftest import MODELS, ROOT, ServerThread, gamegen_cmd

GOOD_ASSET = '[[asset]]\nname = "ok"\nmodel = "levels/smb-rules"\nseed = 1\nparams = { width = 60 }\n\n'


def png_bytes() -> bytes:
    alb, _, _ = procedural.material("brick", np.random.default_rng(0), 64)
    return images.png_rgb(alb)


# Each is a bake asset that passes the old per-Param checks but must fail before any work.
LATE_FAILURES = [
    ('model = "terrain/noise"\nparams = { size = 300 }', ["size", "one of 33", "1025", "300"]),
    ('model = "textures/materials-gan"\nparams = { size = 100 }', ["size", "multiple of 16"]),
    ('model = "textures/pbr-unet"\nformats = ["height"]', ["albedo", "required"]),
    ('model = "textures/exemplar-unet"\nparams = { exemplar = "notes.txt" }', ["exemplar", "not a PNG or JPEG"]),
    ('model = "music/music-lstm"\nparams = { continuation = "notes.txt" }', ["continuation", "MIDI"]),
]


@pytest.fixture(scope="module")
def local():
    return LocalBackend(MODELS)   # its models load once, on the first check


@pytest.mark.parametrize("asset,words", LATE_FAILURES, ids=[a.split('"')[1] for a, _ in LATE_FAILURES])
def test_bake_file_is_refused_whole_before_any_work(tmp_path, local, asset, words):
    (tmp_path / "notes.txt").write_text("not an image, not a MIDI file, just words\n")
    bake = tmp_path / "bake.toml"
    bake.write_text(GOOD_ASSET + f'[[asset]]\nname = "bad"\nseed = 2\n{asset}\n')
    with pytest.raises(BakeFileError) as ei:
        load_bake_file(bake, local)
    assert "asset #2 (bad)" in str(ei.value) and all(w in str(ei.value) for w in words), str(ei.value)

    import subprocess

    out = tmp_path / "out"
    r = subprocess.run(gamegen_cmd("bake", str(bake), "--out", str(out)), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert all(w in r.stderr for w in words), r.stderr
    assert not out.exists() or not any(out.iterdir())   # the good asset was not baked either


@pytest.fixture(scope="module")
def remote(registry):
    s = ServerThread(registry)
    with Client(s.target, timeout=60) as c:
        yield s, c
    s.stop()


def test_remote_bake_validates_every_asset_on_the_server(tmp_path, remote):
    from gamegen.server.backends import RemoteBackend

    server, _ = remote
    (tmp_path / "notes.txt").write_text("just words\n")
    bake = tmp_path / "bake.toml"
    bake.write_text(GOOD_ASSET + '[[asset]]\nname = "bad"\nseed = 2\nmodel = "textures/exemplar-unet"\n'
                                 'params = { exemplar = "notes.txt" }\n')
    before = server.stats.started
    with pytest.raises(BakeFileError) as ei:
        load_bake_file(bake, RemoteBackend(server.target))
    assert "exemplar" in str(ei.value) and "not a PNG or JPEG" in str(ei.value)
    assert server.stats.started == before          # validation started no generation


def test_validate_only_answers_a_final_without_work(remote):
    server, c = remote
    before = server.stats.started
    final = c.validate("terrain/noise", seed=5, params={"size": 65}, formats=["raw"])
    assert final.content_hash == "" and dict(final.parameters)["size"] == "65"
    assert dict(final.parameters)["noise"] == "fbm"      # defaults filled in, canonical text
    with pytest.raises(InvalidArgument) as ei:
        c.validate("terrain/noise", seed=5, params={"size": 300}, formats=["raw"])
    assert ei.value.code == grpc.StatusCode.INVALID_ARGUMENT and "300" in ei.value.details
    assert server.stats.started == before


def test_list_models_carries_every_declared_check(remote):
    _, c = remote
    infos = {f"{m.kind}/{m.name}": m for m in c.list_models()}
    size = next(p for p in infos["terrain/noise"].parameters if p.name == "size")
    assert list(size.choices) == ["33", "65", "129", "257", "513", "1025"]
    tex = next(p for p in infos["textures/materials-gan"].parameters if p.name == "size")
    assert tex.multiple_of == 16
    albedo = next(p for p in infos["textures/pbr-unet"].parameters if p.name == "albedo")
    assert albedo.required and albedo.accepts == "a PNG or JPEG image"
    # a remote description checks the same things locally (the CLI's --set with --server)
    info = convert.info_from_proto(infos["terrain/noise"])
    with pytest.raises(ParamError, match="one of 33"):
        next(p for p in info.params if p.name == "size").parse("300")
    info = convert.info_from_proto(infos["textures/materials-gan"])
    with pytest.raises(ParamError, match="multiple of 16"):
        next(p for p in info.params if p.name == "size").parse("100")


def test_one_error_hierarchy_in_process_and_over_the_wire(registry, remote):
    _, c = remote
    with pytest.raises(InvalidArgument) as local:
        registry.resolve("levels/smb").generate(1, {"width": 5}, ["txt"])
    with pytest.raises(InvalidArgument) as wire:
        list(c.generate("levels/smb", seed=1, params={"width": 5}, formats=["txt"]))
    assert local.value.code == wire.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert local.value.details == wire.value.details and local.value.field == "width"
    with pytest.raises(NotFound) as nf:
        list(c.generate("levels/nope", seed=1, formats=["txt"]))
    assert isinstance(nf.value, GameGenError) and "levels/smb" in nf.value.details
    with pytest.raises(NotFound):
        registry.resolve("levels/nope")
    # bad input found by the client before sending is the same class, not a ValueError of its own
    for bad in ({"colour": "red"}, {"width": "wide"}):
        with pytest.raises(InvalidArgument):
            list(c.generate("levels/smb", seed=1, params=bad, formats=["txt"]))
    with pytest.raises(InvalidArgument):
        list(c.generate("nokind", seed=1, formats=["txt"]))
    assert errors.from_status("UNKNOWN", "x").status == "UNKNOWN"


class Boxes(Generator):
    """A tiny generator written the way the README says a kind is written."""

    def __init__(self):
        from gamegen.generators.base import Encoder, GeneratorInfo

        self.info = GeneratorInfo(
            kind="levels", name="boxes", version="0.1.0", family="test", description="boxes",
            params=(Param("w", "int", 4, "width", lo=1, hi=64), Param("h", "int", 4, "height", lo=1, hi=64)),
            formats=("txt",), generator_version=1,
            rules=(Rule(("w", "h"), "w * h must be at most 256 cells",
                        lambda v: None if v["w"] * v["h"] <= 256 else f"w * h is {v['w'] * v['h']}; "
                                                                      "it must be at most 256 cells"),))
        self.encoders = {"txt": Encoder(lambda grid, params: _txt(grid))}

    def produce(self, seed, params, formats, *, partials, timings):
        from gamegen.generators.base import Product
        from gamegen.generators.events import Progress

        with timings.stage("boxes"):
            grid = np.random.default_rng(seed).integers(0, 2, (params["h"], params["w"]))
        yield Progress(0.5, "boxes")
        return Product(grid, attempts=2)


def _txt(grid):
    from gamegen.generators.events import Asset

    return Asset("boxes.txt", "text/plain", "\n".join("".join(".#"[v] for v in row) for row in grid).encode(), "txt")


def test_base_owns_validation_rules_final_timings_and_provider():
    g = Boxes()
    with pytest.raises(ParamError) as ei:
        g.generate(0, {"w": 64, "h": 64}, ["txt"])
    assert ei.value.field == "w" and "4096" in str(ei.value)
    events = list(g.generate(3, {"w": 8}, ["txt"]))
    final = events[-1]
    assert [type(e).__name__ for e in events] == ["Progress", "Asset", "Final"]
    assert final.attempts == 2 and dict(final.parameters) == {"w": "8", "h": "4"}
    assert set(dict(final.timings_ms)) == {"boxes", "encode", "total"}
    assert final.execution_provider == "none"
    again = list(g.generate(3, {"w": 8}, ["txt"]))[-1]
    assert final.content_hash == again.content_hash                     # deterministic by seed
    assert "w * h must be at most 256 cells" in convert.model_info(g.info).rules


def test_registry_records_the_provider_sessions_really_got(registry):
    for gen in registry.all():
        if gen.info.sha256 and gen.info.family != "markov":
            assert gen.info.execution_provider == "CPUExecutionProvider", gen.info.ref
        else:
            assert gen.info.execution_provider == "none", gen.info.ref


def test_exporters_know_no_kind():
    for path in (ROOT / "exporters").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        for kind in kinds.KINDS:
            assert not any(f"generators.{kind}" in m for m in names), (path.name, kind)
    for kind in kinds.KINDS:
        assert callable(kinds.exporter(kind))
