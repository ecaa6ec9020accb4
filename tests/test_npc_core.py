"""NPC core: arena, scripted baseline, train -> export -> ONNX Runtime, batched runtime, behaviour trees."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from gamegen.generators.npc import arena as A
from gamegen.generators.npc import btree, tasks
from gamegen.generators.npc.runtime import InputError, PolicyRunner, RunnerPolicy
from gamegen.generators.npc.scripted import RandomPolicy, ScriptedPolicy, astar

from .conftest import MODELS


# --- arena ---------------------------------------------------------------------------------------

def _rollout(seed: int, ticks: int = 30):
    arena = A.Arena()
    specs = [A.AgentSpec(a, 0.3 + 0.1 * i, 0.7 - 0.1 * i) for i, a in enumerate(A.ARCHETYPES)]
    arena.reset(specs, seed=seed, player_mode="wander")
    pol = ScriptedPolicy()
    frames = []
    for _ in range(ticks):
        obs, mask = arena.observe()
        frames.append((obs, mask))
        arena.step(pol.act(arena))
    return arena, frames


def test_arena_is_deterministic_by_seed():
    a1, f1 = _rollout(7)
    a2, f2 = _rollout(7)
    _, f3 = _rollout(8)
    assert np.array_equal(a1.grid, a2.grid)
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(f1, f2))
    assert not np.array_equal(f1[-1][0], f3[-1][0])
    obs, mask = f1[0]
    assert obs.shape == (5, A.OBS_SIZE) and obs.dtype == np.float32 and mask.shape == (5, A.N_ACTIONS)
    assert np.isfinite(obs).all() and mask[:, 0].all()
    # the layout is contiguous and documented field by field
    assert sum(f.width for f in A.OBS_FIELDS) == A.OBS_SIZE == A.layout_doc()[-1]["offset"] + A.OBS_FIELDS[-1].width
    assert np.array_equal(obs[:, A.OBS["archetype"]].argmax(1), np.arange(5))


def test_package_readme_has_the_current_observation_table():
    readme = (Path(A.__file__).parent / "README.md").read_text()
    assert A.layout_markdown() in readme, "paste `python -m gamegen.generators.npc.arena` into generators/npc/README.md"


def test_line_of_sight_and_rays_on_a_hand_built_grid():
    g = np.zeros((10, 10), np.int8)
    g[0, :] = g[-1, :] = g[:, 0] = g[:, -1] = A.WALL
    g[2:8, 5] = A.COVER                       # a cover column at x in [5, 6)
    a = np.array([[2.5, 4.5], [2.5, 8.5], [2.5, 4.5]])
    b = np.array([[8.5, 4.5], [8.5, 8.5], [4.5, 2.5]])
    assert A.line_of_sight(g, a, b).tolist() == [False, True, True]
    rays = A.ray_lengths(g, np.array([[2.5, 4.5]]))[0]
    # east hits the cover at x=5 (2.5 m away, 0.1 m sampling), west hits the wall at x=1 (1.5 m)
    assert rays[0] == pytest.approx(2.4, abs=0.11) and rays[4] == pytest.approx(1.4, abs=0.11)
    mask = A.action_mask(g, np.array([[4.6, 4.5]]))[0]
    assert mask[0] and not mask[1] and mask[5]     # stop ok, east blocked by the cover, west free


def test_astar_matches_the_path_length_field_and_avoids_corners():
    rng = np.random.default_rng(3)
    g = A.make_map(rng)
    nav = A.NavGraph(g)
    cells = nav.free_cells
    for k in range(5):
        s, t = rng.choice(cells, 2, replace=False)
        path = astar(nav.free, (int(s % nav.w), int(s // nav.w)), (int(t % nav.w), int(t // nav.w)))
        length = sum(np.hypot(x1 - x0, y1 - y0) for (x0, y0), (x1, y1) in zip(path, path[1:]))
        assert length == pytest.approx(nav.field(int(t)).ravel()[s])
        for (x0, y0), (x1, y1) in zip(path, path[1:]):
            assert nav.free[y1, x1] and nav.free[y0, x1] and nav.free[y1, x0]   # no corner cutting


def test_gymnasium_env_passes_the_checker_and_pays_the_task_reward():
    import warnings

    from gymnasium.utils.env_checker import check_env

    from gamegen.generators.npc.gym_env import ArenaEnv

    env = ArenaEnv("chase", aggression=1.0, companions=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env, skip_render_check=True)
    o1, i1 = env.reset(seed=11)
    o2, _ = env.reset(seed=11)
    assert np.array_equal(o1, o2) and o1.shape == (A.OBS_SIZE,) and i1["action_mask"].shape == (A.N_ACTIONS,)
    assert len(env.arena.pos) == 3
    teacher = ScriptedPolicy()
    total, done, trunc = 0.0, False, False
    while not (done or trunc):
        _, r, done, trunc, info = env.step(int(teacher.act(env.arena)[0]))
        total += r
    assert done and r == 1.0 and total < 1.0        # the chaser, driven by its FSM, catches the player
    with pytest.raises(ValueError, match="action 9"):
        env.step(9)


# --- scripted archetypes do their job ---------------------------------------------------------

@pytest.mark.parametrize("task", tasks.TASKS)
def test_scripted_archetype_beats_random_on_its_task(task):
    seeds = range(3)
    cap = {"flee": 100, "wander": 100, "chase": 200}.get(task)
    scripted = [tasks.run_episode(task, ScriptedPolicy(), s, max_ticks=cap) for s in seeds]
    rand = [tasks.run_episode(task, RandomPolicy(s), s, max_ticks=cap) for s in seeds]
    if task == "chase":
        assert all(r["captured"] for r in scripted) and not any(r["captured"] for r in rand)
    elif task == "guard":
        assert all(r["stopped"] for r in scripted) and sum(r["stopped"] for r in rand) < len(rand)
    elif task == "search":
        assert all(r["reached"] for r in scripted)
        assert np.mean([r["time"] for r in scripted]) < np.mean([r["time"] for r in rand])
    elif task == "flee":
        assert np.mean([r["survived"] for r in scripted]) > np.mean([r["survived"] for r in rand])
    else:
        assert min(r["coverage"] for r in scripted) > max(r["coverage"] for r in rand)


def test_aggression_sets_the_chase_distance_and_guard_leash():
    pol = ScriptedPolicy()
    kw = dict(player_mode="idle", play_on=True, max_ticks=120)
    near = [tasks.run_episode("chase", pol, s, aggression=0.8, **kw) for s in range(2)]
    far = [tasks.run_episode("chase", pol, s, aggression=0.0, **kw) for s in range(2)]
    # stand-off 3.5 * (1 - aggression) metres from a player that stands still
    assert np.nanmean([r["late_dist_visible"] for r in near]) < 1.3
    assert np.nanmean([r["late_dist_visible"] for r in far]) > 3.0
    calm = [tasks.run_episode("guard", pol, s, aggression=0.0) for s in range(2)]
    keen = [tasks.run_episode("guard", pol, s, aggression=1.0) for s in range(2)]
    assert all(r["max_post_dist"] <= 3.0 + 1.0 for r in calm)      # leash 3 + 7 * aggression metres
    assert max(r["max_post_dist"] for r in keen) > max(r["max_post_dist"] for r in calm)


# --- train -> export -> ONNX Runtime -----------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from gamegen.exporters.onnx_export import export_checkpoint
    from gamegen.generators.npc import nets, train

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    data = train.collect(rng, 400, scene_ticks=40)
    model = nets.build({"family": "mlp", "hidden": 32})
    loss0 = train.fit(model, data, 1, rng)
    loss1 = train.fit(model, data, 3, rng)
    root = tmp_path_factory.mktemp("npc")
    ckpt = root / "tiny.pt"
    torch.save({"kind": "npc", "name": "npc-tiny", "config": {"family": "mlp", "hidden": 32},
                "state_dict": model.state_dict(),
                "training": {"data": "test", "held_out": "none", "command": "test", "epochs": 4, "seed": 0,
                             "seconds": 0}}, ckpt)
    folder = export_checkpoint(ckpt, root / "models")
    return {"folder": folder, "model": model, "data": data, "loss": (loss0, loss1), "ckpt": ckpt}


def test_tiny_policy_trains_exports_and_matches_torch(tiny_model):
    import torch

    loss0, loss1 = tiny_model["loss"]
    assert loss1 < loss0
    manifest = json.loads((tiny_model["folder"] / "manifest.json").read_text())
    assert manifest["kind"] == "npc" and manifest["parity"]["max_abs_diff"] <= 1e-4
    assert [i["name"] for i in manifest["inputs"]] == ["obs", "action_mask"]
    assert manifest["inputs"][0]["shape"] == ["batch", A.OBS_SIZE]
    assert [f["name"] for f in manifest["extra"]["observation"]] == [f.name for f in A.OBS_FIELDS]
    runner = PolicyRunner(tiny_model["folder"])
    obs, mask, _ = tiny_model["data"]
    obs, mask = obs[:300], mask[:300]
    ids = list(range(300))
    for i in ids:
        runner.join(i)
    got = runner.decide(ids, obs, mask)
    with torch.no_grad():
        ref = tiny_model["model"](torch.from_numpy(obs), torch.from_numpy(mask.astype(np.float32)))
    assert np.array_equal(got.actions, ref.argmax(1).numpy())
    assert mask[np.arange(300), got.actions].all()


def test_ppo_fine_tune_runs_and_changes_the_policy(tiny_model, tmp_path):
    import torch

    from gamegen.generators.npc import ppo

    out = tmp_path / "ppo.pt"
    ppo.main(["--init", str(tiny_model["ckpt"]), "--out", str(out), "--task", "chase", "--updates", "1",
              "--steps", "64", "--eval-seeds", "0"])
    before = torch.load(tiny_model["ckpt"], weights_only=True)["state_dict"]
    after = torch.load(out, weights_only=True)
    assert after["training"]["ppo"]["steps"] == 64 and after["metrics"]["ppo_curve"][0]["steps"] == 64
    assert any(not torch.equal(before[k], after["state_dict"][k]) for k in before)


# --- batched runtime ------------------------------------------------------------------------------

def _obs(rng, n):
    obs = rng.uniform(-1, 1, (n, A.OBS_SIZE)).astype(np.float32)
    mask = rng.random((n, A.N_ACTIONS)) < 0.5
    mask[:, 0] = True
    return obs, mask


@pytest.mark.parametrize("mode", ["argmax", "sample"])
def test_one_batched_call_equals_one_call_per_agent(tiny_model, mode):
    rng = np.random.default_rng(1)
    batched, single = PolicyRunner(tiny_model["folder"]), PolicyRunner(tiny_model["folder"])
    ids = [f"npc-{i}" for i in range(41)]
    for k, a in enumerate(ids):
        batched.join(a, seed=100 + k)
        single.join(a, seed=100 + k)
    for _ in range(3):
        obs, mask = _obs(rng, len(ids))
        b = batched.decide(ids, obs, mask, mode=mode).actions
        s = np.array([single.decide([a], obs[i:i + 1], mask[i:i + 1], mode=mode).actions[0] for i, a in enumerate(ids)])
        assert np.array_equal(b, s)
        assert mask[np.arange(len(ids)), b].all()


def test_sampling_is_deterministic_by_seed_and_independent_of_batch_order(tiny_model):
    rng = np.random.default_rng(2)
    obs, mask = _obs(rng, 64)
    mask[:] = True

    def run(seeds, order):
        r = PolicyRunner(tiny_model["folder"])
        for i in order:
            r.join(i, seed=seeds[i])
        out = [r.decide(order, obs[order], mask[order], mode="sample").actions for _ in range(5)]
        return np.stack(out)[:, np.argsort(order)]

    seeds = list(range(64))
    a = run(seeds, list(range(64)))
    b = run(seeds, list(range(64))[::-1])
    c = run([s + 1000 for s in seeds], list(range(64)))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_join_leave_and_limits(tiny_model):
    r = PolicyRunner(tiny_model["folder"], max_agents=3)
    for a in ("a", "b", "c"):
        r.join(a)
    with pytest.raises(InputError, match="max_agents=3"):
        r.join("d")
    with pytest.raises(InputError, match="already joined"):
        r.join("a")
    r.leave("b")
    r.join("d")
    obs, mask = _obs(np.random.default_rng(0), 3)
    assert r.decide(["a", "c", "d"], obs, mask).actions.shape == (3,)
    with pytest.raises(InputError, match="'b' is not joined"):
        r.decide(["a", "b"], obs[:2], mask[:2])
    with pytest.raises(InputError, match="not joined"):
        r.leave("b")
    assert len(r) == 3 and "d" in r and "b" not in r


def test_bad_inputs_name_the_field_and_shape(tiny_model):
    r = PolicyRunner(tiny_model["folder"])
    r.join(0)
    r.join(1)
    obs, mask = _obs(np.random.default_rng(0), 2)
    with pytest.raises(InputError, match=rf"obs: expected shape \(2, {A.OBS_SIZE}\).*got \(2, {A.OBS_SIZE - 1}\)"):
        r.decide([0, 1], obs[:, :-1], mask)
    bad = obs.copy()
    bad[1, A.OBS["health"].start] = np.nan
    with pytest.raises(InputError, match=r"obs\[1, 6\] \(field 'health'\) of agent 1 is nan"):
        r.decide([0, 1], bad, mask)
    bad = obs.copy()
    bad[0, A.OBS["player_rel"].start + 1] = np.inf
    with pytest.raises(InputError, match=r"field 'player_rel\[1\]'.* is inf"):
        r.decide([0, 1], bad, mask)
    with pytest.raises(InputError, match=r"action_mask: expected shape \(2, 9\)"):
        r.decide([0, 1], obs, mask[:, :5])
    none = mask.copy()
    none[1] = False
    with pytest.raises(InputError, match="row 1 .* allows no action"):
        r.decide([0, 1], obs, none)
    with pytest.raises(InputError, match="once per decision"):
        r.decide([0, 0], obs, mask)
    with pytest.raises(InputError, match="mode 'greedy'"):
        r.decide([0, 1], obs, mask, mode="greedy")


def test_learned_policy_drives_the_arena_through_the_runtime(tiny_model):
    pol = RunnerPolicy(PolicyRunner(tiny_model["folder"]))
    out = tasks.run_episode("wander", pol, 0, max_ticks=60)
    assert 0 < out["coverage"] <= 1 and out["ticks"] == 60


# --- shipped policy ---------------------------------------------------------------------------------

def test_shipped_policy_loads_and_its_manifest_reports_quality():
    folder = MODELS / "npc-mlp" / "1.0.0"
    manifest = json.loads((folder / "manifest.json").read_text())
    from gamegen.exporters.manifest import sha256_file

    assert sha256_file(folder / manifest["file"]) == manifest["sha256"]
    assert manifest["bytes"] < 1_000_000
    shipped = manifest["extra"]["archetypes"]
    assert shipped and set(shipped) <= set(A.ARCHETYPES)
    runner = PolicyRunner(folder)
    assert runner.field_names[A.OBS["health"].start] == "health"
    assert runner.archetypes == shipped
    pol = RunnerPolicy(runner)
    assert tasks.run_episode("search", pol, 0)["reached"]


def test_runtime_refuses_a_changed_model_file(tmp_path):
    import shutil

    from gamegen.exporters.manifest import ChecksumError

    folder = tmp_path / "npc-mlp"
    shutil.copytree(MODELS / "npc-mlp" / "1.0.0", folder)
    data = bytearray((folder / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        PolicyRunner(folder)


def test_npc_serving_modules_never_import_torch():
    import subprocess
    import sys

    code = ("import sys\n"
            "from gamegen.generators.npc import arena, btree, runtime, scripted, tasks, render\n"
            "r = runtime.PolicyRunner('models/npc-mlp/1.0.0')\n"
            "tasks.run_episode('search', runtime.RunnerPolicy(r), 0, max_ticks=5)\n"
            "btree.to_xml(btree.tree('guard'))\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnxscript', 'gymnasium'))\n"
            "print(bad)\n"
            "sys.exit(1 if bad else 0)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=MODELS.parent)
    assert r.returncode == 0, r.stdout + r.stderr


# --- behaviour trees ----------------------------------------------------------------------------

@pytest.mark.parametrize("archetype", A.ARCHETYPES)
def test_behaviour_tree_xml_is_btcpp_v4_with_a_node_model(archetype):
    t = btree.tree(archetype, 0.4, 0.6)
    root = ET.fromstring(btree.to_xml(t))
    assert root.tag == "root" and root.get("BTCPP_format") == "4"
    trees = root.findall("BehaviorTree")
    assert len(trees) == 1 and trees[0].get("ID") == root.get("main_tree_to_execute") == archetype.capitalize()
    builtin = {"ReactiveFallback", "ReactiveSequence", "Fallback", "Sequence"}
    used = {el.tag for el in trees[0].iter() if isinstance(el.tag, str)} - {"BehaviorTree"}
    declared = {el.get("ID"): el for el in root.find("TreeNodesModel")}
    assert used - builtin == set(declared), "every custom node is declared in TreeNodesModel, and only those"
    for el in trees[0].iter():
        if el.tag in declared:
            ports = {p.get("name") for p in declared[el.tag] if p.tag.endswith("_port")}
            assert set(el.attrib) - {"name"} <= ports, (el.tag, el.attrib)
        if el.tag in builtin:
            assert len(el) >= 1
    assert json.loads(btree.to_json(t))["root"] == t["root"]
    assert btree.to_xml(t) == btree.to_xml(btree.tree(archetype, 0.4, 0.6))


def test_behaviour_tree_carries_the_parameters():
    def leash(a):
        root = ET.fromstring(btree.to_xml(btree.tree("guard", a, 0.5)))
        return float(root.find(".//InsideLeash").get("radius"))

    assert leash(0.0) == pytest.approx(3.0) and leash(1.0) == pytest.approx(10.0)
    hide = ET.fromstring(btree.to_xml(btree.tree("flee", 0.5, 0.9)))
    run = ET.fromstring(btree.to_xml(btree.tree("flee", 0.5, 0.1)))
    assert hide.find(".//TakeCover") is not None and run.find(".//TakeCover") is None
    with pytest.raises(ValueError, match=r"caution=1.5 is outside the allowed range \[0, 1\]"):
        btree.tree("guard", 0.5, 1.5)
    with pytest.raises(ValueError, match="archetype 'boss' is not one of"):
        btree.tree("boss")


# --- a policy exported by the ML-Agents package itself --------------------------------------------

MLAGENTS = MODELS / "npc-mlagents-demo" / "1.0.0"


def test_mlagents_export_is_served_as_is_with_parity_and_memory():
    """The file was written by mlagents' ModelSerializer (benchmarks/npc_mlagents_export.py)."""
    import onnxruntime as ort

    from gamegen.exporters.manifest import sha256_file

    manifest = json.loads((MLAGENTS / "manifest.json").read_text())
    assert sha256_file(MLAGENTS / "model.onnx") == manifest["sha256"]
    assert "npc_mlagents_export.py" in manifest["training"]["command"]
    runner = PolicyRunner(MLAGENTS)
    assert (runner.contract, runner.version, runner.memory_size, runner.branches) == ("mlagents", 3, 16, [9])
    assert runner.continuous_size == 1
    assert runner.obs_size == A.OBS_SIZE and runner.state_shape == (1, 16)
    direct = ort.InferenceSession(str(MLAGENTS / "model.onnx"), providers=["CPUExecutionProvider"])

    rng = np.random.default_rng(5)
    n = 23
    ids = [f"unity-{i}" for i in range(n)]
    for i in ids:
        runner.join(i)
    memory = np.zeros((n, 1, 16), np.float32)
    for tick in range(4):
        obs, mask = _obs(rng, n)
        got = runner.decide(ids, obs, mask)
        acts, cont, memory = direct.run(
            ["deterministic_discrete_actions", "deterministic_continuous_actions", "recurrent_out"],
            {"obs_0": obs, "action_masks": mask.astype(np.float32), "recurrent_in": memory})
        assert np.array_equal(got.discrete, acts), tick
        assert np.array_equal(got.continuous, cont) and got.continuous.shape == (n, 1)
        assert np.array_equal(np.stack([runner.state(i) for i in ids]), memory)
        assert mask[np.arange(n), got.actions].all()
    assert np.abs(memory).max() > 0          # the memory really is carried between ticks
    obs, mask = _obs(rng, n)
    sampled = runner.decide(ids, obs, mask, mode="sample")   # the graph's own sampling, masks applied in it
    assert mask[np.arange(n), sampled.actions].all() and np.isfinite(sampled.continuous).all()
    # one agent at a time gives the same decisions and memory as the batch
    solo = PolicyRunner(MLAGENTS)
    solo.join("x")
    again = PolicyRunner(MLAGENTS)
    again.join("x")
    for i in range(n - 1):
        again.join(f"pad-{i}")
    for tick in range(3):
        obs, mask = _obs(rng, n)
        a = solo.decide(["x"], obs[:1], mask[:1]).discrete
        b = again.decide(["x"] + [f"pad-{i}" for i in range(n - 1)], obs, mask).discrete[:1]
        assert np.array_equal(a, b)
        assert np.allclose(solo.state("x"), again.state("x"), atol=1e-6)
    # leaving frees the memory: a returning agent starts from zeros
    runner.leave(ids[0])
    runner.join(ids[0])
    assert not runner.state(ids[0]).any()


def _recurrent_graph(path, hidden=4):
    """A small recurrent policy graph in the gamegen contract, built with onnx.helper:
    state_out = tanh(state_in * 0.5 + obs[:, :hidden]); logits = masked(state_out @ W)."""
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)
    w = rng.normal(size=(hidden, A.N_ACTIONS)).astype(np.float32)
    nodes = [
        helper.make_node("Slice", ["obs", "starts", "ends", "axes"], ["head"]),
        helper.make_node("Mul", ["state_in", "half"], ["decayed"]),
        helper.make_node("Add", ["decayed", "head"], ["pre"]),
        helper.make_node("Tanh", ["pre"], ["state_out"]),
        helper.make_node("MatMul", ["state_out", "W"], ["raw"]),
        helper.make_node("Greater", ["action_mask", "half"], ["ok"]),
        helper.make_node("Where", ["ok", "raw", "neg"], ["logits"]),
    ]
    inits = [helper.make_tensor("starts", TensorProto.INT64, [1], [0]),
             helper.make_tensor("ends", TensorProto.INT64, [1], [hidden]),
             helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
             helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
             helper.make_tensor("neg", TensorProto.FLOAT, [], [-1e9]),
             helper.make_tensor("W", TensorProto.FLOAT, list(w.shape), w.ravel().tolist())]
    graph = helper.make_graph(nodes, "recurrent", [
        helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", A.OBS_SIZE]),
        helper.make_tensor_value_info("action_mask", TensorProto.FLOAT, ["batch", A.N_ACTIONS]),
        helper.make_tensor_value_info("state_in", TensorProto.FLOAT, ["batch", hidden])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", A.N_ACTIONS]),
         helper.make_tensor_value_info("state_out", TensorProto.FLOAT, ["batch", hidden])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


def test_recurrent_state_is_kept_per_agent(tmp_path):
    path = _recurrent_graph(tmp_path / "recurrent.onnx")
    batched, single = PolicyRunner(path), PolicyRunner(path)
    assert batched.state_shape == (4,)
    ids = ["a", "b", "c"]
    for i in ids:
        batched.join(i)
        single.join(i)
    rng = np.random.default_rng(4)
    expect = {i: np.zeros(4, np.float32) for i in ids}
    for tick in range(3):
        obs, mask = _obs(rng, 3)
        batched.decide(ids, obs, mask)
        for k, i in enumerate(ids):
            single.decide([i], obs[k:k + 1], mask[k:k + 1])
            expect[i] = np.tanh(expect[i] * 0.5 + obs[k, :4])
            assert np.allclose(batched.state(i), expect[i], atol=1e-6)
            assert np.array_equal(batched.state(i), single.state(i))
    # decide for a subset: the others' state is untouched
    before = batched.state("c")
    obs, mask = _obs(rng, 2)
    batched.decide(["a", "b"], obs, mask)
    assert np.array_equal(batched.state("c"), before)
    batched.leave("b")
    batched.join("b")
    assert not batched.state("b").any()
