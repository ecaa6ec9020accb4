"""Terrain checkpoint -> ONNX export job for ``gamegen export`` (see exporters/onnx_export.py)."""

from __future__ import annotations

from gamegen.exporters.onnx_export import GraphSpec, KindExport

from . import nets


def build_export(ckpt: dict) -> KindExport:
    import torch

    for key in ("name", "config", "state_dict", "training", "simulator"):
        if key not in ckpt:
            raise ValueError(f"not a gamegen terrain checkpoint (missing {key!r})")
    model = nets.build(ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    model.eval()

    def make_inputs(gen: torch.Generator, dims: dict) -> tuple:
        b, h, w = dims.get("batch", 2), dims.get("height", 64), dims.get("width", 64)
        return (torch.rand(b, 1, h, w, generator=gen) * 0.6 + 0.2,)

    spec = GraphSpec(
        module=model, input_names=["heights"], output_names=["eroded"],
        dynamic=[{0: "batch", 2: "height", 3: "width"}], make_inputs=make_inputs,
        shapes=[{"batch": 1, "height": 192, "width": 192}, {"batch": 3, "height": 64, "width": 96},
                {"batch": 2, "height": 40, "width": 56}],
        dim_ranges={"batch": (1, 256), "height": (16, 4096), "width": (16, 4096)},
        extra={"config": dict(ckpt["config"]), "simulator": dict(ckpt["simulator"]),
               "metrics": dict(ckpt.get("metrics", {}))},
    )
    sim = ckpt["simulator"]
    return KindExport(ckpt["name"], {"model": ("model.onnx", spec)}, {
        "kind": "terrain", "family": "unet-erosion",
        "description": (f"noise + learned one-pass erosion (a U-Net trained to reproduce "
                        f"{sim['hydraulic_iterations']} hydraulic + {sim['thermal_iterations']} thermal "
                        "simulator iterations)"),
        "training": dict(ckpt["training"]),
        "device": {"prefer": "cuda"},   # convolutional: 2.5x faster on CUDA (README, "Execution providers")
    })
