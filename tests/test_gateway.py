"""The HTTP/WebSocket gateway over a real loopback server: JSON, NDJSON streams and sessions reach
the same servicer as gRPC, with the same validation, limits, cancellation and health. Real
clients: httpx for HTTP (streaming), the `websockets` package for sessions."""

from __future__ import annotations

import base64
import json
import threading
import time

import httpx
import pytest
from google.protobuf import json_format
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from gamegen.client import Asset, Client
from gamegen.server.registry import Registry
from gamegen.server.sessions import SessionLimits
from gamegen.v1 import gamegen_pb2 as pb

from .conftest import ServerThread
from .slow_server import Slow
from .test_sessions import Echo


@pytest.fixture(scope="module")
def gw(registry):
    reg = Registry()
    for ref in ("levels/smb", "levels/smb-rules", "textures/pbr-sobel"):
        reg.add(registry.resolve(ref))
    slow = Slow(registry.resolve("levels/smb-rules"), "slow-smb", delay=0.05)
    late = Slow(registry.resolve("levels/smb-rules"), "late-smb", delay=1.0)   # first event after 1 s
    fast, chatty = Echo(), Echo(delay=0.05)
    fast.info.name, chatty.info.name = "echo", "slow-echo"
    for g in (slow, late, fast, chatty):
        reg.add(g)
    s = ServerThread(reg, http_port=0)
    s.server.servicer.sessions.limits = SessionLimits(max_sessions=4, idle_timeout=30)
    with httpx.Client(base_url=s.http, timeout=30) as h:
        yield s, h, {"slow": slow, "late": late, "echo": fast, "slow-echo": chatty}
    s.stop()


def ndjson(response: httpx.Response) -> list[dict]:
    return [json.loads(line) for line in response.iter_lines() if line]


def generate(h: httpx.Client, body: dict, **kw) -> tuple[httpx.Response, list[dict]]:
    with h.stream("POST", "/v1/generate", json=body, **kw) as r:
        if r.status_code != 200:
            r.read()
            return r, []
        return r, ndjson(r)


def wait_for(predicate, seconds: float = 5.0) -> bool:
    end = time.time() + seconds
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# -- unary ----------------------------------------------------------------------------------------------

def test_health_and_models_are_the_servicers(gw):
    server, h, _ = gw
    r = h.get("/v1/health")
    assert r.status_code == 200 and r.json() == {"status": "SERVING"}
    assert h.get("/v1/health", params={"service": "gamegen.v1.GameGen"}).json() == {"status": "SERVING"}
    r = h.get("/v1/health", params={"service": "no.such.Service"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"

    r = h.get("/v1/models")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    over_http = json_format.Parse(r.text, pb.ListModelsResponse())
    with Client(server.target, timeout=30) as c:
        assert list(over_http.models) == c.list_models()
    levels = json_format.Parse(h.get("/v1/models", params={"kind": "levels"}).text, pb.ListModelsResponse())
    assert {m.name for m in levels.models} == {"smb", "smb-rules", "slow-smb", "late-smb"}
    r = h.get("/v1/models", params={"knd": "levels"})
    assert r.status_code == 400 and "knd" in r.json()["error"]["message"]


# -- Generate as NDJSON ---------------------------------------------------------------------------------

def test_a_level_streams_as_ndjson_with_the_same_bytes_as_grpc(gw):
    server, h, _ = gw
    body = {"model": "levels/smb", "seed": "7", "levels": {"width": 120, "enemies": 0.3}, "formats": ["txt", "tmj", "png"]}
    r, lines = generate(h, body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
    events = [json_format.ParseDict(line, pb.GenerateEvent()) for line in lines]
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[-1] == "final" and events[-1].is_last and lines[-1]["isLast"] is True
    assert "partial" in kinds and kinds.count("asset") >= 3 and not any(e.is_last for e in events[:-1])
    chunks = [e.partial.level_chunk for e in events if e.WhichOneof("event") == "partial"]
    assert sum(c.width for c in chunks) == 120
    over_http = {e.asset.name: e.asset.data for e in events if e.WhichOneof("event") == "asset"}
    with Client(server.target, timeout=30) as c:
        over_grpc = {ev.name: ev.data for ev in c.generate("levels/smb", seed=7, params={"width": 120, "enemies": 0.3},
                                                            formats=["txt", "tmj", "png"]) if isinstance(ev, Asset)}
    assert over_http == over_grpc and {"level.txt", "level.tmj", "level.png"} <= set(over_http)
    assert events[-1].final.seed == 7 and lines[-1]["final"]["seed"] == "7"   # uint64 as a string


def test_json_follows_the_protos_json_mapping(gw):
    _, h, _ = gw
    # snake_case and lowerCamelCase are both accepted on input, as json_format does
    for flag in ("validate_only", "validateOnly"):
        r, lines = generate(h, {"model": "levels/smb-rules", "seed": 3, flag: True, "levels": {"width": 50},
                                 "formats": ["txt"]})
        assert r.status_code == 200 and len(lines) == 1 and "final" in lines[0]
    r, lines = generate(h, {"model": "levels/smb-rules", "seed": "3", "levels": {"width": 50}, "formats": ["txt"]})
    for line in lines:
        # output is exactly what json_format writes for the message it parses into: camelCase names,
        # 64-bit integers as strings, bytes as base64, defaults left out
        assert json_format.MessageToDict(json_format.ParseDict(line, pb.GenerateEvent())) == line
    asset = next(line["asset"] for line in lines if "asset" in line)
    assert set(asset) >= {"name", "mediaType", "data", "format", "sha256"} and "media_type" not in asset
    assert base64.b64decode(asset["data"]).startswith(b"-")
    final = lines[-1]["final"]
    assert "contentHash" in final and "generatorVersion" in final and isinstance(final["seed"], str)


def test_an_upload_travels_as_base64_and_gives_the_grpc_bytes(gw):
    import io

    import numpy as np
    from PIL import Image

    server, h, _ = gw
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    png = buf.getvalue()
    body = {"model": "textures/pbr-sobel", "seed": "1", "formats": ["normal_gl", "height"],
            "textures": {"albedo": base64.b64encode(png).decode(), "relief": 2}}
    r, lines = generate(h, body)
    assert r.status_code == 200 and "final" in lines[-1]
    over_http = {a["name"]: base64.b64decode(a["data"]) for a in (line.get("asset") for line in lines) if a}
    with Client(server.target, timeout=30) as c:
        over_grpc = {e.name: e.data for e in c.generate("textures/pbr-sobel", seed=1, params={"albedo": png, "relief": 2},
                                                         formats=["normal_gl", "height"]) if isinstance(e, Asset)}
    assert over_http == over_grpc and {"normal_gl.png", "height.png"} <= set(over_http)
    body["textures"]["albedo"] = base64.b64encode(b"not an image").decode()
    r, _ = generate(h, body)
    assert r.status_code == 400 and "albedo" in r.json()["error"]["message"]
    body["textures"]["albedo"] = "***"
    r, _ = generate(h, body)
    assert r.status_code == 400 and "albedo" in r.json()["error"]["message"]


def test_bad_input_gets_the_grpc_code_as_http_status_with_the_field_named(gw):
    _, h, _ = gw
    r, _ = generate(h, {"model": "levels/smb", "levels": {"width": 5}})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "INVALID_ARGUMENT" and "width" in err["message"] and "5" in err["message"]
    r, _ = generate(h, {"model": "levels/nope"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND" and "levels/smb" in r.json()["error"]["message"]
    r, _ = generate(h, {"model": "levels/smb", "levels": {"widht": 60}})
    assert r.status_code == 400 and "widht" in r.json()["error"]["message"]
    r, _ = generate(h, {"model": "levels/smb", "formats": ["exe"]})
    assert r.status_code == 400 and "exe" in r.json()["error"]["message"]
    r = h.post("/v1/generate", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_ARGUMENT"
    r = h.post("/v1/generate", json={"model": "levels/smb"}, headers={"X-Gamegen-Timeout": "soon"})
    assert r.status_code == 400 and "X-Gamegen-Timeout" in r.json()["error"]["message"]
    r = h.get("/v1/generate")
    assert r.status_code == 405 and r.json()["error"]["code"] == "UNIMPLEMENTED"
    r = h.get("/v1/nowhere")
    assert r.status_code == 404 and "/v1/generate" in r.json()["error"]["message"]


def test_events_are_flushed_one_by_one_and_closing_the_response_cancels_the_work(gw):
    server, h, gens = gw
    slow = gens["slow"]
    slow.closed.clear()
    slow.pulled = 0
    before = server.stats.cancelled
    with h.stream("POST", "/v1/generate", json={"model": "levels/slow-smb", "levels": {"width": 1000},
                                                "formats": ["txt"]}) as r:
        lines = r.iter_lines()
        first = json.loads(next(lines))
        assert "partial" in first or "progress" in first
        assert slow.pulled < 20          # the first event arrived while the level was still being made
    # the response is closed: the server stops generating, as for a gRPC cancel
    assert slow.closed.wait(5)
    assert wait_for(lambda: server.stats.cancelled == before + 1 and server.stats.active == 0)
    pulled = slow.pulled
    time.sleep(0.3)
    assert slow.pulled == pulled < 60    # 1000 columns in 25-column chunks would be about 90 events


def test_the_deadline_header_is_the_calls_deadline(gw):
    server, h, _ = gw
    # no event before the deadline: the HTTP status says it
    t0 = time.perf_counter()
    r, _ = generate(h, {"model": "levels/late-smb", "levels": {"width": 200}, "formats": ["txt"]}, headers={"X-Gamegen-Timeout": "0.3"})
    assert r.status_code == 504 and r.json()["error"]["code"] == "DEADLINE_EXCEEDED"
    assert time.perf_counter() - t0 < 5
    # after the stream started: the last line says it
    r, lines = generate(h, {"model": "levels/slow-smb", "levels": {"width": 1000}, "formats": ["txt"]},
                        headers={"X-Gamegen-Timeout": "0.5"})
    assert r.status_code == 200 and len(lines) > 1
    assert lines[-1] == {"error": {"code": "DEADLINE_EXCEEDED", "message": lines[-1]["error"]["message"]}}
    assert not any("final" in line for line in lines)
    assert wait_for(lambda: server.stats.active == 0)


def test_limits_are_the_servicers(gw):
    server, h, _ = gw
    servicer = server.server.servicer
    limit = servicer.max_concurrent
    servicer.max_concurrent = 1
    try:
        with h.stream("POST", "/v1/generate", json={"model": "levels/slow-smb", "levels": {"width": 1000},
                                                                          "formats": ["txt"]}) as r:
            lines = r.iter_lines()      # kept: dropping the iterator closes the response
            next(lines)
            r2, _ = generate(h, {"model": "levels/smb-rules", "levels": {"width": 50}, "formats": ["txt"]})
            assert r2.status_code == 429 and r2.json()["error"]["code"] == "RESOURCE_EXHAUSTED"
            assert "--max-concurrent" in r2.json()["error"]["message"]
    finally:
        servicer.max_concurrent = limit
    assert wait_for(lambda: server.stats.active == 0)


def test_assets_by_reference(gw):
    _, h, _ = gw
    body = {"model": "levels/smb-rules", "seed": "4", "levels": {"width": 60}, "formats": ["txt", "png"]}
    _, inline = generate(h, body)
    r, lines = generate(h, body, params={"assets": "ref"})
    assert r.status_code == 200
    refs = [line["asset"] for line in lines if "asset" in line]
    assert refs and all("data" not in a and len(a["sha256"]) == 64 for a in refs)
    for a, b in zip(refs, (line["asset"] for line in inline if "asset" in line)):
        fetched = h.get(f"/v1/assets/{a['sha256']}")
        assert fetched.status_code == 200 and fetched.headers["content-type"] == a["mediaType"]
        assert fetched.content == base64.b64decode(b["data"])
    assert h.get("/v1/assets/" + "0" * 64).status_code == 404
    r, _ = generate(h, body, params={"assets": "links"})
    assert r.status_code == 400 and "assets=ref" in r.json()["error"]["message"]


def test_cors_for_browser_builds_only_when_asked(gw):
    server, h, _ = gw
    assert "access-control-allow-origin" not in h.get("/v1/models").headers
    server.server.gateway.cors_origin = "https://game.example"
    try:
        pre = h.options("/v1/generate", headers={"Origin": "https://game.example",
                                                 "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "content-type, x-gamegen-timeout"})
        assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "https://game.example"
        assert "X-Gamegen-Timeout" in pre.headers["access-control-allow-headers"]
        r, lines = generate(h, {"model": "levels/smb-rules", "levels": {"width": 50}, "formats": ["txt"]})
        assert r.headers["access-control-allow-origin"] == "https://game.example" and "final" in lines[-1]
        r, _ = generate(h, {"model": "levels/nope"})
        assert r.status_code == 404 and r.headers["access-control-allow-origin"] == "https://game.example"
    finally:
        server.server.gateway.cors_origin = None


# -- Session over a WebSocket ---------------------------------------------------------------------------

def ws_url(server) -> str:
    return server.http.replace("http://", "ws://") + "/v1/session"


def send(ws, **message) -> None:
    ws.send(json.dumps(message))


def recv(ws) -> dict:
    return json.loads(ws.recv(timeout=10))


def until_end(ws, input_id: int) -> list[dict]:
    out = []
    while True:
        ev = recv(ws)
        out.append(ev)
        if ev.get("inputId") == str(input_id) and ("end" in ev or "error" in ev):
            return out


def test_a_session_over_a_websocket_turns_and_close(gw):
    server, _, gens = gw
    with connect(ws_url(server)) as ws:
        send(ws, open={"model": "dialog/echo", "seed": "1", "dialog": {"persona": {"name": "Brom"}}})
        opened = recv(ws)
        assert opened["opened"]["model"] == "dialog/echo" and opened["opened"]["sessionId"]
        json_format.ParseDict(opened, pb.SessionEvent())
        for turn in (1, 2):
            send(ws, input={"inputId": str(turn), "dialog": {"playerLine": "who goes there"}})
            events = until_end(ws, turn)
            for ev in events:                        # each frame is a SessionEvent in the JSON mapping
                assert json_format.MessageToDict(json_format.ParseDict(ev, pb.SessionEvent())) == ev
            text = "".join(ev["partial"]["textDelta"]["text"] for ev in events if "partial" in ev)
            assert text == f"Brom heard ({turn}): who goes there"
            assert events[-1]["end"]["stopReason"] == "eos"
        # a bad input is an error event for that input; the session goes on
        send(ws, input={"input_id": 3, "dialog": {"player_line": "   "}})
        err = until_end(ws, 3)[-1]
        assert err["error"]["code"] == "INVALID_ARGUMENT" and "player_line" in err["error"]["message"]
        send(ws, close={})
        assert "closed" in recv(ws)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1000
    assert wait_for(lambda: not server.server.servicer.sessions.open)
    assert gens["echo"].closed.is_set()


def test_cancel_over_the_websocket_and_closing_the_socket_frees_the_session(gw):
    server, _, gens = gw
    slow = gens["slow-echo"]
    slow.closed.clear()
    slow.step_closed.clear()
    with connect(ws_url(server)) as ws:
        send(ws, open={"model": "dialog/slow-echo", "dialog": {"persona": {"name": "Slow"}}})
        assert "opened" in recv(ws)
        send(ws, input={"inputId": "1", "dialog": {"playerLine": " ".join(["word"] * 200)}})
        assert "partial" in recv(ws)
        send(ws, cancel={"inputId": "1"})
        assert until_end(ws, 1)[-1]["end"]["stopReason"] == "cancelled"
        assert slow.step_closed.wait(2)
        slow.step_closed.clear()
        send(ws, input={"inputId": "2", "dialog": {"playerLine": " ".join(["word"] * 200)}})
        assert "partial" in recv(ws)
    # the socket closed mid-input, without `close`: the input stops and the session is freed
    assert slow.step_closed.wait(5) and slow.closed.wait(5)
    pulled = slow.pulled
    time.sleep(0.3)
    assert slow.pulled == pulled
    assert wait_for(lambda: not server.server.servicer.sessions.open)


def test_a_dropped_connection_frees_the_session(gw):
    import socket

    server, _, gens = gw
    slow = gens["slow-echo"]
    slow.closed.clear()
    slow.step_closed.clear()
    with connect(ws_url(server)) as ws:
        send(ws, open={"model": "dialog/slow-echo", "dialog": {"persona": {"name": "Crash"}}})
        assert "opened" in recv(ws)
        send(ws, input={"inputId": "1", "dialog": {"playerLine": " ".join(["word"] * 200)}})
        assert "partial" in recv(ws)
        ws.socket.shutdown(socket.SHUT_RDWR)      # the game crashed: no close frame, the TCP connection ends
        assert slow.step_closed.wait(5) and slow.closed.wait(5)
    assert wait_for(lambda: not server.server.servicer.sessions.open)


def test_a_status_that_ends_the_session_is_a_last_frame_then_the_close(gw):
    server, _, _ = gw
    cases = [
        ({"input": {"inputId": "1", "dialog": {"playerLine": "hi"}}}, "FAILED_PRECONDITION", "`open`"),
        ({"open": {"model": "levels/smb-rules"}}, "FAILED_PRECONDITION", "does not hold sessions"),
        ({"open": {"model": "dialog/echo", "dialog": {"persona": {"role": "guard"}}}}, "INVALID_ARGUMENT", "persona.name"),
        ({"open": {"model": "dialog/nope"}}, "NOT_FOUND", "dialog/echo"),
        ({"opne": {}}, "INVALID_ARGUMENT", "opne"),
        ("not json at all", "INVALID_ARGUMENT", "frame 1"),
    ]
    for first, code, words in cases:
        with connect(ws_url(server)) as ws:
            ws.send(first if isinstance(first, str) else json.dumps(first))
            last = recv(ws)
            assert last == {"error": {"code": code, "message": last["error"]["message"]}}, (first, last)
            assert words in last["error"]["message"], (first, last)
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            assert ws.close_code == 1000
    assert wait_for(lambda: not server.server.servicer.sessions.open)


# -- shutdown and the command line --------------------------------------------------------------------

def test_shutdown_reports_not_serving_and_cuts_streams_with_a_status(registry):
    reg = Registry()
    reg.add(Slow(registry.resolve("levels/smb-rules"), "slow-smb", delay=0.05))
    s = ServerThread(reg, http_port=0)
    with httpx.Client(base_url=s.http, timeout=30) as h:
        lines: list[dict] = []
        started = threading.Event()

        def stream():
            with h.stream("POST", "/v1/generate", json={"model": "levels/slow-smb", "levels": {"width": 1000},
                                                                          "formats": ["txt"]}) as r:
                for line in r.iter_lines():
                    lines.append(json.loads(line))
                    started.set()

        t = threading.Thread(target=stream)
        t.start()
        assert started.wait(10)
        stopping = threading.Thread(target=s.call, args=(s.server.stop(1.0),))
        stopping.start()
        assert wait_for(lambda: s.server.gateway.closing)
        r = h.get("/v1/health")
        assert r.status_code == 503 and r.json() == {"status": "NOT_SERVING"}
        r = h.post("/v1/generate", json={"model": "levels/slow-smb", "formats": ["txt"]})
        assert r.status_code == 503 and r.json()["error"]["code"] == "UNAVAILABLE"
        t.join(10)
        stopping.join(10)
    assert lines[-1]["error"]["code"] == "UNAVAILABLE" and not any("final" in line for line in lines)
    s.loop.call_soon_threadsafe(s.loop.stop)
    s.thread.join(5)


def test_serve_starts_the_gateway_on_its_own_port(serve_process):
    assert serve_process.http and not serve_process.http.endswith(serve_process.target.rsplit(":", 1)[1])
    with httpx.Client(base_url=serve_process.http, timeout=30) as h:
        assert h.get("/v1/health").json() == {"status": "SERVING"}
        r, lines = generate(h, {"model": "levels/smb-rules", "seed": "2", "levels": {"width": 50}, "formats": ["txt"]})
        assert r.status_code == 200 and lines[-1]["isLast"]
