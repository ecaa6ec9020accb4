"""Export a small policy with the Unity ML-Agents Python package itself (no Unity editor needed).

The ``.onnx`` this writes is what ``tests/test_npc_core.py`` serves through ``runtime.PolicyRunner``
and checks against the same file run directly in ONNX Runtime. It is never edited by hand.

ML-Agents pins old dependencies (mlagents 0.28.0 is the newest release installable on Python
3.11; it asks for torch<1.9, numpy<2, protobuf<3.21), so run it in a throwaway virtual environment
outside the repository. It works with the current torch CPU build (whose exporter needs onnxscript)
when protobuf is pinned to 3.20 (mlagents_envs' generated protos), with two small shims (see
``_shim_cattrs``):

    python3 -m venv /tmp/mla-venv
    /tmp/mla-venv/bin/pip install torch==2.13.0
    /tmp/mla-venv/bin/pip install "protobuf==3.20.3" onnx onnxscript pyyaml attrs "cattrs==23.1.2" pillow \
        grpcio h5py "setuptools<81"
    /tmp/mla-venv/bin/pip install --no-deps mlagents==0.28.0 mlagents-envs==0.28.0
    /tmp/mla-venv/bin/python benchmarks/npc_mlagents_export.py --out models/npc-mlagents-demo/1.0.0

What it builds: the ML-Agents ``TorchPolicy`` for a behaviour with one vector observation of the
arena's layout (46 floats), one discrete branch of 9 actions (the arena's actions) plus one
continuous action (hybrid, as ML-Agents allows), with an LSTM memory, exactly as ``mlagents-learn`` would create it for such a ``BehaviorSpec``; it then calls
``ModelSerializer.export_policy_model`` (``mlagents.trainers.torch.model_serialization``), the
function ``mlagents-learn`` uses at the end of training. The weights are the policy's seeded
initial ones: the file exercises the ML-Agents export contract (names, shapes, constants, memory),
not a trained behaviour. A manifest with the file's checksum is written beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

OBS_SIZE, N_ACTIONS = 46, 9   # arena.OBS_SIZE, arena.N_ACTIONS (not imported: this venv lacks gamegen)


def _shim_cattrs() -> None:
    """mlagents' settings module registers cattrs hooks for ``typing.Dict[...]``, which Python 3.11's
    ``functools.singledispatch`` (behind cattrs' class dispatch) refuses; route those through
    cattrs' predicate hooks instead; and put back numpy's removed ``np.float``/``np.int``/``np.bool``
    aliases that mlagents 0.28 still uses. Nothing of ML-Agents itself is changed."""
    import typing

    import cattr
    import numpy as np

    for alias, builtin in (("float", float), ("int", int), ("bool", bool)):  # removed from numpy, used by mlagents
        if alias not in np.__dict__:
            setattr(np, alias, builtin)

    for name, by_pred in (("register_structure_hook", "register_structure_hook_func"),
                          ("register_unstructure_hook", "register_unstructure_hook_func")):
        conv = cattr.global_converter
        orig = getattr(conv, name)

        def hook(cl, func, _orig=orig, _pred=getattr(conv, by_pred)):
            if typing.get_origin(cl) is not None:
                return _pred(lambda t, _cl=cl: t == _cl, func)
            return _orig(cl, func)

        setattr(cattr, name, hook)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--memory", type=int, default=16, help="LSTM memory size (0 = feed-forward)")
    ap.add_argument("--continuous", type=int, default=1,
                    help="continuous action size next to the discrete branch (a speed, say); 0 = discrete only")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    _shim_cattrs()
    import mlagents
    import torch
    from mlagents.trainers.policy.torch_policy import TorchPolicy
    from mlagents.trainers.settings import NetworkSettings, TrainerSettings
    from mlagents.trainers.torch.model_serialization import ModelSerializer
    from mlagents_envs.base_env import ActionSpec, BehaviorSpec, DimensionProperty, ObservationSpec, ObservationType

    # mlagents calls torch.onnx.export(..., opset_version=9, dynamic_axes=...) as torch 1.x did; since
    # torch 2.9 that call goes to the dynamo exporter, which cannot trace the LSTM memory loop. Ask for
    # the TorchScript exporter ML-Agents was written for (still in torch, dynamo=False).
    _export = torch.onnx.export
    torch.onnx.export = lambda *a, **k: _export(*a, **{"dynamo": False, **k})
    torch.manual_seed(args.seed)
    spec = BehaviorSpec(
        observation_specs=[ObservationSpec(name="arena", shape=(OBS_SIZE,),
                                           dimension_property=(DimensionProperty.NONE,),
                                           observation_type=ObservationType.DEFAULT)],
        action_spec=ActionSpec(args.continuous, (N_ACTIONS,)),
    )
    memory = NetworkSettings.MemorySettings(sequence_length=8, memory_size=args.memory) if args.memory else None
    settings = TrainerSettings(network_settings=NetworkSettings(hidden_units=32, num_layers=2, memory=memory))
    policy = TorchPolicy(args.seed, spec, settings)
    args.out.mkdir(parents=True, exist_ok=True)
    ModelSerializer(policy).export_policy_model(str(args.out / "model"))
    onnx_path = args.out / "model.onnx"
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()

    import onnx

    model = onnx.load(str(onnx_path))
    shape = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    dtype = lambda v: onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name  # noqa: E731
    manifest = {
        "schema": 1, "kind": "npc", "name": args.out.parent.name, "version": args.out.name, "family": "mlagents",
        "description": "untrained ML-Agents policy (LSTM memory, discrete + continuous actions) exported by "
                       "mlagents' own ModelSerializer; "
                       "checks that ML-Agents .onnx files are served as they are",
        "file": "model.onnx", "sha256": digest, "bytes": onnx_path.stat().st_size,
        "opset": next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
        "inputs": [{"name": v.name, "dtype": dtype(v), "shape": shape(v)} for v in model.graph.input],
        "outputs": [{"name": v.name, "dtype": dtype(v), "shape": shape(v)} for v in model.graph.output],
        "extra": {"contract": "mlagents", "mlagents": mlagents.__version__ if hasattr(mlagents, "__version__") else "0.28.0",
                  "torch": torch.__version__, "memory_size": args.memory, "obs_size": OBS_SIZE,
                  "discrete_branches": [N_ACTIONS], "continuous_size": args.continuous},
        "training": {"data": "none (seeded initial weights)", "held_out": "none",
                     "command": f"python benchmarks/npc_mlagents_export.py --out {args.out} --memory {args.memory} "
                                f"--continuous {args.continuous} --seed {args.seed}", "epochs": 0, "seed": args.seed,
                     "seconds": 0},
        "parity": {"max_abs_diff": 0.0, "tolerance": 0.0, "shapes": [], "note": "checked by tests/test_npc_core.py"},
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size} bytes, sha256 {digest[:12]}...)")


if __name__ == "__main__":
    main()
