"""Level checkpoint -> ONNX export job for ``gamegen export`` (see exporters/onnx_export.py).

For LSTMs the exported graph is the single step the sampler drives; for DCGANs the whole
generator. Each graph has a dynamic batch axis and is parity-checked on seeded random inputs.
"""

from __future__ import annotations

import torch
from torch import nn

from gamegen.exporters.onnx_export import GraphSpec, KindExport

from . import nets
from .games import GAMES
from .samplers import slot_cache_names
from .nets import (ColumnLSTM, ColumnLSTMStep, DCGANGenerator, MaskedTileCNN, StyledColumnLSTMStep, TileLSTM,
                   TileLSTMStep, TileTransformer, TileTransformerSlotStep)


#: Parallel decoding steps of a masked-token model (manifest ``extra.steps``; a checkpoint's
#: ``config["decoder"]``, from ``train --decode-steps/--decode-greedy``, overrides both defaults).
MASKED_STEPS = 24
#: Weight of the model's confidence in the unmasking order (0 = random order, as an order-agnostic
#: autoregressive model; MaskGIT's pure confidence order collapses Lode Runner screens to empty rows).
MASKED_GREEDY = 0.1


def build_export(ckpt: dict) -> KindExport:
    for key in ("family", "game", "config", "state_dict", "training"):
        if key not in ckpt:
            raise ValueError(f"not a gamegen level checkpoint (missing {key!r})")
    family, game_id, config = ckpt["family"], ckpt["game"], ckpt["config"]
    game = GAMES[game_id]
    model = nets.build(family, game_id, config)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    spec = export_spec(family, game_id, model, config)
    # the masked-token family and the causal transformer get their own names
    # (levels/loderunner-masked, levels/loderunner-transformer); the default levels/loderunner is
    # the transformer since 2.0.0 (exported again with ``gamegen export --name loderunner``;
    # BENCHMARKS.md, "A blind judgment"), the tile LSTM before it (@1.0.0)
    name = f"{game_id}-{family}" if family in ("masked", "transformer") else game_id
    return KindExport(name, {"model": ("model.onnx", spec)}, {
        "kind": "levels", "family": family, "game": game_id,
        "description": f"{game.title}: {family} level model trained on VGLC"
                       + (", conditioned on the level kind (style)" if config.get("styles") else ""),
        "legend": {s: list(tags) for s, tags in game.legend},
        "training": dict(ckpt["training"]),
        # one small ORT call per step: faster on the CPU than on CUDA (README, "Execution providers")
        **({"device": {"prefer": "cpu"}} if family in ("lstm", "masked", "transformer") else {}),
    })


def export_spec(family: str, game: str, model: nn.Module, config: dict) -> GraphSpec:
    model.eval()
    shapes = [{"batch": 1}, {"batch": 3}, {"batch": 16}]
    if family == "lstm" and game == "smb":
        m: ColumnLSTM = model
        H = m.hidden
        if m.styles:
            def make_styled(g, d):
                b = d["batch"]
                return (torch.randint(0, m.vocab + 1, (b,), generator=g), torch.randint(0, m.styles, (b,), generator=g),
                        torch.randn(b, H, generator=g) * 0.5, torch.randn(b, H, generator=g) * 0.5)

            return GraphSpec(StyledColumnLSTMStep(m).eval(), ["token", "style", "h", "c"], ["logits", "h_out", "c_out"],
                              [{0: "batch"}] * 4, make_styled, shapes,
                              {"hidden": H, "start_token": m.vocab, "vocab": config["vocab"],
                               "styles": list(config["styles"]), **config.get("extra", {})})

        def make(g, d):
            b = d["batch"]
            return (torch.randint(0, m.vocab + 1, (b,), generator=g),
                    torch.randn(b, H, generator=g) * 0.5, torch.randn(b, H, generator=g) * 0.5)

        return GraphSpec(ColumnLSTMStep(m).eval(), ["token", "h", "c"], ["logits", "h_out", "c_out"],
                          [{0: "batch"}] * 3, make, shapes,
                          {"hidden": H, "start_token": m.vocab, "vocab": config["vocab"]})
    if family == "lstm" and game == "loderunner":
        t: TileLSTM = model
        H = t.hidden

        def make(g, d):
            b = d["batch"]
            return (torch.randint(0, t.tiles + 1, (b,), generator=g), torch.randint(0, t.tiles + 1, (b,), generator=g),
                    torch.randint(0, t.height * t.width, (b,), generator=g),
                    torch.randn(b, H, generator=g) * 0.5, torch.randn(b, H, generator=g) * 0.5)

        return GraphSpec(TileLSTMStep(t).eval(), ["left", "above", "pos", "h", "c"], ["logits", "h_out", "c_out"],
                          [{0: "batch"}] * 5, make, shapes,
                          {"hidden": H, "start_token": t.tiles, "tiles": config["tiles"],
                           "height": t.height, "width": t.width})
    if family == "masked":
        mm: MaskedTileCNN = model

        def make_masked(g, d):
            return (torch.randint(0, mm.tiles + 1, (d["batch"], mm.height, mm.width), generator=g),)

        return GraphSpec(mm, ["tokens"], ["logits"], [{0: "batch"}], make_masked, shapes,
                          {"tiles": config["tiles"], "height": mm.height, "width": mm.width,
                           "mask_token": mm.tiles, "steps": MASKED_STEPS, "greedy": MASKED_GREEDY,
                           **config.get("decoder", {}), **({"nll": config["nll"]} if "nll" in config else {})})
    if family == "transformer":
        tt: TileTransformer = model
        dh, n = tt.d // tt.heads, tt.height * tt.width

        def make_tf(g, d):
            b = d["batch"]
            return (torch.randint(0, tt.tiles + 1, (b, len(tt.context)), generator=g),
                    torch.randint(0, n, (b,), generator=g),
                    *(torch.randn(b, tt.heads, dh, n, generator=g) for _ in range(tt.layers)),
                    *(torch.randn(b, tt.heads, n, dh, generator=g) for _ in range(tt.layers)))

        # the fixed-size cache step (nets.TileTransformerSlotStep): slots >= pos are masked, so the
        # parity inputs' random caches check that too; pos 0 (nothing but itself) is in the tests
        return GraphSpec(TileTransformerSlotStep(tt).eval(), ["context", "pos", *slot_cache_names(tt.layers)],
                         ["logits", "k_new", "v_new"], [{0: "batch"}] * (2 + 2 * tt.layers), make_tf, shapes,
                         {"tiles": config["tiles"], "height": tt.height, "width": tt.width, "start_token": tt.tiles,
                          "layers": tt.layers, "heads": tt.heads, "head_dim": dh, "cache": "slots",
                          "context": [list(o) for o in tt.context],
                          **({"nll": config["nll"]} if "nll" in config else {})},
                         strip_metadata=True, varargs_from=2)
    if family == "dcgan":
        d_: DCGANGenerator = model

        def make(g, d):
            return (torch.randn(d["batch"], d_.latent, generator=g),)

        return GraphSpec(d_, ["z"], ["logits"], [{0: "batch"}], make, shapes,
                          {"latent": d_.latent, "tiles": config["tiles"], "segment": [d_.out_h, d_.out_w]})
    raise ValueError(f"unknown family/game {family!r}/{game!r}")
