"""The committed Python stubs must match what grpc_tools generates from the .proto today."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ("gamegen_pb2.py", "gamegen_pb2.pyi", "gamegen_pb2_grpc.py")


def test_stubs_match_proto(tmp_path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools (dev extra) regenerates the stubs")
    src = tmp_path / "proto"
    shutil.copytree(ROOT / "proto", src, ignore=shutil.ignore_patterns("*.py", "*.pyi", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{src}", f"--python_out={src}", f"--pyi_out={src}",
         f"--grpc_python_out={src}", str(src / "gamegen/v1/gamegen.proto")],
        check=True,
    )
    for name in GENERATED:
        fresh = (src / "gamegen/v1" / name).read_text()
        committed = (ROOT / "proto/gamegen/v1" / name).read_text()
        assert fresh == committed, f"proto/gamegen/v1/{name} is stale: run `make proto` and commit"


def test_level_params_cover_every_level_parameter():
    """Every parameter a level generator states has a typed field in LevelParams."""
    from gamegen.generators.levels.games import GAMES
    from gamegen.generators.levels.generator import level_params
    from gamegen.v1 import gamegen_pb2 as pb

    fields = set(pb.LevelParams.DESCRIPTOR.fields_by_name)
    for game in GAMES.values():
        for learned in (True, False):
            missing = {p.name for p in level_params(game, learned)} - fields
            assert not missing, f"LevelParams lacks {missing}"
