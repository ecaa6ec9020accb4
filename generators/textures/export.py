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
    "materials": "previous materials model, kept for comparison: spatial GAN (DCGAN family, circular padding) → "
                 "albedo, height, roughness; its brick has no courses and its wood no grain — use "
                 "textures/materials-net",
    "pbr": "albedo → height + roughness: pix2pix-style U-Net with circular padding; normals from height",
    "exemplar": "seamless texture like an uploaded image: patch-based synthesis on a torus; height and roughness "
                "from the pix2pix-style U-Net, normals from height",
    "flipbook": "looping, tileable effect flipbooks: spatial GAN driven around a latent circle "
                "(time-periodic by construction), frame and frame-pair critics",
    "layout": "tileable PBR materials: a layout drawn from the seed (courses, planks and knots, cracked slabs, "
              "riveted panels, wear) → albedo, height, roughness by a circular-padded CNN trained on the layered "
              "procedural teacher; normals and AO derived with wrap-around differences",
}
FAMILIES = {"materials": "spatial-gan", "pbr": "pix2pix-unet", "exemplar": "patch+pix2pix-unet",
            "flipbook": "periodic-video-gan", "layout": "layout-conditioned-cnn"}
# model folder names (shared by all kinds, so specific): the request ref is textures/<name>
NAMES = {"materials": "materials-gan", "pbr": "pbr-unet", "exemplar": "exemplar-unet", "flipbook": "flipbook-gan",
         "layout": "materials-net"}


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
    if model == "layout":
        return _layout_export(ckpt, manifest)
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



def _layout_export(ckpt: dict, manifest: dict) -> KindExport:
    """materials-net: trunk (layout, class → features, preview) and head (→ full-resolution maps)."""
    from . import layout_net

    cfg = ckpt["config"]
    net = layout_net.LayoutNet(cfg["cin"], cfg["n_cls"], cfg["out"], tuple(cfg["widths"]), cfg["dec"],
                               cfg.get("pix", 0), cfg.get("chroma", "full"), cfg.get("pix_layers", 0))
    net.load_state_dict(ckpt["state_dict"])
    net.eval()
    cin, n_cls, out, (w0, w1) = cfg["cin"], cfg["n_cls"], cfg["out"], cfg["widths"]
    manifest["classes"] = list(ckpt["classes"])
    manifest["extra"] = {"classes": list(ckpt["classes"]), "channels": list(ckpt["channels"]), "multiple": 4,
                         "preview_downscale": 4}

    def cls(g, b):
        return torch.nn.functional.one_hot(torch.randint(0, n_cls, (b,), generator=g), n_cls).float()

    trunk = GraphSpec(
        module=layout_net.TrunkGraph(net), input_names=["layout", "cls"], output_names=["e2", "mid", "pre", "preview"],
        dynamic=[{0: "batch", 2: "height", 3: "width"}, {0: "batch"}],
        make_inputs=lambda g, d: (torch.randn(d["batch"], cin, d["height"], d["width"], generator=g), cls(g, d["batch"])),
        shapes=[{"batch": 1, "height": 32, "width": 32}, {"batch": 2, "height": 48, "width": 64}],
        dim_ranges={"height": (16, 4096), "width": (16, 4096)},
    )
    if cfg.get("chroma") == "half" and cfg.get("pix_layers", 0) > 0:
        return _layout_fast_export(net, ckpt, manifest, trunk)
    head = GraphSpec(
        module=layout_net.HeadGraph(net), input_names=["layout", "cls", "e2", "mid", "pre"], output_names=["maps"],
        dynamic=[{0: "batch", 2: "4*h4", 3: "4*w4"}, {0: "batch"}, {0: "batch", 2: "2*h4", 3: "2*w4"},
                 {0: "batch", 2: "h4", 3: "w4"}, {0: "batch", 2: "h4", 3: "w4"}],
        make_inputs=lambda g, d: (torch.randn(d["batch"], cin, 4 * d["h4"], 4 * d["w4"], generator=g), cls(g, d["batch"]),
                                  torch.randn(d["batch"], w0, 2 * d["h4"], 2 * d["w4"], generator=g),
                                  torch.randn(d["batch"], w1, d["h4"], d["w4"], generator=g),
                                  torch.randn(d["batch"], out, d["h4"], d["w4"], generator=g)),
        shapes=[{"batch": 1, "h4": 8, "w4": 8}, {"batch": 2, "h4": 12, "w4": 16}],
        dim_ranges={"h4": (4, 1024), "w4": (4, 1024)},
    )
    return KindExport(NAMES["layout"], {"trunk": ("trunk.onnx", trunk), "head": ("head.onnx", head)}, manifest)


def _layout_fast_export(net, ckpt: dict, manifest: dict, trunk: GraphSpec) -> KindExport:
    """materials-net 2.1.0 on: the serving graphs. ``trunk.onnx`` folds the pixel unshuffle into a
    stride-2 convolution (:class:`layout_net.FastTrunkGraph`); the head is one graph per class,
    ``head_<class>.onnx`` (:class:`layout_net.ClassHeadGraph`, inputs layout, e2, mid, pre), whose
    per-pixel MLP is constant 1x1 convolutions. Same weights and function as the two-graph form."""
    from . import layout_net

    cfg = ckpt["config"]
    cin, out, (w0, w1) = cfg["cin"], cfg["out"], cfg["widths"]
    trunk.module = layout_net.FastTrunkGraph(net)
    graphs = {"trunk": ("trunk.onnx", trunk)}
    for k, name in enumerate(ckpt["classes"]):
        graphs[f"head_{name}"] = (f"head_{name}.onnx", GraphSpec(
            module=layout_net.ClassHeadGraph(net, k), input_names=["layout", "e2", "mid", "pre"], output_names=["maps"],
            dynamic=[{0: "batch", 2: "4*h4", 3: "4*w4"}, {0: "batch", 2: "2*h4", 3: "2*w4"},
                     {0: "batch", 2: "h4", 3: "w4"}, {0: "batch", 2: "h4", 3: "w4"}],
            make_inputs=lambda g, d: (torch.randn(d["batch"], cin, 4 * d["h4"], 4 * d["w4"], generator=g),
                                      torch.randn(d["batch"], w0, 2 * d["h4"], 2 * d["w4"], generator=g),
                                      torch.randn(d["batch"], w1, d["h4"], d["w4"], generator=g),
                                      torch.randn(d["batch"], out, d["h4"], d["w4"], generator=g)),
            shapes=[{"batch": 1, "h4": 8, "w4": 8}, {"batch": 2, "h4": 12, "w4": 16}],
            dim_ranges={"h4": (4, 1024), "w4": (4, 1024)},
        ))
    manifest["extra"]["heads"] = "per-class"
    return KindExport(NAMES["layout"], graphs, manifest)
