"""The terrain generator: noise -> erosion (simulated or learned) -> normals, splat -> encoders.

Two kinds of model serve ``terrain``:

* ``terrain/noise`` (built in, no model file): noise plus the iterative erosion simulators, with
  the iteration counts as parameters (0 = pure noise, the classical baseline).
* learned models (``terrain/terrain-erosion``): a small fully-convolutional network, run with
  ONNX Runtime, that reproduces in one pass what the simulators do in many iterations.

Assets stream as each is ready: heightmaps first, then the splat mask and preview, then the mesh
(tile by tile for big chunks).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..base import Encoder, Generator, GeneratorInfo, Product
from ..events import Event, Progress
from ..params import Param
from . import chunks, erosion
from . import encoders as enc

# Bump when the bytes produced for the same model + seed + parameters change.
GENERATOR_VERSION = 2
MAX_ITERATIONS = 300


def common_params() -> list[Param]:
    lim = chunks.CHUNK_LIMIT
    return [
        Param("chunk_x", "int", 0, "chunk column in the world grid (neighbours share an edge)", lo=-lim, hi=lim - 1),
        Param("chunk_y", "int", 0, "chunk row in the world grid", lo=-lim, hi=lim - 1),
        Param("size", "int", 257, "samples per side (2^n+1)", lo=chunks.SIZES[0], hi=chunks.SIZES[-1],
              choices=tuple(chunks.SIZES), hint="2^n+1 samples, as Unity's terrain importer reads"),
        Param("noise", "choice", "fbm", "base noise: fbm (rolling hills) or ridged (mountain ridges)",
              choices=("fbm", "ridged")),
        Param("scale", "float", 384.0, "size of the largest features, in samples", lo=16.0, hi=4096.0),
        Param("octaves", "int", 6, "noise octaves (detail levels)", lo=1, hi=10),
        Param("persistence", "float", 0.5, "amplitude kept per octave (higher: rougher)", lo=0.2, hi=0.8),
        Param("warp", "float", 0.0, "domain warping strength (0: none)", lo=0.0, hi=2.0),
        Param("height_range", "float", 100.0, "metres between height 0 and 65535 in the heightmap",
              lo=1.0, hi=4000.0),
        Param("cell_size", "float", 1.0, "metres between samples (mesh scale)", lo=0.1, hi=100.0),
        Param("sea_level", "float", 0.2, "sea level as a fraction of height_range (sand below)", lo=0.0, hi=1.0),
        Param("moisture", "float", 0.5, "wetness: more grass and a lower snow line when higher", lo=0.0, hi=1.0),
    ]


def classic_params() -> tuple[Param, ...]:
    return tuple(common_params() + [
        Param("hydraulic_iterations", "int", 0, "hydraulic erosion steps (rain, flow, sediment)",
              lo=0, hi=MAX_ITERATIONS),
        Param("thermal_iterations", "int", 0, "thermal erosion steps (steep slopes slump)", lo=0, hi=MAX_ITERATIONS),
    ])


def learned_params() -> tuple[Param, ...]:
    return tuple(common_params() + [
        Param("erosion", "float", 1.0, "strength of the learned erosion (0: plain noise, 1: as trained)",
              lo=0.0, hi=1.0),
    ])


class TerrainGenerator(Generator):
    def __init__(self, info: GeneratorInfo, session: Any = None):
        self.info = info
        self.session = session

    @classmethod
    def from_model(cls, model_dir: Path, manifest: dict, session_factory: Callable) -> "TerrainGenerator":
        session = session_factory(model_dir / manifest["file"])
        info = GeneratorInfo(
            kind="terrain", name=manifest["name"], version=str(manifest["version"]),
            family=manifest.get("family", ""), description=manifest.get("description", ""),
            params=learned_params(), formats=enc.FORMATS, generator_version=GENERATOR_VERSION,
            sha256=manifest["sha256"], extra=dict(manifest.get("extra", {})),
        )
        return cls(info, session)

    @classmethod
    def classic(cls) -> "TerrainGenerator":
        info = GeneratorInfo(
            kind="terrain", name="noise", version="1.0.0", family="noise",
            description="fBm / ridged noise with iterative hydraulic and thermal erosion, no model (classical baseline)",
            params=classic_params(), formats=enc.FORMATS, generator_version=GENERATOR_VERSION,
        )
        return cls(info)

    # -- generation ------------------------------------------------------------------------------

    def eroder(self, params: dict[str, Any]):
        """The per-tile erosion function for these parameters, or None for plain noise."""
        if self.session is None:
            hyd, th = params["hydraulic_iterations"], params["thermal_iterations"]
            if not hyd and not th:
                return None
            return lambda tiles: erosion.erode(tiles, hyd, th)
        strength = np.float32(params["erosion"])
        if strength == 0:
            return None
        name = self.session.get_inputs()[0].name

        def learned(tiles: np.ndarray) -> np.ndarray:
            out = self.session.run(None, {name: tiles[:, None].astype(np.float32)})[0][:, 0]
            return out if strength == 1 else tiles + strength * (out - tiles)

        return learned

    def produce(self, seed, params, formats, *, partials, timings) -> Iterator[Event]:
        t0 = time.perf_counter()
        shape = chunks.Shape(seed=seed, noise=params["noise"], scale=params["scale"], octaves=params["octaves"],
                             persistence=params["persistence"], warp=params["warp"])
        eroder = self.eroder(params)
        yield Progress(0.0, "heights", "noise" + (" + erosion" if eroder else ""))
        steps = chunks.build_chunk_steps(
            shape, params["chunk_x"], params["chunk_y"], params["size"], eroder=eroder,
            height_range=params["height_range"], cell_size=params["cell_size"], sea_level=params["sea_level"],
            moisture=params["moisture"],
        )
        while True:   # erosion tile batches: progress between them (and a cancelled stream stops there)
            try:
                done, total = next(steps)
            except StopIteration as finished:
                chunk = finished.value
                break
            yield Progress(0.5 * done / total, "erosion", f"{done}/{total} tiles")
        timings.add("heights", time.perf_counter() - t0)
        yield Progress(0.5, "heights", "done")
        return Product(chunk)

    def encode_order(self, formats: list[str]) -> list[str]:
        """Images in the request's order, the mesh (the slowest, streamed tile by tile) last."""
        return sorted(formats, key=lambda f: f == "glb")

    encoders = {
        "heightmap": Encoder(lambda chunk, params: enc.heightmap_png(chunk), "images"),
        "raw": Encoder(lambda chunk, params: enc.heightmap_raw(chunk), "images"),
        "splat": Encoder(lambda chunk, params: enc.splat_png(chunk), "images"),
        "png": Encoder(lambda chunk, params: enc.preview_png(chunk, params["sea_level"]), "images"),
        "glb": Encoder(lambda chunk, params: _mesh(chunk, params), "mesh"),
    }

    def warm_params(self) -> dict[str, Any]:
        """A small chunk in every format: cheap, and a broken model fails at load."""
        params: dict[str, Any] = {"size": chunks.SIZES[0]}
        if self.session is None:
            params["hydraulic_iterations"] = params["thermal_iterations"] = 2
        return params


def _mesh(chunk, params) -> Iterator[Event]:
    yield Progress(0.6, "mesh")
    yield from enc.glb_assets(chunk, params["height_range"], params["cell_size"])


def builtins() -> list[TerrainGenerator]:
    return [TerrainGenerator.classic()]
