"""NPC policy checkpoint -> ONNX export job for ``gamegen export`` (see exporters/onnx_export.py)."""

from __future__ import annotations

from gamegen.exporters.onnx_export import GraphSpec, KindExport

from . import arena, nets


def graph_spec(model, config: dict, extra: dict | None = None) -> GraphSpec:
    import torch

    def make_inputs(gen: torch.Generator, dims: dict) -> tuple:
        b = dims.get("batch", 2)
        obs = torch.rand(b, arena.OBS_SIZE, generator=gen) * 2 - 1
        mask = (torch.rand(b, arena.N_ACTIONS, generator=gen) < 0.7).float()
        mask[:, 0] = 1.0
        return obs, mask

    names = ["obs", "action_mask"]
    return GraphSpec(
        module=model, input_names=names, output_names=["logits"],
        dynamic=[{0: "batch"}] * len(names), make_inputs=make_inputs,
        shapes=[{"batch": 1}, {"batch": 7}, {"batch": 512}],
        dim_ranges={"batch": (1, 65536)}, extra=extra or {},
    )


def build_export(ckpt: dict) -> KindExport:
    for key in ("name", "config", "state_dict", "training"):
        if key not in ckpt:
            raise ValueError(f"not a gamegen npc checkpoint (missing {key!r})")
    model = nets.build(ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    extra = {"config": dict(ckpt["config"]), "observation": arena.layout_doc(), "obs_size": arena.OBS_SIZE,
             "actions": list(arena.ACTIONS), "archetypes": list(ckpt.get("archetypes", arena.ARCHETYPES)),
             "params": list(arena.PARAMS), "metrics": dict(ckpt.get("metrics", {}))}
    spec = graph_spec(model, ckpt["config"], extra)
    return KindExport(ckpt["name"], {"model": ("model.onnx", spec)}, {
        "kind": "npc", "family": f"policy-{ckpt['config'].get('family', 'mlp')}",
        "description": ("NPC behaviour policy conditioned on archetype and parameters, cloned from the "
                        "scripted FSM+A* teacher with DAgger in the bundled arena"),
        "training": dict(ckpt["training"]),
    })
