"""Between wire messages (gamegen.v1) and the generators' plain events and parameter dicts."""

from __future__ import annotations

from typing import Any

import numpy as np

from gamegen.generators import events as ev
from gamegen.generators.base import Generator, GeneratorInfo
from gamegen.generators.errors import Internal
from gamegen.generators.params import ParamError
from gamegen.v1 import gamegen_pb2 as pb

_PTYPE = {
    "int": pb.PARAMETER_TYPE_INT,
    "float": pb.PARAMETER_TYPE_FLOAT,
    "bool": pb.PARAMETER_TYPE_BOOL,
    "choice": pb.PARAMETER_TYPE_CHOICE,
    "bytes": pb.PARAMETER_TYPE_BYTES,
    "text": pb.PARAMETER_TYPE_TEXT,
}

# The GenerateRequest.params oneof member that carries each kind's parameters is named after
# the kind ("levels", "terrain", "textures", "music", "dialog").
PARAMS_FIELDS = tuple(f.name for f in pb.GenerateRequest.DESCRIPTOR.oneofs_by_name["params"].fields)


def params_field(kind: str) -> str:
    if kind not in PARAMS_FIELDS:
        raise ParamError("params", f"kind {kind!r} has no parameter message; kinds: {', '.join(PARAMS_FIELDS)}")
    return kind


def model_info(info: GeneratorInfo) -> pb.ModelInfo:
    return pb.ModelInfo(
        kind=info.kind, name=info.name, version=info.version, family=info.family,
        description=info.description, execution_provider=info.execution_provider,
        parameters=[
            pb.ParameterInfo(
                name=p.name, type=_PTYPE[p.type], doc=p.doc,
                min=float(p.lo) if p.lo is not None else 0.0, max=float(p.hi) if p.hi is not None else 0.0,
                choices=[str(c) for c in p.choices], default_value=p.text(p.default),
                accepts=p.what if p.type == "bytes" else "", required=p.required, multiple_of=p.multiple_of or 0,
            )
            for p in info.params
        ],
        rules=[r.doc for r in info.rules], sessions=info.sessions,
        output_formats=list(info.formats), sha256=info.sha256,
        tiles=[pb.TileInfo(symbol=s, tags=list(tags), tile_id=i) for i, (s, tags) in enumerate(info.tiles)],
        generator_version=info.generator_version,
    )


def params_from_request(req: pb.GenerateRequest, gen: Generator) -> dict[str, Any]:
    """The set fields of the request's typed parameters, checked against the model's kind."""
    which = req.WhichOneof("params")
    expected = params_field(gen.info.kind)
    if which is None:
        return {}
    if which != expected:
        raise ParamError(
            "params", f"model {gen.info.ref} takes `{expected}` parameters, but the request sets `{which}`"
        )
    msg = getattr(req, which)
    return {fd.name: value for fd, value in msg.ListFields()}


def request_for(ref: str, seed: int, params: dict[str, Any], formats: list[str], kind: str,
                partials: bool = True, validate_only: bool = False) -> pb.GenerateRequest:
    """Build a GenerateRequest from plain values (clients, CLI, bake)."""
    req = pb.GenerateRequest(model=ref, seed=seed, formats=list(formats), partials=partials,
                             validate_only=validate_only)
    sub = getattr(req, params_field(kind))
    sub.SetInParent()
    for name, value in params.items():
        try:
            setattr(sub, name, value)
        except AttributeError:
            raise ParamError(name, f"{name} is not a field of {type(sub).__name__}") from None
        except (TypeError, ValueError) as e:
            raise ParamError(name, f"{name}={value!r} does not fit the wire type: {e}") from None
    return req


def event_to_proto(e: ev.Event) -> pb.GenerateEvent:
    if isinstance(e, ev.Progress):
        return pb.GenerateEvent(progress=pb.Progress(fraction=e.fraction, stage=e.stage, message=e.message))
    if isinstance(e, ev.LevelChunk):
        return pb.GenerateEvent(partial=pb.PartialContent(level_chunk=pb.LevelChunk(
            x=e.x, y=e.y, width=e.width, height=e.height, rows=list(e.rows),
            level_width=e.level_width, level_height=e.level_height)))
    if isinstance(e, ev.MusicBar):
        return pb.GenerateEvent(partial=pb.PartialContent(music_bar=pb.MusicBar(
            index=e.index, total_bars=e.total_bars, start_beat=e.start_beat, length_beats=e.length_beats,
            notes=[pb.NoteEvent(track=n.track, pitch=n.pitch, start=n.start, duration=n.duration,
                                velocity=n.velocity) for n in e.notes])))
    if isinstance(e, ev.Asset):
        return pb.GenerateEvent(asset=pb.Asset(name=e.name, media_type=e.media_type, data=e.data,
                                               format=e.format, sha256=e.sha256))
    if isinstance(e, ev.Final):
        return pb.GenerateEvent(is_last=True, final=pb.Final(
            model=e.model, version=e.version, seed=e.seed,
            parameters=[pb.Parameter(name=n, value=v) for n, v in e.parameters],
            content_hash=e.content_hash, execution_provider=e.execution_provider,
            timings=[pb.Timing(stage=s, milliseconds=ms) for s, ms in e.timings_ms],
            attempts=e.attempts, repaired_tiles=e.repaired_tiles, generator_version=e.generator_version))
    raise TypeError(f"unknown event {e!r}")


def event_from_proto(m: pb.GenerateEvent) -> ev.Event:
    which = m.WhichOneof("event")
    if which == "progress":
        return ev.Progress(m.progress.fraction, m.progress.stage, m.progress.message)
    if which == "partial":
        part = m.partial.WhichOneof("content")
        if part == "level_chunk":
            c = m.partial.level_chunk
            return ev.LevelChunk(x=c.x, y=c.y, rows=tuple(c.rows), level_width=c.level_width,
                                 level_height=c.level_height)
        if part == "music_bar":
            b = m.partial.music_bar
            return ev.MusicBar(index=b.index, total_bars=b.total_bars, start_beat=b.start_beat,
                               length_beats=b.length_beats,
                               notes=tuple(ev.Note(n.track, n.pitch, n.start, n.duration, n.velocity)
                                           for n in b.notes))
        raise Internal(f"partial content of a type this client does not know ({part!r}); update the client")
    if which == "asset":
        return ev.Asset(name=m.asset.name, media_type=m.asset.media_type, data=m.asset.data, format=m.asset.format)
    if which == "final":
        f = m.final
        return ev.Final(
            model=f.model, version=f.version, seed=f.seed,
            parameters=tuple((p.name, p.value) for p in f.parameters), content_hash=f.content_hash,
            execution_provider=f.execution_provider, generator_version=f.generator_version,
            timings_ms=tuple((t.stage, t.milliseconds) for t in f.timings), attempts=f.attempts,
            repaired_tiles=f.repaired_tiles)
    raise Internal(f"event with no content or of a type this client does not know: {m!r:.200}")


_PTYPE_NAME = {v: k for k, v in _PTYPE.items()}


def info_from_proto(m: pb.ModelInfo) -> GeneratorInfo:
    """A remote model's description in the same shape as a local generator's."""
    from gamegen.generators.params import Param, Rule

    params = []
    for p in m.parameters:
        t = _PTYPE_NAME.get(p.type, "float")
        if t == "int":
            default: Any = int(p.default_value)
        elif t == "float":
            default = float(p.default_value)
        elif t == "bool":
            default = p.default_value == "true"
        elif t == "bytes":
            default = None
        else:
            default = p.default_value
        numeric = t in ("int", "float", "bytes", "text")
        choices = tuple(int(c) for c in p.choices) if t == "int" else tuple(p.choices)
        params.append(Param(p.name, t, default, p.doc, lo=p.min if numeric else None,
                            hi=p.max if numeric else None, choices=choices,
                            what=p.accepts or "a file", required=p.required, multiple_of=p.multiple_of or None))
    return GeneratorInfo(
        kind=m.kind, name=m.name, version=m.version, family=m.family, description=m.description,
        params=tuple(params), formats=tuple(m.output_formats), generator_version=m.generator_version,
        execution_provider=m.execution_provider, sha256=m.sha256,
        tiles=tuple((t.symbol, tuple(t.tags)) for t in m.tiles),
        rules=tuple(Rule((), doc, _server_checks) for doc in m.rules), sessions=m.sessions,
    )


def _server_checks(values) -> None:
    """A remote model's cross-field rules are checked by the server (``validate_only``)."""
    return None


# -- sessions ------------------------------------------------------------------------------------

def session_message_params(msg, oneof: str, gen: Generator, what: str) -> dict[str, Any]:
    """A SessionOpen / SessionInput's kind-specific member as a plain dict (nested messages as
    dicts, repeated fields as lists, unset fields absent), checked against the model's kind."""
    from google.protobuf import json_format

    which = msg.WhichOneof(oneof)
    if which is None:
        return {}
    if which != gen.info.kind:
        raise ParamError(oneof, f"model {gen.info.ref} takes `{gen.info.kind}` {what}, but the message sets `{which}`")
    if which == "npc":   # thousands of agents per tick: read the fields directly (no enums, no JSON mapping)
        return _plain(getattr(msg, which), arrays=("NpcObservationBlock",))
    return json_format.MessageToDict(getattr(msg, which), preserving_proto_field_name=True)


def _plain(m, arrays: tuple[str, ...] = ()) -> dict[str, Any]:
    """A message as a dict of its set fields (nested messages as dicts, repeated as lists); 64-bit
    integers stay ints, where the JSON mapping would make them strings. In messages named in
    ``arrays`` (packed blocks), repeated numbers come as numpy arrays, copied in one go."""
    out: dict[str, Any] = {}
    packed = m.DESCRIPTOR.name in arrays
    for f, v in m.ListFields():
        if f.message_type is not None:
            out[f.name] = [_plain(x, arrays) for x in v] if f.is_repeated else _plain(v, arrays)
        elif packed and f.is_repeated and f.type != f.TYPE_STRING:
            out[f.name] = np.asarray(v, bool if f.type == f.TYPE_BOOL else np.float32)
        else:
            out[f.name] = list(v) if f.is_repeated else v
    return out


def session_event_to_proto(input_id: int, e: ev.Event) -> pb.SessionEvent:
    if isinstance(e, ev.TextDelta):
        return pb.SessionEvent(input_id=input_id, partial=pb.PartialContent(text_delta=pb.TextDelta(text=e.text)))
    if isinstance(e, ev.DialogReply):
        return pb.SessionEvent(input_id=input_id, dialog_reply=pb.DialogReply(line=e.line, emotion=e.emotion,
                                                                              action=e.action))
    if isinstance(e, ev.NpcActions) and e.block is not None:
        b = e.block
        return pb.SessionEvent(input_id=input_id, npc_actions=pb.NpcActions(block=pb.NpcActionBlock(
            action=b.action.tolist(), direction=b.direction.ravel().tolist(), discrete=b.discrete.ravel().tolist(),
            continuous=b.continuous.ravel().tolist(), discrete_branches=b.discrete.shape[1],
            continuous_dims=b.continuous.shape[1], names=list(b.names))))
    if isinstance(e, ev.NpcActions):
        return pb.SessionEvent(input_id=input_id, npc_actions=pb.NpcActions(actions=[
            pb.NpcAction(agent_id=a.agent_id, action=a.action, name=a.name,
                         direction=pb.Vec2(x=a.direction[0], y=a.direction[1]), discrete=list(a.discrete),
                         continuous=list(a.continuous)) for a in e.actions]))
    if isinstance(e, ev.InputEnd):
        return pb.SessionEvent(input_id=input_id, end=pb.InputEnd(
            stop_reason=e.stop_reason, tokens=e.tokens,
            timings=[pb.Timing(stage=s, milliseconds=ms) for s, ms in e.timings_ms]))
    if isinstance(e, ev.Progress):
        return pb.SessionEvent(input_id=input_id, progress=pb.Progress(fraction=e.fraction, stage=e.stage,
                                                                       message=e.message))
    raise TypeError(f"event {e!r} has no place in a session stream")


def session_event_from_proto(m: pb.SessionEvent):
    """(input_id, event) for the events a session input causes; other events come back as messages."""
    which = m.WhichOneof("event")
    if which == "partial" and m.partial.WhichOneof("content") == "text_delta":
        return m.input_id, ev.TextDelta(m.partial.text_delta.text)
    if which == "dialog_reply":
        r = m.dialog_reply
        return m.input_id, ev.DialogReply(r.line, r.emotion, r.action)
    if which == "npc_actions" and m.npc_actions.HasField("block"):
        b = m.npc_actions.block
        n = len(b.action)
        return m.input_id, ev.NpcActions((), block=ev.NpcActionBlock(
            np.asarray(b.action, np.int64), np.asarray(b.direction, np.float32).reshape(n, 2),
            np.asarray(b.discrete, np.int64).reshape(n, b.discrete_branches),
            np.asarray(b.continuous, np.float32).reshape(n, b.continuous_dims), tuple(b.names)))
    if which == "npc_actions":
        return m.input_id, ev.NpcActions(tuple(
            ev.NpcAction(a.agent_id, a.action, a.name, (a.direction.x, a.direction.y), tuple(a.discrete),
                         tuple(a.continuous)) for a in m.npc_actions.actions))
    if which == "end":
        return m.input_id, ev.InputEnd(m.end.stop_reason, tuple((t.stage, t.milliseconds) for t in m.end.timings),
                                       m.end.tokens)
    if which == "progress":
        return m.input_id, ev.Progress(m.progress.fraction, m.progress.stage, m.progress.message)
    return m.input_id, getattr(m, which) if which else None
