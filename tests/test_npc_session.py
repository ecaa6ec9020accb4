"""The npc kind served: typed observations scaled exactly as the arena's own, scenes over the
Session RPC on a real loopback server with decisions batched across sessions, an ML-Agents export
served as it is, behaviour trees from Generate, and the bad inputs."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from gamegen.client import Client, InvalidArgument, NotFound
from gamegen.generators.events import InputEnd, NpcActions
from gamegen.generators.npc import arena as A
from gamegen.generators.npc.generator import observation_matrix, observation_vector
from gamegen.generators.npc.runtime import PolicyRunner

from .conftest import MODELS, ServerThread


def typed_from_vector(o: np.ndarray, agent_id: str) -> dict:
    """The world-unit fields an engine would send, read back from the arena's own observation."""
    g = lambda name: o[A.OBS[name]]
    v = lambda name, scale=1.0: {"x": float(g(name)[0] * scale), "y": float(g(name)[1] * scale)}
    pos = g("position") * A.ARENA_SCALE
    rel = lambda name, scale: {"x": float(pos[0] + g(name)[0] * scale), "y": float(pos[1] + g(name)[1] * scale)}
    d = {"agent_id": agent_id, "position": v("position", A.ARENA_SCALE), "velocity": v("velocity", 4.0),
         "heading": v("heading"), "health": float(g("health")[0]), "goal_position": rel("goal_rel", A.ARENA_SCALE),
         "nav_to_goal": v("nav_to_goal"), "goal_path": float(g("goal_path")[0] * A.ARENA_SCALE),
         "nav_away": v("nav_away"), "in_cover": bool(g("in_cover")[0]),
         "wall_rays": [float(r * A.RAY_RANGE) for r in g("wall_rays")]}
    if g("player_visible")[0]:
        d.update(player_visible=True, player_position=rel("player_rel", A.VIEW_RANGE))
    if g("has_last_seen")[0]:
        d.update(has_last_seen=True, last_seen_position=rel("last_seen_rel", A.ARENA_SCALE),
                 last_seen_age=float(g("last_seen_age")[0] * A.AGE_SCALE), nav_to_last_seen=v("nav_to_last_seen"),
                 last_seen_path=float(g("last_seen_path")[0] * A.ARENA_SCALE))
    if np.any(g("nearest_agent_rel")):
        d.update(has_nearest_agent=True, nearest_agent_position=rel("nearest_agent_rel", A.NEIGHBOUR_RANGE))
    if g("cover_path")[0] < 1.0:
        d.update(has_cover=True, nav_to_cover=v("nav_to_cover"), cover_path=float(g("cover_path")[0] * A.ARENA_SCALE))
    return d


def test_typed_observations_scale_into_the_arena_layout():
    arena = A.Arena()
    specs = [A.AgentSpec(a, 0.3 + 0.1 * i, 0.8 - 0.1 * i) for i, a in enumerate(A.ARCHETYPES)]
    arena.reset(specs, seed=7, player_mode="wander")
    checked = 0
    for t in range(60):
        obs, _ = arena.observe()
        typed = [typed_from_vector(obs[i], f"a{i}") for i in range(len(specs))]
        for i, s in enumerate(specs):
            mine = observation_vector(typed[i], s.archetype, s.aggression, s.caution)
            np.testing.assert_allclose(mine, obs[i], atol=2e-6, err_msg=f"tick {t}, agent {i}")
            checked += 1
        # the whole tick at once (what Scene.step uses): the same numbers as agent by agent
        np.testing.assert_array_equal(
            observation_matrix(typed, [(s.archetype, s.aggression, s.caution) for s in specs]),
            np.stack([observation_vector(typed[i], s.archetype, s.aggression, s.caution) for i, s in enumerate(specs)]))
        arena.step(np.random.default_rng(t).integers(0, 9, len(specs)))
    assert checked == 300


@pytest.fixture(scope="module")
def served(registry):
    s = ServerThread(registry)
    with Client(s.target, timeout=30) as c:
        yield s, c, registry
    s.stop()


def scene_obs(seed: int, n: int):
    arena = A.Arena()
    specs = [A.AgentSpec(A.ARCHETYPES[i % 5], 0.7, 0.4) for i in range(n)]
    arena.reset(specs, seed=seed)
    obs, mask = arena.observe()
    return specs, obs, mask


def test_scenes_tick_over_the_wire_batched_across_sessions(served):
    server, c, registry = served
    gen = registry.resolve("npc/npc-mlp")
    specs, obs, mask = scene_obs(3, 40)
    agents = [{"agent_id": f"n{i}", "archetype": s.archetype, "aggression": s.aggression, "caution": s.caution,
               "seed": str(i)} for i, s in enumerate(specs)]
    ticks = [{"observations": [{**typed_from_vector(obs[i], f"n{i}"), "action_mask": [bool(m) for m in mask[i]]}
                               for i in range(len(specs))]}]
    # the same decisions straight from the model, one agent at a time
    direct = PolicyRunner(MODELS / "npc-mlp" / "1.0.0")
    want = []
    for i in range(len(specs)):
        direct.join(i)
        want.append(int(direct.decide([i], obs[i:i + 1], mask[i:i + 1].astype(np.float32)).actions[0]))

    results, errors = {}, []
    calls_before = gen.batcher.calls

    def run(k: int):
        try:
            with c.open_session("npc/npc-mlp", seed=k, params={"agents": agents}) as s:
                got = []
                for _ in range(10):
                    events = list(s.send(ticks[0]))
                    assert isinstance(events[-1], InputEnd) and isinstance(events[0], NpcActions)
                    got.append([a.action for a in events[0].actions])
                results[k] = got
        except Exception as e:   # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert all(r == [want] * 10 for r in results.values())      # argmax: the model's own choice, every tick
    calls = gen.batcher.calls - calls_before
    assert calls < 4 * 10, calls        # ticks of different scenes shared ONNX Runtime calls
    names = {a["agent_id"] for a in agents}
    assert not any(isinstance(k, tuple) and k[1] in names for k in gen.batcher.runner._agents)  # all left


def test_agents_join_and_leave_and_bad_ticks_leave_the_scene_usable(served):
    _, c, _ = served
    _, obs, mask = scene_obs(5, 2)
    one = lambda aid, i=0: {**typed_from_vector(obs[i], aid)}
    with c.open_session("npc/npc-mlp", seed=1, params={"mode": "sample"}) as s:
        out = list(s.send({"join": [{"agent_id": "g", "archetype": "guard", "seed": "9"}],
                           "observations": [one("g")]}))
        assert [a.agent_id for a in out[0].actions] == ["g"]
        with pytest.raises(NotFound, match="'ghost' has not joined"):
            list(s.send({"observations": [one("ghost")]}))
        with pytest.raises(InvalidArgument, match="not finite"):
            list(s.send({"observations": [{"agent_id": "g", "features": ["NaN"] + [0.0] * 45}]}))
        with pytest.raises(InvalidArgument, match="46"):
            list(s.send({"observations": [{"agent_id": "g", "features": [0.0] * 45}]}))
        with pytest.raises(InvalidArgument, match="archetype 'dragon'"):
            list(s.send({"join": [{"agent_id": "d", "archetype": "dragon"}]}))
        with pytest.raises(InvalidArgument, match="allows no action"):
            list(s.send({"observations": [{**one("g"), "action_mask": [False] * 9}]}))
        with pytest.raises(InvalidArgument, match="aggression"):
            list(s.send({"join": [{"agent_id": "x", "archetype": "chase", "aggression": 2}]}))
        out = list(s.send({"leave": ["g"], "join": [{"agent_id": "w", "archetype": "wander"}],
                           "observations": [one("w", 1)]}))
        assert [a.agent_id for a in out[0].actions] == ["w"]
        with pytest.raises(NotFound):
            list(s.send({"leave": ["g"]}))


def test_sampling_is_deterministic_by_seed(served):
    _, c, _ = served
    specs, obs, mask = scene_obs(11, 10)
    agents = [{"agent_id": f"s{i}", "archetype": s.archetype, "seed": str(100 + i)} for i, s in enumerate(specs)]
    tick = {"observations": [typed_from_vector(obs[i], f"s{i}") for i in range(len(specs))]}

    def play(seed):
        with c.open_session("npc/npc-mlp", seed=seed, params={"mode": "sample", "agents": agents}) as s:
            return [[a.action for a in list(s.send(tick))[0].actions] for _ in range(8)]

    a, b, other = play(4), play(4), play(5)
    assert a == b and a != other


def test_an_ml_agents_export_is_served_as_it_is(served):
    import onnxruntime as ort

    _, c, _ = served
    _, obs, mask = scene_obs(2, 6)
    sess = ort.InferenceSession(str(MODELS / "npc-mlagents-demo" / "1.0.0" / "model.onnx"))
    ref = sess.run(["deterministic_discrete_actions", "deterministic_continuous_actions"],
                   {"obs_0": obs.astype(np.float32), "action_masks": mask.astype(np.float32),
                    "recurrent_in": np.zeros((6, 1, 16), np.float32)})
    agents = [{"agent_id": f"m{i}", "archetype": "chase"} for i in range(6)]
    with c.open_session("npc/npc-mlagents-demo", seed=0, params={"agents": agents}) as s:
        out = list(s.send({"observations": [{"agent_id": f"m{i}", "features": obs[i].tolist(),
                                             "action_mask": [bool(m) for m in mask[i]]} for i in range(6)]}))
        acts = out[0].actions
        assert [a.discrete[0] for a in acts] == ref[0][:, 0].tolist()
        np.testing.assert_allclose([a.continuous[0] for a in acts], ref[1][:, 0], atol=1e-6)
        with pytest.raises(InvalidArgument, match="features"):
            list(s.send({"observations": [{"agent_id": "m0", "health": 1.0}]}))


def test_generate_writes_behaviour_trees_and_a_scene(served):
    _, c, _ = served
    for model in ("npc/npc-mlp", "npc/scripted"):
        assets = {e.name: e.data for e in c.generate(model, seed=1, params={"archetype": "search", "aggression": 0.8},
                                                     formats=["xml", "json", "png"]) if hasattr(e, "data")}
        root = ET.fromstring(assets["tree.xml"])
        assert root.tag == "root" and root.get("BTCPP_format") == "4" and root.find("BehaviorTree") is not None
        assert assets["scene.png"].startswith(b"\x89PNG")
    infos = {f"{m.kind}/{m.name}": m for m in c.list_models(kind="npc")}
    assert infos["npc/npc-mlp"].sessions and not infos["npc/scripted"].sessions


def test_agents_past_the_servers_limit_are_refused_and_other_sessions_go_on(registry):
    from gamegen.client import ResourceExhausted
    from gamegen.server.sessions import SessionLimits

    server = ServerThread(registry, session_limits=SessionLimits(max_npc_agents=1000))
    specs, obs, mask = scene_obs(9, 20)
    agents = lambda n, p="a": [{"agent_id": f"{p}{i}", "archetype": A.ARCHETYPES[i % 5]} for i in range(n)]
    tick = {"observations": [typed_from_vector(obs[i], f"o{i}") for i in range(20)]}
    stop, bystander = threading.Event(), {"ticks": 0, "actions": set(), "errors": []}

    def other_scene(c):
        try:
            with c.open_session("npc/npc-mlp", seed=2, params={"agents": agents(20, "o")}) as s:
                while not stop.is_set():
                    out = list(s.send(tick))
                    bystander["actions"].add(tuple(a.action for a in out[0].actions))
                    bystander["ticks"] += 1
        except Exception as e:   # reported below
            bystander["errors"].append(e)

    try:
        with Client(server.target, timeout=60) as c:
            t = threading.Thread(target=other_scene, args=(c,))
            t.start()
            with pytest.raises(ResourceExhausted, match=r"5000 agents would make 5000 .* at most 1000 agents per "
                                                        r"session \(`gamegen serve --max-npc-agents`\)"):
                c.open_session("npc/npc-mlp", seed=1, params={"agents": agents(5000)})
            with c.open_session("npc/npc-mlp", seed=1, params={"agents": agents(1000)}) as s:
                with pytest.raises(ResourceExhausted, match=r"join: 3000 agents would make 4000 in this session "
                                                            r"\(1000 already joined, 0 leaving\)"):
                    list(s.send({"join": agents(3000, "b")}))
                # the refused join left the scene as it was: its 1000 agents still tick, none of b* joined
                out = list(s.send({"observations": [{**typed_from_vector(obs[i % 20], f"a{i}")} for i in range(1000)]}))
                assert len(out[0].actions) == 1000
                with pytest.raises(NotFound, match="'b0' has not joined"):
                    list(s.send({"observations": [typed_from_vector(obs[0], "b0")]}))
                list(s.send({"leave": ["a0"], "join": agents(1, "c")}))   # at the limit, one out one in
            stop.set()
            t.join(60)
    finally:
        stop.set()
        server.stop()
    assert not bystander["errors"], bystander["errors"]
    assert bystander["ticks"] >= 1 and len(bystander["actions"]) == 1   # argmax, same tick: same actions every time


def test_the_demo_game_moves_its_agents_as_the_in_process_policy_does(served):
    """The demo's game loop over a loopback server: typed observations built from the arena's state
    are exactly the arena's own vectors, and the served actions are those of the in-process
    RunnerPolicy (argmax), tick after tick, so both arenas stay in the same state."""
    from gamegen.generators.npc.demo import DEMO_SPECS, ServedPolicy, play, typed_observations
    from gamegen.generators.npc.runtime import RunnerPolicy

    _, c, _ = served
    game, local = A.Arena(), A.Arena()
    for a in (game, local):
        a.reset(DEMO_SPECS, seed=5, player_mode="wander")
    in_process = RunnerPolicy(PolicyRunner(MODELS / "npc-mlp" / "1.0.0"))
    moves = 0
    with c.open_session("npc/npc-mlp", seed=5) as s:
        served_policy = ServedPolicy(s)
        for t in range(10):
            obs, _ = game.observe()
            typed = typed_observations(game, [f"x{i}" for i in range(len(DEMO_SPECS))])
            for i, sp in enumerate(DEMO_SPECS):
                np.testing.assert_array_equal(observation_vector(typed[i], sp.archetype, sp.aggression, sp.caution),
                                              obs[i], err_msg=f"tick {t}, agent {i}")
            np.testing.assert_array_equal(
                observation_matrix(typed, [(sp.archetype, sp.aggression, sp.caution) for sp in DEMO_SPECS]), obs)
            got, want = served_policy.act(game), in_process.act(local)
            assert got.tolist() == want.tolist(), f"tick {t}"
            assert [a.name for a in served_policy.last] == [A.ACTIONS[k] for k in want]
            before = game.pos.copy()
            game.step(got)
            local.step(want)
            np.testing.assert_array_equal(game.pos, local.pos)
            moves += int(np.sum(np.any(game.pos != before, axis=1)))
        assert moves > 5 * len(DEMO_SPECS)     # the agents do move
    with c.open_session("npc/npc-mlp", seed=5) as s:
        img = play(s, ticks=(0, 3))
    assert img.size == (2 * 24 * 16 + 4, 24 * 16 + 18 + 20)      # two frames of the 24 x 24 m arena, a legend


def test_the_batcher_fires_once_every_open_scene_has_ticked(registry):
    """With a long max_delay, two scenes ticking at once share exactly one ONNX Runtime call (the
    leader waits for the second), and a lone scene's tick goes at once instead of waiting it out."""
    from concurrent.futures import ThreadPoolExecutor

    gen = registry.resolve("npc/npc-mlp")
    specs, obs, _ = scene_obs(4, 10)
    agents = [{"agent_id": f"z{i}", "archetype": s.archetype} for i, s in enumerate(specs)]
    tick = {"observations": [typed_from_vector(obs[i], f"z{i}") for i in range(10)]}
    old = gen.batcher.max_delay
    gen.batcher.max_delay = 120.0
    scenes = [gen.open_session(k, {"agents": agents}) for k in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            calls = gen.batcher.calls
            futs = [pool.submit(lambda s: list(s.step(tick)), s) for s in scenes]
            outs = [f.result(timeout=30) for f in futs]
            assert gen.batcher.calls - calls == 1
            assert outs[0][0] == outs[1][0]          # same observations, argmax: same actions
            scenes.pop().close()
            lone = pool.submit(lambda: list(scenes[0].step(tick)))
            assert lone.result(timeout=30)[0] == outs[0][0] and gen.batcher.calls - calls == 2
    finally:
        for s in scenes:
            s.close()
        gen.batcher.max_delay = old


def test_npc_ticks_take_the_direct_path_both_ways_with_the_json_mappings_result():
    """The client fills an NPC tick without json_format and the server reads it without it: the
    message and the dict must be what the JSON mapping gives (64-bit ints aside), or fall back to it."""
    from google.protobuf import json_format

    from gamegen.client import _fill
    from gamegen.server.convert import _plain
    from gamegen.v1 import gamegen_pb2 as pb

    _, obs, mask = scene_obs(6, 8)
    tick = {"join": [{"agent_id": "j", "archetype": "flee", "aggression": 0.0, "seed": 7}], "leave": ["gone"],
            "observations": [{**typed_from_vector(obs[i], f"o{i}"), "action_mask": [bool(m) for m in mask[i]]}
                             for i in range(8)]}
    fast, slow = pb.NpcTick(), pb.NpcTick()
    assert _fill(fast, tick)
    json_format.ParseDict(tick, slow)
    assert fast == slow
    mapped = json_format.MessageToDict(slow, preserving_proto_field_name=True)
    mapped["join"][0]["seed"] = int(mapped["join"][0]["seed"])     # uint64: a string in the JSON mapping
    assert _plain(fast) == mapped and _plain(fast)["join"][0]["aggression"] == 0.0
    assert not _fill(pb.NpcTick(), {"observations": [{"agent_id": "a", "features": ["NaN"]}]})  # needs the mapping
    assert not _fill(pb.NpcTick(), {"observations": [{"agent_id": "a", "colour": 3}]})


def test_a_packed_tick_decides_as_the_typed_one_and_keeps_its_checks(served):
    """NpcObservationBlock: one array per field in, NpcActionBlock out, over gRPC: the same actions and
    directions as the same observations sent as NpcObservation messages; agents joining and leaving
    between packed ticks; each bad block a clear status, the scene usable after."""
    from gamegen.generators.npc.demo import pack_observations

    _, c, _ = served
    specs, obs, mask = scene_obs(8, 30)
    typed = [{**typed_from_vector(obs[i], f"p{i}"), "action_mask": [bool(m) for m in mask[i]]}
             for i in range(len(specs))]
    agents = [{"agent_id": f"p{i}", "archetype": s.archetype, "aggression": s.aggression, "caution": s.caution}
              for i, s in enumerate(specs)]
    block = pack_observations(typed)
    with c.open_session("npc/npc-mlp", seed=2, params={"agents": agents}) as s:
        want = list(s.send({"observations": typed}))[0].actions
        for _ in range(2):                                   # the second tick reuses the scene's lookups
            events = list(s.send({"block": block}))
            got = events[0].block
            assert isinstance(events[-1], InputEnd) and events[0].actions == ()
            assert got.action.tolist() == [a.action for a in want]
            np.testing.assert_allclose(got.direction, [a.direction for a in want], atol=1e-6)
            assert got.discrete.shape == (30, 1) and got.names[got.action[0]] == want[0].name
        # leave two, join one, all in one tick with a block of the new set: lookups follow the change
        keep = [i for i in range(30) if i not in (3, 4)]
        sub = {k: (v[keep] if isinstance(v, np.ndarray) else [v[i] for i in keep]) for k, v in block.items()}
        sub["agent_ids"] = [f"p{i}" for i in keep[:-1]] + ["late"]
        out = list(s.send({"leave": ["p3", "p4", f"p{keep[-1]}"], "join": [{**agents[keep[-1]], "agent_id": "late"}],
                           "block": sub}))
        assert out[0].block.action.tolist() == [a.action for i, a in enumerate(want) if i in keep]
        with pytest.raises(NotFound, match="'p3' has not joined"):
            list(s.send({"block": block}))
        bad = dict(sub, position=sub["position"][:-1])
        with pytest.raises(InvalidArgument, match=r"block.position has 54 values; 28 agents take 56"):
            list(s.send({"block": bad}))
        with pytest.raises(InvalidArgument, match="appears twice"):
            list(s.send({"block": dict(sub, agent_ids=sub["agent_ids"][:-1] + ["p0"])}))
        nan = dict(sub, health=np.where(np.arange(28) == 5, np.nan, sub["health"]).astype(np.float32))
        with pytest.raises(InvalidArgument, match="not finite"):
            list(s.send({"block": nan}))
        with pytest.raises(InvalidArgument, match="allows no action"):
            list(s.send({"block": dict(sub, action_mask=np.zeros((28, 9), bool))}))
        with pytest.raises(InvalidArgument, match="`observations` or `block`, not both"):
            list(s.send({"block": sub, "observations": typed[:1]}))
        assert list(s.send({"block": sub}))[0].block.action.tolist() == out[0].block.action.tolist()


def test_an_ml_agents_export_takes_a_packed_block_of_features(served):
    import onnxruntime as ort

    _, c, _ = served
    _, obs, mask = scene_obs(2, 6)
    sess = ort.InferenceSession(str(MODELS / "npc-mlagents-demo" / "1.0.0" / "model.onnx"))
    ref = sess.run(["deterministic_discrete_actions", "deterministic_continuous_actions"],
                   {"obs_0": obs.astype(np.float32), "action_masks": mask.astype(np.float32),
                    "recurrent_in": np.zeros((6, 1, 16), np.float32)})
    ids = [f"m{i}" for i in range(6)]
    with c.open_session("npc/npc-mlagents-demo", seed=0, params={"agents": [{"agent_id": i, "archetype": "chase"}
                                                                            for i in ids]}) as s:
        got = list(s.send({"block": {"agent_ids": ids, "features": obs.astype(np.float32),
                                     "action_mask": mask.astype(bool)}}))[0].block
        assert got.discrete[:, 0].tolist() == ref[0][:, 0].tolist() and got.names == ()
        np.testing.assert_allclose(got.continuous[:, 0], ref[1][:, 0], atol=1e-6)
        with pytest.raises(InvalidArgument, match="block.features"):
            list(s.send({"block": {"agent_ids": ids, "health": np.ones(6, np.float32)}}))
