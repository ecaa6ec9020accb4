"""Checkpoint of :mod:`.train` → the graphs and manifest fields ``gamegen export`` writes.

Materials and flipbook generators become two graphs: ``trunk.onnx`` (the main file: latent grid +
class → features and a quarter-resolution preview) and ``head.onnx`` (features + preview logits →
full-resolution maps), so the server can stream the preview before the full maps. The PBR U-Net
is one graph. Spatial sizes are dynamic; parity is checked at several sizes.
"""

from __future__ import annotations

import torch

from gamegen.exporters.onnx_export import GraphSpec, KindExport

from . import nets

DESCRIPTIONS = {
    "materials": "tileable PBR materials: spatial GAN (DCGAN family, circular padding) → albedo, height, "
                 "roughness; normals and AO derived with wrap-around differences",
    "pbr": "albedo → height + roughness: pix2pix-style U-Net with circular padding; normals from height",
    "exemplar": "seamless texture like an uploaded image: patch-based synthesis on a torus; height and roughness "
                "from the pix2pix-style U-Net, normals from height",
    "flipbook": "looping, tileable effect flipbooks: spatial GAN driven around a latent circle "
                "(time-periodic by construction), frame and frame-pair critics",
}
FAMILIES = {"materials": "spatial-gan", "pbr": "pix2pix-unet", "exemplar": "patch+pix2pix-unet",
            "flipbook": "periodic-video-gan"}
# model folder names (shared by all kinds, so specific): the request ref is textures/<name>
NAMES = {"materials": "materials-gan", "pbr": "pbr-unet", "exemplar": "exemplar-unet", "flipbook": "flipbook-gan"}


def build_export(ckpt: dict) -> KindExport:
    model = ckpt.get("model")
    for key in ("state_dict", "config", "training"):
        if key not in ckpt:
            raise ValueError(f"not a textures checkpoint (missing {key!r})")
    cfg = ckpt["config"]
    manifest = {"kind": "textures", "model": model, "family": FAMILIES[model],
                "description": DESCRIPTIONS[model], "training": dict(ckpt["training"]), "extra": {}}
    if model != "exemplar":  # convolutional: 2-3x faster on CUDA (exemplar-unet not measured yet)
        manifest["device"] = {"prefer": "cuda"}
    if model not in NAMES:
        raise ValueError(f"unknown textures model {model!r}; known: {', '.join(NAMES)}")
    if model in ("pbr", "exemplar"):
        net = nets.PBRNet(tuple(cfg["widths"]))
        net.load_state_dict(ckpt["state_dict"])
        net.eval()
        spec = GraphSpec(
            module=net, input_names=["albedo"], output_names=["maps"],
            dynamic=[{0: "batch", 2: "height", 3: "width"}],
            make_inputs=lambda g, d: (torch.rand(d["batch"], 3, d["height"], d["width"], generator=g),),
            shapes=[{"batch": 1, "height": 32, "width": 32}, {"batch": 2, "height": 64, "width": 48}],
            extra={"multiple": 8, "outputs": ["height", "roughness"]},
            dim_ranges={"height": (32, 4096), "width": (32, 4096)},
        )
        return KindExport(NAMES[model], {"model": ("model.onnx", spec)}, manifest)
    gen = nets.TileGenerator(cfg["zc"], cfg["n_cls"], cfg["out"], tuple(cfg["trunk"]), tuple(cfg["head"]),
                             cfg.get("upsample", "nearest"), cfg.get("fine", 0),
                             cfg.get("head_upsample", "nearest"))
    gen.load_state_dict(ckpt["state_dict"])
    gen.eval()
    zc, n_cls, out, ch = gen.z_channels, cfg["n_cls"], cfg["out"], cfg["trunk"][-1]
    manifest["classes"] = list(ckpt["classes"])
    manifest["extra"] = {"zc": zc, "classes": list(ckpt["classes"]), "channels": out, "upscale": 16,
                         "preview_upscale": 4}
    trunk = GraphSpec(
        module=nets.TrunkGraph(gen), input_names=["z", "cls"], output_names=["feat", "pre", "preview"],
        dynamic=[{0: "batch", 2: "zh", 3: "zw"}, {0: "batch"}],
        make_inputs=lambda g, d: (torch.randn(d["batch"], zc, d["zh"], d["zw"], generator=g),
                                  torch.nn.functional.one_hot(torch.randint(0, n_cls, (d["batch"],), generator=g),
                                                              n_cls).float()),
        shapes=[{"batch": 1, "zh": 2, "zw": 2}, {"batch": 3, "zh": 5, "zw": 4}],
        dim_ranges={"zh": (1, 256), "zw": (1, 256)},
    )
    head = GraphSpec(
        module=nets.HeadGraph(gen), input_names=["feat", "pre"], output_names=["maps"],
        dynamic=[{0: "batch", 2: "fh", 3: "fw"}, {0: "batch", 2: "fh", 3: "fw"}],
        make_inputs=lambda g, d: (torch.randn(d["batch"], ch, d["fh"], d["fw"], generator=g),
                                  torch.randn(d["batch"], out, d["fh"], d["fw"], generator=g)),
        shapes=[{"batch": 1, "fh": 8, "fw": 8}, {"batch": 2, "fh": 12, "fw": 16}],
        dim_ranges={"fh": (2, 1024), "fw": (2, 1024)},
    )
    return KindExport(NAMES[model], {"trunk": ("trunk.onnx", trunk), "head": ("head.onnx", head)}, manifest)

