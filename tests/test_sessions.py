"""The bidirectional Session stream over a real loopback server: lifecycle, order, cancel, limits,
bad input — driven by a small session-holding generator written as a kind would write one."""

from __future__ import annotations

import threading
import time

import grpc
import pytest

from gamegen.client import Client, FailedPrecondition, InvalidArgument, ResourceExhausted
from gamegen.generators.base import Generator, GeneratorInfo
from gamegen.generators.errors import InvalidArgument as LocalInvalid
from gamegen.generators.events import DialogReply, InputEnd, TextDelta
from gamegen.server.registry import Registry
from gamegen.server.sessions import SessionLimits
from gamegen.v1 import gamegen_pb2 as pb
from gamegen.v1 import gamegen_pb2_grpc as pb_grpc

from .conftest import ServerThread


class EchoSession:
    """Repeats the player's line word by word in the persona's name, remembering the turns."""

    def __init__(self, owner: "Echo", name: str, delay: float):
        self.owner, self.name, self.delay, self.turns = owner, name, delay, 0

    def step(self, value):
        line = value.get("player_line", "")
        if not line.strip():
            raise LocalInvalid("player_line is empty; send the player's words", field="player_line")
        self.turns += 1
        words = f"{self.name} heard ({self.turns}): {line}".split()
        try:
            for i, w in enumerate(words):
                time.sleep(self.delay)
                self.owner.pulled += 1
                yield TextDelta(w if i == 0 else " " + w)
            yield DialogReply(" ".join(words), emotion="neutral", action="none")
            yield InputEnd("eos", (("decode", 1.0),), tokens=len(words))
        finally:
            self.owner.step_closed.set()

    def close(self):
        self.owner.closed.set()


class Echo(Generator):
    def __init__(self, delay: float = 0.0):
        self.info = GeneratorInfo(kind="dialog", name="echo", version="0.0.1", family="test", description="echo",
                                  params=(), formats=("txt",), generator_version=1)
        self.delay = delay
        self.pulled = 0
        self.closed = threading.Event()
        self.step_closed = threading.Event()

    def open_session(self, seed, params, **limits):
        persona = params.get("persona", {})
        if "name" not in persona:
            raise LocalInvalid("persona.name is required: the NPC's name", field="persona.name")
        return EchoSession(self, persona["name"], self.delay)


@pytest.fixture()
def hub(registry):
    reg = Registry()
    fast, slow = Echo(), Echo(delay=0.05)
    fast.info.name, slow.info.name = "echo", "slow-echo"
    reg.add(fast)
    reg.add(slow)
    reg.add(registry.resolve("levels/smb-rules"))
    s = ServerThread(reg)
    s.server.servicer.sessions.limits = SessionLimits(max_sessions=2, idle_timeout=30)
    with Client(s.target, timeout=30) as c:
        yield s, c, fast, slow
    s.stop()


def test_a_conversation_keeps_its_state_and_streams_each_turn(hub):
    server, c, fast, _ = hub
    with c.open_session("dialog/echo", seed=1, params={"persona": {"name": "Brom"}}) as s:
        assert s.opened.model == "dialog/echo" and s.session_id
        for turn in (1, 2):
            events = list(s.send({"player_line": "who goes there"}))
            deltas = "".join(e.text for e in events if isinstance(e, TextDelta))
            assert deltas == f"Brom heard ({turn}): who goes there"
            assert isinstance(events[-2], DialogReply) and events[-2].line == deltas
            assert isinstance(events[-1], InputEnd) and events[-1].stop_reason == "eos"
    assert fast.closed.wait(5)
    assert not server.server.servicer.sessions.open


def test_bad_inputs_are_clear_and_leave_the_session_usable(hub):
    _, c, _, _ = hub
    with pytest.raises(InvalidArgument) as ei:
        c.open_session("dialog/echo", params={"persona": {"role": "guard"}})
    assert "persona.name" in ei.value.details
    with pytest.raises(FailedPrecondition) as ei:
        c.open_session("levels/smb-rules", params={})
    assert "does not hold sessions" in ei.value.details and "dialog/echo" in ei.value.details
    with c.open_session("dialog/echo", params={"persona": {"name": "Ysolde"}}) as s:
        with pytest.raises(InvalidArgument) as ei:
            list(s.send({"player_line": "   "}))
        assert "player_line" in ei.value.details
        assert "".join(e.text for e in s.send({"player_line": "hello"}) if isinstance(e, TextDelta)).endswith("hello")
        with pytest.raises(InvalidArgument):
            list(s.send({"no_such_field": 1}))     # refused by the client before sending


def test_input_before_open_and_second_open_are_refused(hub):
    server, _, _, _ = hub
    stub = pb_grpc.GameGenStub(grpc.insecure_channel(server.target))
    reqs = [pb.SessionRequest(input=pb.SessionInput(input_id=1, dialog=pb.DialogTurn(player_line="hi")))]
    with pytest.raises(grpc.RpcError) as ei:
        list(stub.Session(iter(reqs), timeout=10))
    assert ei.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "`open`" in ei.value.details()
    reqs = [pb.SessionRequest(open=pb.SessionOpen(model="dialog/echo", dialog=pb.DialogOpen(
                persona=pb.DialogPersona(name="A")))),
            pb.SessionRequest(open=pb.SessionOpen(model="dialog/echo"))]
    events = list(stub.Session(iter(reqs), timeout=10))
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds == ["opened", "error", "closed"] and "already open" in events[1].error.message


def test_a_turn_while_another_runs_gets_an_error_and_cancel_stops_decoding(hub):
    _, c, _, slow = hub
    with c.open_session("dialog/slow-echo", params={"persona": {"name": "Slow"}}) as s:
        events = s.send({"player_line": " ".join(["word"] * 200)})
        first = next(events)
        assert isinstance(first, TextDelta)
        # a second input while the first runs: an error for it, the first goes on
        s._queue.put(pb.SessionRequest(input=pb.SessionInput(input_id=99, dialog=pb.DialogTurn(player_line="x"))))
        t0 = time.perf_counter()
        s.cancel()
        rest = list(events)
        assert isinstance(rest[-1], InputEnd) and rest[-1].stop_reason == "cancelled"
        assert time.perf_counter() - t0 < 1.0 and slow.step_closed.wait(2)
        pulled = slow.pulled
        time.sleep(0.3)
        assert slow.pulled == pulled < 100          # decoding really stopped
        out = list(s.send({"player_line": "again"}))   # still usable
        assert out[-1].stop_reason == "eos"


def test_leaving_the_loop_cancels_and_a_vanished_client_frees_the_session(hub):
    server, c, _, slow = hub
    s = c.open_session("dialog/slow-echo", params={"persona": {"name": "Gone"}})
    for ev in s.send({"player_line": " ".join(["word"] * 200)}):
        break                                       # leaving the loop cancels the input
    assert slow.step_closed.wait(2)
    s._call.cancel()                                 # the client goes away without `close`
    assert slow.closed.wait(5)
    deadline = time.time() + 5
    while server.server.servicer.sessions.open and time.time() < deadline:
        time.sleep(0.05)
    assert not server.server.servicer.sessions.open


def test_session_limit_and_idle_timeout(hub):
    server, c, _, _ = hub
    a = c.open_session("dialog/echo", params={"persona": {"name": "A"}})
    b = c.open_session("dialog/echo", params={"persona": {"name": "B"}})
    with pytest.raises(ResourceExhausted) as ei:
        c.open_session("dialog/echo", params={"persona": {"name": "C"}})
    assert "--max-sessions" in ei.value.details
    a.close()
    b.close()
    server.server.servicer.sessions.limits = SessionLimits(max_sessions=2, idle_timeout=0.3)
    s = c.open_session("dialog/echo", params={"persona": {"name": "Idle"}})
    time.sleep(0.8)
    from gamegen.client import DeadlineExceeded, GameGenError

    with pytest.raises(GameGenError) as ei:
        list(s.send({"player_line": "still there?"}))
    assert isinstance(ei.value, DeadlineExceeded) and "idle" in ei.value.details


def test_list_models_says_which_models_hold_sessions(hub):
    _, c, _, _ = hub
    flags = {f"{m.kind}/{m.name}": m.sessions for m in c.list_models()}
    assert flags == {"dialog/echo": True, "dialog/slow-echo": True, "levels/smb-rules": False}


def test_invalid_utf8_is_invalid_argument_and_the_session_goes_on(hub):
    server, _, _, _ = hub
    channel = grpc.insecure_channel(server.target)
    session = channel.stream_stream("/gamegen.v1.GameGen/Session", request_serializer=lambda b: b,
                                    response_deserializer=pb.SessionEvent.FromString)

    def raw(msg, bad=False):
        data = msg.SerializeToString()
        return data.replace(b"QQQQ", b"\xff\xfe\xfd\xfc") if bad else data

    turn = lambda i, line: pb.SessionRequest(input=pb.SessionInput(input_id=i, dialog=pb.DialogTurn(player_line=line)))
    reqs = [raw(pb.SessionRequest(open=pb.SessionOpen(model="dialog/echo", dialog=pb.DialogOpen(
                persona=pb.DialogPersona(name="U"))))),
            raw(turn(1, "QQQQ"), bad=True), raw(turn(2, "fine"))]
    events = list(session(iter(reqs), timeout=10))
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[:2] == ["opened", "error"] and events[1].error.code == "INVALID_ARGUMENT"
    assert "could not be decoded" in events[1].error.message
    assert events[-2].WhichOneof("event") == "end" and events[-2].input_id == 2 and kinds[-1] == "closed"
    # a Generate request with bad UTF-8 in a string field is INVALID_ARGUMENT too (not UNKNOWN)
    generate = channel.unary_stream("/gamegen.v1.GameGen/Generate", request_serializer=lambda b: b,
                                    response_deserializer=pb.GenerateEvent.FromString)
    bad = pb.GenerateRequest(model="levels/smb-rules", formats=["txt"], dialog=pb.DialogParams(topic="QQQQ"))
    with pytest.raises(grpc.RpcError) as ei:
        list(generate(raw(bad, bad=True), timeout=10))
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
