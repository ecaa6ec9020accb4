"""A server that lets go: cancellation reaches the work, stalled readers, admission queue, garbage,
shutdown and signals, port checks. Real servers on loopback ports; timings here are generous
functional bounds (did the work stop at all, rather than run to its end); the 200 ms figures are
measured by benchmarks/server_abuse.py."""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest

from gamegen.client import Client, GameGenError
from gamegen.generators import cancel
from gamegen.generators.base import Generator, GeneratorInfo
from gamegen.generators.events import Asset, Final, Progress
from gamegen.server.registry import Registry, SessionFactory
from gamegen.v1 import gamegen_pb2 as pb

from .conftest import ServerThread, ServeProcess, gamegen_cmd


def wait_until(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


# --- the cancel module on its own -------------------------------------------------------------


def test_no_token_means_nothing_changes():
    assert cancel.current() is cancel.NEVER
    cancel.check()                      # never raises
    sink = cancel.Sink()
    sink.write(b"abc")
    assert sink.getvalue() == b"abc"


def test_token_reaches_pool_threads_and_drops_pending_jobs():
    token = cancel.Token()
    pool = ThreadPoolExecutor(max_workers=1)
    release = threading.Event()
    seen = []
    try:
        with cancel.scope(token):
            first = cancel.submit(pool, lambda: (release.wait(5), seen.append(cancel.current() is token)))
            queued = cancel.submit(pool, seen.append, "queued job ran")
        assert cancel.current() is cancel.NEVER, "scope must restore the previous token"
        token.set("test")
        assert queued.cancelled(), "a job that had not started must be dropped on cancel"
        release.set()
        first.result(5)
        assert seen == [True], seen
    finally:
        pool.shutdown(wait=True)


def test_png_encoding_stops_at_the_next_strip_after_cancel(monkeypatch):
    from gamegen.generators.textures import images

    rgb = np.random.default_rng(0).random((1024, 1024, 3), dtype=np.float32)
    token = cancel.Token()
    writes = []

    class Counting(cancel.Sink):
        def write(self, b):
            writes.append(len(b))
            n = super().write(b)
            if sum(writes) > 100_000:        # a few strips in: cancel
                token.set("test")
            return n

    monkeypatch.setattr(cancel, "Sink", Counting)
    with cancel.scope(token), pytest.raises(cancel.Cancelled):
        images.png_rgb(rgb)
    done = next(i for i in range(len(writes)) if sum(writes[:i + 1]) > 100_000)
    assert len(writes) == done + 2, f"encoder went on writing after cancel: {len(writes)} writes, {done}"
    assert sum(writes[:done + 1]) < 1024 * 1024 * 3 // 2, "the cancel came only after most of the image"
    monkeypatch.undo()
    # with a live token that is never set, the bytes are exactly those without one
    with cancel.scope(cancel.Token()):
        assert images.png_rgb(rgb) == images.png_rgb(rgb.copy())


def test_png_encoder_round_trips_through_pillow():
    """Our PNG writer (fixed Sub filter, RLE deflate) against an independent decoder: every mode the
    server writes comes back pixel for pixel, and the CRCs Pillow checks are right."""
    from gamegen.generators.textures import images

    rng = np.random.default_rng(1)
    cases = [rng.integers(0, 256, (37, 53), dtype=np.uint8), rng.integers(0, 256, (64, 65, 3), dtype=np.uint8),
             rng.integers(0, 256, (31, 17, 4), dtype=np.uint8), rng.integers(0, 65536, (40, 33), dtype=np.uint16),
             np.zeros((1, 1, 3), np.uint8), np.full((300, 700, 3), 200, np.uint8)]
    for a in cases:
        img = images.Image.open(io.BytesIO(images.encode_png(a)))
        assert img.mode == {1: "L", 3: "RGB", 4: "RGBA"}[1 if a.ndim == 2 else a.shape[2]] if a.dtype == np.uint8 \
            else img.mode.startswith("I")
        back = np.array(img)
        assert back.shape == a.shape and (back.astype(np.int64) == a).all(), (a.dtype, a.shape)
    with pytest.raises(ValueError, match="uint8 grey/RGB/RGBA or uint16 grey"):
        images.encode_png(np.zeros((4, 4, 2), np.uint8))


@pytest.mark.parametrize("ref,params", [
    ("textures/materials-gan", {"size": 128}),
    ("terrain/noise", {"size": 65, "hydraulic_iterations": 3, "thermal_iterations": 2}),
])
def test_a_live_token_changes_no_byte(registry, ref, params):
    gen = registry.resolve(ref)
    formats = list(gen.info.formats)
    plain = [e for e in gen.generate(5, params, formats) if isinstance(e, Final)][0]
    with cancel.scope(cancel.Token()):
        under = [e for e in gen.generate(5, params, formats) if isinstance(e, Final)][0]
    assert plain.content_hash == under.content_hash


def _slow_onnx(path, nodes: int = 400, side: int = 384):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array((np.eye(side, dtype=np.float32) * 0.999), "w")
    names = ["x"] + [f"h{i}" for i in range(nodes)]
    graph = helper.make_graph(
        [helper.make_node("MatMul", [names[i], "w"], [names[i + 1]]) for i in range(nodes)], "slow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [side, side])],
        [helper.make_tensor_value_info(names[-1], TensorProto.FLOAT, [side, side])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_ort_run_terminates_when_the_token_is_set(tmp_path):
    pytest.importorskip("onnx")
    sess = SessionFactory("cpu")(_slow_onnx(tmp_path / "slow.onnx"))
    assert isinstance(sess, cancel.AbortableSession) and sess.get_inputs()[0].name == "x"
    x = np.ones((384, 384), np.float32)
    t = time.perf_counter()
    out = sess.run(None, {"x": x})[0]     # no token: a normal run, same result as the bare session
    full = time.perf_counter() - t
    assert np.array_equal(out, sess.session.run(None, {"x": x})[0])
    token = cancel.Token()
    threading.Timer(full / 4, token.set, args=("test",)).start()
    t = time.perf_counter()
    with cancel.scope(token), pytest.raises(cancel.Cancelled):
        sess.run(None, {"x": x})
    assert time.perf_counter() - t < full * 0.75, "the run went on after terminate"


def test_sessions_do_not_keep_an_arena():
    assert SessionFactory("cpu").options().enable_cpu_mem_arena is False


# --- cancellation reaches the work, over gRPC ------------------------------------------------


@pytest.fixture(scope="module")
def busy_server(registry):
    s = ServerThread(registry, max_concurrent=2, workers=2)
    yield s
    s.stop()


def test_cancel_stops_the_erosion_simulator_mid_batch(busy_server):
    """A 257 chunk with 300+300 iterations takes many seconds; a cancel at its first event ends the
    worker thread long before that (the simulators check the token every iteration)."""
    with Client(busy_server.target) as c:
        stream = c.generate("terrain/noise", seed=3, params={"size": 257, "hydraulic_iterations": 300,
                                                            "thermal_iterations": 300}, formats=["raw"])
        assert isinstance(next(stream), Progress)
        assert wait_until(lambda: busy_server.stats.running == 1)
        stream.close()
    assert wait_until(lambda: busy_server.stats.running == 0, 3), "erosion ran on after cancel"
    assert busy_server.stats.active == 0
    assert busy_server.server.servicer.stop_ms, "the servicer did not record when the work stopped"


def test_deadline_stops_texture_work_and_frees_the_encode_pool(busy_server):
    from gamegen.generators.textures import generator as textures

    with Client(busy_server.target) as c, pytest.raises(GameGenError) as ei:
        list(c.generate("textures/materials-procedural", seed=1, params={"size": 2048}, timeout=1.0,
                        formats=["albedo", "height", "normal_gl", "normal_dx", "roughness", "ao"]))
    assert ei.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert wait_until(lambda: busy_server.stats.running == 0, 3), "texture work ran on after the deadline"
    # nothing of the abandoned request is left in the shared encode pool: a new job starts at once
    assert textures._POOL.submit(lambda: True).result(3)
    with Client(busy_server.target) as c:
        events = list(c.generate("textures/materials-procedural", seed=1, params={"size": 64},
                                 formats=["albedo", "ao"]))
    assert isinstance(events[-1], Final)


# --- stalled readers, send buffer, admission queue ------------------------------------------


class Blobs(Generator):
    """Yields ``n`` incompressible assets of ``size`` bytes and counts how many it produced."""

    def __init__(self, name: str = "blobs", n: int = 100, size: int = 1 << 20):
        self.info = GeneratorInfo("levels", name, "1.0.0", "test", "big assets", (), ("bin",), 1)
        self.n, self.size, self.produced = n, size, 0

    def run(self, seed, params, formats, *, partials):
        for i in range(self.n):
            self.produced += 1
            yield Asset(f"b{i}.bin", "application/octet-stream", os.urandom(self.size), "bin")
        yield Final(self.info.ref, "1.0.0", seed, (), "", "none", 1)


def test_a_stalled_reader_is_cut_with_a_clear_status_and_frees_its_slot(caplog):
    blobs, small = Blobs(), Blobs("small", n=1, size=10)
    reg = Registry()
    reg.add(blobs)
    reg.add(small)
    server = ServerThread(reg, max_concurrent=1)
    server.server.servicer.stall_timeout = 1.0
    server.server.servicer.send_buffer = 2 << 20
    try:
        with Client(server.target) as c:
            stalled = c.generate("levels/blobs", seed=1, formats=["bin"])
            next(stalled)                                # read one event, then stop reading
            time.sleep(0.5)
            assert blobs.produced < 20, f"{blobs.produced} MB produced for a reader that stopped"
            assert wait_until(lambda: server.stats.stalled == 1, 10), server.stats
            assert server.stats.active == 0 and wait_until(lambda: server.stats.running == 0)
            produced = blobs.produced
            assert collect_final(c.generate("levels/small", seed=2, formats=["bin"])), "slot not freed"
            with pytest.raises(GameGenError) as ei:
                list(stalled)
            assert ei.value.code == grpc.StatusCode.CANCELLED
            assert "read nothing for 1 s" in ei.value.details and "--stall-timeout" in ei.value.details
            assert blobs.produced == produced, "the generator went on after the stream was cut"
    finally:
        server.stop()
    assert not any(r.exc_info for r in caplog.records), "a cut stream logged a traceback"


def collect_final(events):
    return isinstance(list(events)[-1], Final)


def test_admission_queue_waits_then_refuses(registry):
    from .test_server import Instrumented

    slow = Instrumented(registry.resolve("levels/smb"), "slow-smb", delay=0.02)
    reg = Registry()
    reg.add(slow)
    server = ServerThread(reg, max_concurrent=1)
    server.server.servicer.queue_size = 1
    server.server.servicer.queue_timeout = 20
    try:
        with Client(server.target) as c:
            first = c.generate("levels/slow-smb", seed=1, params={"width": 300}, formats=["txt"])
            next(first)                                              # the only slot is taken
            result = {}
            waiter = threading.Thread(target=lambda: result.setdefault(
                "ok", collect_final(c.generate("levels/slow-smb", seed=2, params={"width": 50}, formats=["txt"]))))
            waiter.start()
            assert wait_until(lambda: server.stats.queued == 1)
            with pytest.raises(GameGenError) as ei:                   # the queue (1) is full too
                list(c.generate("levels/slow-smb", seed=3, params={"width": 50}, formats=["txt"]))
            assert ei.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "1 concurrent" in ei.value.details and "queue of 1 is full" in ei.value.details
            assert collect_final(first)
            waiter.join(30)
            assert result == {"ok": True}, "the queued caller was not served when the slot freed"
            # a short queue timeout refuses after waiting
            server.server.servicer.queue_timeout = 0.3
            first = c.generate("levels/slow-smb", seed=4, params={"width": 300}, formats=["txt"])
            next(first)
            t = time.monotonic()
            with pytest.raises(GameGenError) as ei:
                list(c.generate("levels/slow-smb", seed=5, params={"width": 50}, formats=["txt"]))
            assert ei.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "waited in the queue" in ei.value.details
            assert time.monotonic() - t >= 0.25
            first.close()
    finally:
        server.stop()
    assert server.stats.queued == 0 and server.stats.active == 0


# --- garbage in -----------------------------------------------------------------------------------


def test_undecodable_requests_get_invalid_argument_and_few_log_lines(server, caplog):
    caplog.set_level(logging.WARNING, logger="gamegen.servicer")
    with grpc.insecure_channel(server.target) as ch:
        gen = ch.unary_stream("/gamegen.v1.GameGen/Generate", request_serializer=None, response_deserializer=None)
        lst = ch.unary_unary("/gamegen.v1.GameGen/ListModels", request_serializer=None, response_deserializer=None)
        t = time.monotonic()
        for i in range(60):
            with pytest.raises(grpc.RpcError) as ei:
                list(gen(b"\x0a\xff\xff\xff\x0f" + bytes([i]), timeout=10))
            assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "could not be decoded as gamegen.v1.GenerateRequest" in ei.value.details()
        with pytest.raises(grpc.RpcError) as ei:
            lst(b"\xff\xff", timeout=10)
        assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        took = time.monotonic() - t
        # a good request on the same channel still works
        ok = pb.GenerateRequest(model="levels/smb-rules", seed=1, formats=["txt"]).SerializeToString()
        assert list(gen(ok, timeout=30))
    lines = [r for r in caplog.records if r.name == "gamegen.servicer"]
    assert 1 <= len(lines) <= int(took) + 2, [r.getMessage() for r in lines]
    assert not any(r.exc_info for r in caplog.records)


# --- shutdown, signals, the port ------------------------------------------------------------------


def long_stream(target: str, out: dict, key: str):
    try:
        with Client(target) as c:
            for _ in c.generate("terrain/noise", seed=1, params={"size": 513, "hydraulic_iterations": 300,
                                                                "thermal_iterations": 300}, formats=["raw"]):
                out.setdefault(key + "-started", True)
    except GameGenError as e:
        out[key] = e.code


def test_sigterm_cuts_streams_within_grace_and_a_second_signal_exits_at_once(tmp_path):
    for second in (False, True):
        proc = ServeProcess("--models", str(tmp_path), "--grace", "1")  # built-in generators only: quick start
        got: dict = {}
        threads = [threading.Thread(target=long_stream, args=(proc.target, got, f"s{i}")) for i in range(2)]
        for th in threads:
            th.start()
        assert wait_until(lambda: len([k for k in got if k.endswith("started")]) == 2, 20)
        t = time.monotonic()
        proc.proc.send_signal(signal.SIGTERM)
        if second:
            time.sleep(0.2)
            proc.proc.send_signal(signal.SIGTERM)
        rc = proc.proc.wait(20)
        took = time.monotonic() - t
        for th in threads:
            th.join(10)
        log = proc.proc.stderr.read()
        assert "Traceback" not in log, log
        if second:
            assert rc == 128 + signal.SIGTERM and took < 1.0, (rc, took)
            assert "exiting now" in log
        else:
            assert rc == 0 and took < 1 + 1.5, (rc, took, log)        # grace 1 s + 1 s (+ slack)
            assert "stream cut by shutdown" in log, log
            assert set(got.get(f"s{i}") for i in range(2)) <= {grpc.StatusCode.CANCELLED,
                                                               grpc.StatusCode.UNAVAILABLE}, got


def test_serve_on_a_port_in_use_says_so_in_one_line_before_loading_models():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        t = time.monotonic()
        r = subprocess.run(gamegen_cmd("serve", "--port", str(port)), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port}" in lines[0] and "in use" in lines[0] and "--port" in lines[0], r.stderr
    assert "loaded" not in r.stderr and time.monotonic() - t < 30


@pytest.mark.parametrize("args,words", [
    (["--stall-timeout", "-1"], ["--stall-timeout", "-1"]),
    (["--queue", "-2"], ["--queue", "-2"]),
    (["--send-buffer-mb", "0"], ["--send-buffer-mb", "0"]),
    (["--max-npc-agents", "0"], ["--max-npc-agents", "at least 1", "0"]),
])
def test_serve_rejects_bad_limits(args, words):
    r = subprocess.run(gamegen_cmd("serve", "--port", "0", *args), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    for w in words:
        assert w in r.stderr
