"""End to end over a real server on a loopback port: listing, streaming, errors, limits, cancel."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gamegen.client import AsyncClient, Client, GameGenError
from gamegen.generators.base import Generator
from gamegen.generators.events import Asset, Final, LevelChunk, Progress
from gamegen.generators.levels import playability
from gamegen.generators.levels.games import to_grid
from gamegen.server.registry import Registry
from gamegen.v1 import gamegen_pb2 as pb
from gamegen.v1 import gamegen_pb2_grpc as pb_grpc

from .conftest import ServerThread


def collect(events):
    out = {"progress": [], "chunks": [], "assets": [], "final": None}
    for e in events:
        if isinstance(e, Progress):
            out["progress"].append(e)
        elif isinstance(e, LevelChunk):
            out["chunks"].append(e)
        elif isinstance(e, Asset):
            out["assets"].append(e)
        elif isinstance(e, Final):
            assert out["final"] is None, "two final events"
            out["final"] = e
    assert out["final"] is not None
    return out


def test_list_models_reports_kind_params_provider(client):
    models = {f"{m.kind}/{m.name}": m for m in client.list_models()}
    for ref in ("levels/smb", "levels/loderunner", "levels/smb-rules", "levels/loderunner-rules"):
        assert ref in models, sorted(models)
    smb = models["levels/smb"]
    assert smb.execution_provider == "CPUExecutionProvider"  # CI has no GPU: never claim CUDA
    assert len(smb.sha256) == 64
    width = {p.name: p for p in smb.parameters}["width"]
    assert (width.min, width.max, width.type) == (50, 1000, pb.PARAMETER_TYPE_INT)
    assert set(smb.output_formats) == {"txt", "tmj", "png", "glb"}
    assert {t.symbol for t in smb.tiles} >= set("X-E")
    assert models["levels/smb-rules"].execution_provider == "none"
    # File parameters say what they take, so remote callers (and their error messages) know too.
    upload = {p.name: p for p in models["textures/exemplar-unet"].parameters}["exemplar"]
    assert upload.type == pb.PARAMETER_TYPE_BYTES and "PNG" in upload.accepts and upload.max > upload.min > 0
    assert [m.name for m in client.list_models(kind="levels")] and not client.list_models(kind="weather")
    for kind in ("levels", "npc"):   # the filter returns that kind's models and only those
        assert {m.kind for m in client.list_models(kind=kind)} == {kind}


def test_health_and_reflection(server):
    with grpc.insecure_channel(server.target) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        for name in ("", "gamegen.v1.GameGen"):
            assert health.Check(health_pb2.HealthCheckRequest(service=name)).status == \
                health_pb2.HealthCheckResponse.SERVING
        from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        resp = next(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
        names = {s.name for s in resp.list_services_response.service}
        assert "gamegen.v1.GameGen" in names and "grpc.health.v1.Health" in names


def test_smb_streams_column_chunks_then_assets_then_final(client):
    got = collect(client.generate("levels/smb", seed=7, params={"width": 300, "enemies": 0.4},
                                  formats=["txt", "tmj", "png"]))
    chunks = got["chunks"]
    assert len(chunks) > 1, "a 300-column level arrives in several chunks"
    assert [c.x for c in chunks] == [sum(c.width for c in chunks[:i]) for i in range(len(chunks))]
    assert sum(c.width for c in chunks) == 300 and all(c.height == 14 for c in chunks)
    txt = next(a for a in got["assets"] if a.name.endswith(".txt")).data.decode()
    streamed = ["".join(c.rows[r] for c in chunks) for r in range(14)]
    assert txt.splitlines() == streamed, "the streamed chunks are the final level"
    assert playability.check("smb", to_grid(streamed)).playable
    names = {a.name for a in got["assets"]}
    assert {"level.txt", "level.tmj", "level.png", "smb.tsj", "smb-tiles.png"} <= names
    f = got["final"]
    assert f.model == "levels/smb" and f.seed == 7 and f.execution_provider == "CPUExecutionProvider"
    assert dict(f.parameters)["width"] == "300" and dict(f.parameters)["enemies"] == "0.4"


def test_last_event_says_it_is_last(server):
    with grpc.insecure_channel(server.target) as ch:
        stub = pb_grpc.GameGenStub(ch)
        req = pb.GenerateRequest(model="levels/loderunner", seed=3, formats=["txt"],
                                 levels=pb.LevelParams(gold=6))
        msgs = list(stub.Generate(req, timeout=30))
    assert [m.is_last for m in msgs] == [False] * (len(msgs) - 1) + [True]
    assert msgs[-1].WhichOneof("event") == "final"


def test_same_seed_same_bytes_in_process_and_over_grpc(client, registry):
    args = dict(seed=1234, params={"width": 120, "enemies": 0.3, "gaps": 0.5}, formats=["txt", "tmj", "png"])
    a = collect(client.generate("levels/smb", **args))
    b = collect(client.generate("levels/smb", **args))
    gen = registry.resolve("levels/smb")
    c = collect(gen.generate(args["seed"], args["params"], args["formats"]))
    assert [x.data for x in a["assets"]] == [x.data for x in b["assets"]] == [x.data for x in c["assets"]]
    assert a["final"].content_hash == b["final"].content_hash == c["final"].content_hash
    other = collect(client.generate("levels/smb", **{**args, "seed": 1235}))
    assert other["final"].content_hash != a["final"].content_hash


async def test_async_client_streams(server):
    async with AsyncClient(server.target, timeout=30) as c:
        models = await c.list_models()
        assert any(m.name == "loderunner" for m in models)
        events = [e async for e in c.generate("levels/loderunner", seed=5, params={"gold": 4}, formats=["txt"])]
    assert isinstance(events[-1], Final)
    txt = next(e for e in events if isinstance(e, Asset)).data.decode()
    assert txt.count("G") == 4 and txt.count("M") == 1


BAD_REQUESTS = [
    # (model, params, formats, code, words the message must contain)
    ("levels/nope", {}, ["txt"], grpc.StatusCode.NOT_FOUND, ["levels/nope", "levels/smb", "levels/loderunner"]),
    ("levels/smb@9.9.9", {}, ["txt"], grpc.StatusCode.NOT_FOUND, ["levels/smb@1.0.0"]),
    ("levels/smb", {"width": 10}, ["txt"], grpc.StatusCode.INVALID_ARGUMENT, ["width", "50", "1000", "10"]),
    ("levels/smb", {"width": 10**9}, ["txt"], grpc.StatusCode.INVALID_ARGUMENT, ["width", "1000000000"]),
    ("levels/smb", {"enemies": 1.5}, ["txt"], grpc.StatusCode.INVALID_ARGUMENT, ["enemies", "0", "1", "1.5"]),
    ("levels/smb", {"gold": 3}, ["txt"], grpc.StatusCode.INVALID_ARGUMENT, ["gold", "width", "enemies"]),
    ("levels/loderunner", {"width": 64}, ["txt"], grpc.StatusCode.INVALID_ARGUMENT, ["width", "gold"]),
    ("levels/loderunner", {"gold": 0}, ["txt"], grpc.StatusCode.INVALID_ARGUMENT, ["gold"]),
    ("levels/smb", {"temperature": 3.0}, ["txt"], grpc.StatusCode.INVALID_ARGUMENT, ["temperature", "1.5"]),
    ("levels/smb-rules", {"temperature": 1.0}, ["txt"], grpc.StatusCode.INVALID_ARGUMENT, ["temperature"]),
    ("levels/smb", {}, [], grpc.StatusCode.INVALID_ARGUMENT, ["formats", "txt", "tmj", "png"]),
    ("levels/smb", {}, ["fbx"], grpc.StatusCode.INVALID_ARGUMENT, ["fbx", "txt", "glb"]),
]


@pytest.mark.parametrize("model,params,formats,code,words", BAD_REQUESTS,
                         ids=[f"{m}-{p}-{f}" for m, p, f, *_ in BAD_REQUESTS])
def test_bad_requests_get_clear_errors(client, model, params, formats, code, words):
    with pytest.raises(GameGenError) as ei:
        list(client.generate(model, seed=1, params=params, formats=formats))
    assert ei.value.code == code, ei.value
    for w in words:
        assert w in ei.value.details, (w, ei.value.details)


def test_unset_params_take_defaults_and_typed_fields_are_checked(server):
    with grpc.insecure_channel(server.target) as ch:
        stub = pb_grpc.GameGenStub(ch)
        ok = list(stub.Generate(pb.GenerateRequest(model="levels/smb", seed=1, formats=["txt"]), timeout=30))
        assert ok[-1].is_last and dict((p.name, p.value) for p in ok[-1].final.parameters)["width"] == "200"
        with pytest.raises(grpc.RpcError) as ei:
            list(stub.Generate(pb.GenerateRequest(model="levels/smb", seed=1, formats=["txt"],
                                                  levels=pb.LevelParams(width=49)), timeout=30))
        assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "width" in ei.value.details()
        # Parameters of another kind: named, with the kind the model takes.
        wrong = pb.GenerateRequest(model="levels/smb", seed=1, formats=["txt"])
        wrong.music.SetInParent()
        with pytest.raises(grpc.RpcError) as ei:
            list(stub.Generate(wrong, timeout=30))
        assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "`levels`" in ei.value.details() and "`music`" in ei.value.details()


# --- cancellation, deadlines, limits ----------------------------------------------------------


class Instrumented(Generator):
    """Wraps a real generator: sleeps between events and records how far the stream got."""

    def __init__(self, inner: Generator, name: str, delay: float):
        import dataclasses

        self.inner = inner
        self.info = dataclasses.replace(inner.info, name=name)
        self.delay = delay
        self.pulled = 0
        self.total = None
        self.closed = threading.Event()

    def run(self, seed, params, formats, *, partials):
        try:
            for event in self.inner.run(seed, params, formats, partials=partials):
                self.pulled += 1
                time.sleep(self.delay)
                yield event
        finally:
            self.closed.set()


@pytest.fixture()
def slow_server(registry):
    reg = Registry()
    slow = Instrumented(registry.resolve("levels/smb"), "slow-smb", delay=0.05)
    reg.add(slow)
    s = ServerThread(reg, max_concurrent=1)
    yield s, slow
    s.stop()


def test_cancel_mid_stream_stops_the_generator(slow_server):
    server, slow = slow_server
    complete = sum(1 for _ in slow.inner.generate(1, {"width": 1000}, ["txt"]))
    with Client(server.target) as c:
        stream = c.generate("levels/slow-smb", seed=1, params={"width": 1000}, formats=["txt"])
        first = next(e for e in stream if isinstance(e, LevelChunk))
        assert first.x == 0
        stream.close()  # the client cancels the call
    assert slow.closed.wait(5), "generator was not closed after cancel"
    pulled = slow.pulled
    assert pulled < complete / 2, f"generator ran on after cancel: {pulled} of {complete} events"
    time.sleep(0.3)
    assert slow.pulled == pulled, "generator kept producing after it was closed"
    deadline = time.time() + 5
    while server.stats.active and time.time() < deadline:
        time.sleep(0.02)
    assert server.stats.active == 0 and server.stats.cancelled >= 1


def test_deadline_stops_generation(slow_server):
    server, slow = slow_server
    with Client(server.target) as c, pytest.raises(GameGenError) as ei:
        list(c.generate("levels/slow-smb", seed=2, params={"width": 1000}, formats=["txt"], timeout=0.5))
    assert ei.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert slow.closed.wait(5), "generator still running after the deadline"


def test_concurrency_cap_answers_resource_exhausted(slow_server):
    server, slow = slow_server
    with Client(server.target) as c:
        first = c.generate("levels/slow-smb", seed=3, params={"width": 400}, formats=["txt"])
        next(first)  # the only slot is now taken
        with pytest.raises(GameGenError) as ei:
            list(c.generate("levels/slow-smb", seed=4, params={"width": 50}, formats=["txt"]))
        assert ei.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "1 concurrent" in ei.value.details
        rest = collect(first)  # the first stream is unaffected
        assert rest["final"] is not None


class SolidRock:
    """A sampler that only produces solid screens: nothing to stand on, repair must give up."""

    def sample(self, rng, width, controls, chunk):
        import numpy as np

        yield np.full((22, 32), ord("B"), dtype=np.uint8)


def test_unrepairable_level_ends_with_aborted_not_a_broken_level(registry):
    import dataclasses

    from gamegen.generators.levels.games import LODE_RUNNER
    from gamegen.generators.levels.generator import LevelGenerator

    real = registry.resolve("levels/loderunner")
    broken = LevelGenerator(dataclasses.replace(real.info, name="rock"), LODE_RUNNER, SolidRock())
    reg = Registry()
    reg.add(broken)
    server = ServerThread(reg)
    try:
        with Client(server.target) as c:
            events = []
            with pytest.raises(GameGenError) as ei:
                for e in c.generate("levels/rock", seed=1, params={"gold": 5}, formats=["txt"]):
                    events.append(e)
    finally:
        server.stop()
    assert ei.value.code == grpc.StatusCode.ABORTED
    assert "no playable loderunner level after" in ei.value.details and "attempts" in ei.value.details
    assert not any(isinstance(e, (Asset, LevelChunk)) for e in events), "nothing of a broken level was sent"


def test_streams_past_the_workers_wait_and_a_waiting_one_can_be_cancelled(registry):
    a = Instrumented(registry.resolve("levels/smb"), "slow-a", delay=0.03)
    b = Instrumented(registry.resolve("levels/smb"), "slow-b", delay=0.03)
    reg = Registry()
    reg.add(a)
    reg.add(b)
    server = ServerThread(reg, max_concurrent=3, workers=1)
    try:
        with Client(server.target) as c:
            first = c.generate("levels/slow-a", seed=1, params={"width": 300}, formats=["txt"])
            next(first)                                   # a holds the only worker
            stub = pb_grpc.GameGenStub(c.channel)
            waiting = stub.Generate(pb.GenerateRequest(model="levels/slow-b", seed=2, formats=["txt"]))
            time.sleep(0.2)
            assert b.pulled == 0, "second stream ran although the only worker was busy"
            waiting.cancel()                              # cancel b while it waits
            assert isinstance(collect(first)["final"], Final)
            time.sleep(0.3)
            assert b.pulled == 0, "a stream cancelled while waiting was started anyway"
            # the worker is free again: a later stream runs normally
            assert collect(c.generate("levels/slow-b", seed=3, params={"width": 50}, formats=["txt"]))["final"]
    finally:
        server.stop()
