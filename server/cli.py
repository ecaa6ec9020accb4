"""The ``gamegen`` command: serve, models, generate, bake, chat, export.

``generate``, ``models``, ``bake`` and ``chat`` run in-process through the same generator code as the
server, or against a running server with ``--server HOST:PORT``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from gamegen.generators.errors import GameGenError
from gamegen.generators.events import Asset, Final, LevelChunk
from gamegen.generators.events import Progress as ProgressEvent
from gamegen.generators.params import parse_assignments

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="gamegen: generate game content (levels, ...) in-process or over gRPC.")
err = Console(stderr=True, soft_wrap=True)  # messages stay on one line: greppable in CI logs
out = Console(soft_wrap=True)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1

# Textures generators stream a low-resolution ``preview.png`` as a partial result; it is not one
# of the model's formats. The CLI writes it only when ``--format preview`` is asked for.
PREVIEW = "preview"
PREVIEW_KINDS = ("textures",)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> "typer.Exit":
    # User text (bake hints such as "[[asset]]", paths, server messages) is escaped: rich would
    # take anything in square brackets for markup and swallow it.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def check_out_dir(folder: Path, flag: str = "--out") -> None:
    """Fail now (before any generation) unless ``folder`` is, or can be created as, a writable folder.

    Nothing is created: the nearest existing ancestor must be a folder we can create files in.
    """
    folder = Path(folder)
    probe = folder
    while not probe.exists() and not probe.is_symlink():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe == folder else f"is inside {str(probe)!r}, which is a file, not a folder"
        raise _fail(f"{flag} {str(folder)!r} {what}; give a folder to write the assets into")
    try:
        with tempfile.TemporaryFile(dir=probe, prefix=".gamegen-write-check-"):
            pass
    except OSError as e:
        where = "" if probe == folder else f" (its nearest existing folder {str(probe)!r} is not writable)"
        raise _fail(f"{flag} {str(folder)!r} cannot be written{where}: {e.strerror or e}")


def _backend(server: Optional[str], models: Optional[Path], device: str = "cpu"):
    from .backends import LocalBackend, RemoteBackend

    if server:
        return RemoteBackend(server)
    try:
        return LocalBackend(models, device=device)
    except FileNotFoundError as e:
        raise _fail(str(e))


def _fail_error(e: Exception, server: Optional[str] = None) -> "typer.Exit":
    """One line for any error of the hierarchy (bad input: exit 2, else 1); re-raise anything else."""
    if not isinstance(e, GameGenError):
        raise e
    if e.status == "UNAVAILABLE" and server:
        return _fail(f"cannot reach a gamegen server at {server} (is `gamegen serve` running there?): "
                     f"{e.details}", EXIT_FAILED)
    return _fail(str(e), EXIT_BAD_INPUT if e.status in ("INVALID_ARGUMENT", "NOT_FOUND") else EXIT_FAILED)


@app.command()
def serve(
    models: Optional[Path] = typer.Option(None, help="model repository (default: the bundled models/)"),
    host: str = typer.Option("127.0.0.1", help="address to bind; 0.0.0.0 for all interfaces"),
    port: int = typer.Option(50051, help="port to listen on (0 picks a free one)"),
    device: str = typer.Option("auto", help="auto (CUDA when usable, else CPU), cpu, or cuda"),
    max_concurrent: int = typer.Option(8, help="streams admitted at once (running + waiting for a worker)"),
    queue: int = typer.Option(16, help="callers that may wait for a slot past --max-concurrent; more get RESOURCE_EXHAUSTED"),
    queue_timeout: float = typer.Option(10.0, help="seconds a caller waits in that queue before RESOURCE_EXHAUSTED"),
    workers: int = typer.Option(0, help="generations running in parallel; 0 = number of CPU cores"),
    stall_timeout: float = typer.Option(30.0, help="cancel a stream whose client has read nothing for this many seconds (0 = never)"),
    send_buffer_mb: float = typer.Option(16.0, help="MB per stream that may wait to be sent; the generator pauses past it"),
    grace: float = typer.Option(10.0, help="seconds to drain in-flight streams on SIGINT/SIGTERM (a second signal exits at once)"),
    ort_threads: int = typer.Option(1, help="ONNX Runtime intra-op threads per session (0 = all cores)"),
    max_sessions: int = typer.Option(64, help="Session streams (dialog, NPC) open at once; more get RESOURCE_EXHAUSTED"),
    session_idle_timeout: float = typer.Option(600.0, help="seconds without a message before a Session is closed"),
    max_npc_agents: int = typer.Option(4096, help="agents in one NPC Session scene; joins past it get RESOURCE_EXHAUSTED"),
    http_port: int = typer.Option(50052, help="HTTP/WebSocket gateway port (JSON, NDJSON streams, sessions); "
                                             "0 picks a free one"),
    no_http: bool = typer.Option(False, "--no-http", help="serve gRPC only, no HTTP/WebSocket gateway"),
    http_cors_origin: Optional[str] = typer.Option(None, help="let browser pages from this origin (or *) call "
                                                           "the gateway (WebGL builds); default: no CORS headers"),
    log_level: str = typer.Option("info", help="debug, info, warning, error"),
):
    """Run the gRPC server (and the HTTP/WebSocket gateway beside it) on a model repository."""
    from .app import GameGenServer
    from .registry import load_registry
    from .sessions import SessionLimits

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if device not in ("auto", "cpu", "cuda"):
        raise _fail(f"--device must be auto, cpu or cuda, got {device!r}")
    if max_concurrent < 1:
        raise _fail(f"--max-concurrent must be at least 1, got {max_concurrent}")
    if not (0 <= port <= 65535):
        raise _fail(f"--port must be from 0 to 65535, got {port}")
    if not no_http and not (0 <= http_port <= 65535):
        raise _fail(f"--http-port must be from 0 to 65535, got {http_port} (or --no-http to turn the gateway off)")
    if not no_http and http_port and http_port == port:
        raise _fail(f"--http-port and --port are both {port}; give the gateway its own port")
    if workers < 0:
        raise _fail(f"--workers must be 0 (one per core) or more, got {workers}")
    if max_sessions < 1:
        raise _fail(f"--max-sessions must be at least 1, got {max_sessions}")
    if max_npc_agents < 1:
        raise _fail(f"--max-npc-agents must be at least 1, got {max_npc_agents}")
    if not session_idle_timeout > 0:
        raise _fail(f"--session-idle-timeout must be more than 0 seconds, got {session_idle_timeout}")
    if ort_threads < 0:
        raise _fail(f"--ort-threads must be 0 (ORT default) or more, got {ort_threads}")
    for name, value in (("--queue", queue), ("--queue-timeout", queue_timeout), ("--stall-timeout", stall_timeout),
                        ("--grace", grace)):
        if value < 0:
            raise _fail(f"{name} must be 0 or more, got {value:g}")
    if not send_buffer_mb > 0:
        raise _fail(f"--send-buffer-mb must be more than 0, got {send_buffer_mb:g}")
    busy = _port_in_use(host, port) or (None if no_http else _port_in_use(host, http_port, "--http-port"))
    if busy:  # checked before loading every model, not after
        raise _fail(busy)
    try:
        registry = load_registry(models, device=device, threads=ort_threads)
    except (FileNotFoundError, RuntimeError) as e:
        raise _fail(str(e))
    for path, reason in registry.refused:
        err.print(f"[yellow]refused[/] {escape(path)}: {escape(reason)}", highlight=False)
    if device == "cuda" and any("CUDA" in reason for _, reason in registry.refused):
        raise _fail("--device cuda: the CUDA execution provider is not usable on this machine; "
                    "use --device auto (falls back to CPU) or --device cpu")

    server = GameGenServer(registry, host=host, port=port, max_concurrent=max_concurrent, workers=workers or None,
                           queue_size=queue, queue_timeout=queue_timeout, stall_timeout=stall_timeout,
                           send_buffer=max(1, int(send_buffer_mb * (1 << 20))),
                           session_limits=SessionLimits(max_sessions, session_idle_timeout, max_npc_agents),
                           http_port=None if no_http else http_port, http_cors_origin=http_cors_origin)

    async def main() -> None:
        try:
            bound = await server.start()
        except OSError as e:
            raise _fail(f"{e}; pick another with --port")
        names = ", ".join(f"{g.info.ref}@{g.info.version} [{g.info.execution_provider}]" for g in registry.all())
        print(f"gamegen serving on {host}:{bound}: {names}", flush=True)
        if server.http_port is not None:
            print(f"gamegen HTTP/WebSocket gateway on http://{host}:{server.http_port}/v1/ "
                  f"(models, generate, session, health)", flush=True)
        await server.serve_until_signal(grace)

    asyncio.run(main())
    if not server.drained:  # a generation thread ignored its cancel: do not wait for it at exit
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)


def _port_in_use(host: str, port: int, flag: str = "--port") -> Optional[str]:
    """A one-line reason when ``host:port`` cannot be bound (checked before the models load)."""
    import errno
    import socket

    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        return f"--host {host!r} is not an address this machine can bind: {e.strerror}"
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC does: TIME_WAIT is no conflict
        try:
            s.bind(addr)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return (f"port {port} on {host} is already in use (another `gamegen serve`?); "
                        f"stop it or pick another with {flag}")
            return f"cannot listen on {host}:{port}: {e.strerror}"
    return None


@app.command("models")
def list_models(
    server: Optional[str] = typer.Option(None, help="HOST:PORT of a running server (default: in-process)"),
    models: Optional[Path] = typer.Option(None, help="model repository for in-process use"),
    kind: str = typer.Option("", help="only this kind, e.g. levels"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable: a JSON array, one object per model"),
):
    """List the models with kind, version, parameters and execution provider."""
    backend = _backend(server, models)
    try:
        infos = [i for i in backend.models() if not kind or i.kind == kind]
    except Exception as e:
        raise _fail_error(e, server)
    if as_json:
        print(json.dumps([model_json(i) for i in infos], indent=2, ensure_ascii=False))
        return
    # Plain text wrapped to the terminal (80 columns when piped): nothing is cut off, and a
    # narrow terminal or a log file gets every word of every parameter's description.
    width = max(40, out.width)
    lines = [f"models ({backend.where})"]
    for i in infos:
        lines += [""] + _wrap(f"{i.ref} {i.version}  family={i.family}  provider={i.execution_provider}", width,
                              "", "    ")
        lines += _wrap(f"formats: {', '.join(i.formats)}", width, "  ")
        if i.description:
            lines += _wrap(i.description, width, "  ")
        for p in i.params:
            lines += _wrap(f"{p.name}: {p.allowed()}; default {p.text(p.default)}", width, "  ", "      ")
            lines += _wrap(p.doc, width, "      ")
    out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


def _wrap(text: str, width: int, indent: str, rest: Optional[str] = None) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent if rest is None else rest,
                         break_on_hyphens=False) or [indent.rstrip()]


def _num(p, v):
    return None if v is None else (float(v) if p.type == "float" else int(v))


def model_json(info) -> dict:
    """One model as ``gamegen models --json`` prints it (the fields ListModels carries)."""
    return {
        "ref": info.ref, "kind": info.kind, "name": info.name, "version": info.version, "family": info.family,
        "description": info.description, "execution_provider": info.execution_provider,
        "formats": list(info.formats),
        "params": [{
            "name": p.name, "type": p.type, "default": None if p.type == "bytes" else p.default,
            "allowed": p.allowed(), "doc": p.doc,
            **({"min": _num(p, p.lo), "max": _num(p, p.hi)} if p.type in ("int", "float", "bytes") else {}),
            **({"choices": list(p.choices)} if p.choices else {}),
            **({"multiple_of": p.multiple_of} if p.multiple_of else {}),
            "required": p.required,
        } for p in info.params],
        "rules": [r.doc for r in info.rules],
        "sessions": info.sessions,
    }


@app.command()
def generate(
    model: str = typer.Argument(..., help="kind/name[@version], e.g. levels/smb"),
    seed: int = typer.Option(0, help="seed (0 to 2^64-1); same seed + parameters -> same bytes"),
    set_: List[str] = typer.Option([], "--set", help="parameter as key=value; repeat for several; a file parameter takes key=@path"),
    format_: List[str] = typer.Option([], "--format", "-f", help="output format; repeat; default: all the model "
                                      "offers; textures also take `preview` (the low-resolution preview.png)"),
    out_dir: Path = typer.Option(Path("out"), "--out", help="folder to write the assets into"),
    server: Optional[str] = typer.Option(None, help="HOST:PORT of a running server (default: in-process)"),
    models: Optional[Path] = typer.Option(None, help="model repository for in-process use"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
):
    """Generate one piece of content and write its assets into --out."""
    if not (0 <= seed < 2**64):
        raise _fail(f"seed must be an integer from 0 to 2^64-1, got {seed}")
    backend = _backend(server, models)
    try:
        info = backend.info(model)
        params = parse_assignments(info.params, set_, where=info.ref)
        want_preview = PREVIEW in format_ and info.kind in PREVIEW_KINDS
        formats = [f for f in format_ if not want_preview or f != PREVIEW]
        if want_preview and not formats:
            formats = list(info.formats[:1])  # the preview comes with the first map; only it is written
        formats = formats or list(info.formats)
        wanted = set(formats if not format_ else format_)
    except Exception as e:
        raise _fail_error(e, server)
    check_out_dir(out_dir)  # before generating: a bad --out must not cost the result
    try:
        events = backend.generate(model, seed, params, formats)
        assets: list[Asset] = []
        final: Optional[Final] = None
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[msg]}"),
                      TimeElapsedColumn(), console=err, disable=quiet, transient=True) as bar:
            task = bar.add_task(escape(model), total=1.0, msg="")
            for ev in events:
                if isinstance(ev, ProgressEvent):
                    bar.update(task, completed=ev.fraction, msg=escape(f"{ev.stage} {ev.message}"))
                elif isinstance(ev, LevelChunk):
                    bar.update(task, msg=f"columns {ev.x}..{ev.x + ev.width}/{ev.level_width}")
                elif isinstance(ev, Asset):
                    if ev.format in wanted:  # only what was asked for (a preview only with -f preview)
                        assets.append(ev)
                elif isinstance(ev, Final):
                    final = ev
                    bar.update(task, completed=1.0)
    except Exception as e:
        raise _fail_error(e, server)
    if final is None:
        raise _fail("the stream ended without a final event", EXIT_FAILED)
    try:
        written = write_assets(out_dir, assets)
    except OSError as e:
        raise _fail(f"cannot write into --out {str(out_dir)!r}: {e.strerror or e}", EXIT_FAILED)
    for p in written:
        out.print(str(p), markup=False, highlight=False)
    if not quiet:
        ms = ", ".join(f"{s} {v:.1f} ms" for s, v in final.timings_ms)
        err.print(f"{final.model}@{final.version} seed={final.seed} [{final.execution_provider}] "
                  f"content {final.content_hash[:16]} ({ms})", markup=False, highlight=False)


def write_assets(folder: Path, assets: list[Asset]) -> list[Path]:
    """Write every asset, each through a temp file + rename: no half-written files."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for a in assets:
        dest = folder / a.name
        tmp = folder / f".{a.name}.tmp-{os.getpid()}"
        tmp.write_bytes(a.data)
        os.replace(tmp, dest)
        paths.append(dest)
    return paths


@app.command()
def bake(
    bake_file: Path = typer.Argument(..., help="bake.toml listing the assets"),
    out_dir: Path = typer.Option(Path("baked"), "--out", help="output folder, e.g. Assets/Generated"),
    server: Optional[str] = typer.Option(None, help="HOST:PORT of a running server (default: in-process)"),
    models: Optional[Path] = typer.Option(None, help="model repository for in-process use"),
    jobs: int = typer.Option(2, help="assets baked in parallel"),
    force: bool = typer.Option(False, help="re-bake even what is up to date"),
):
    """Bake a list of assets reproducibly; reruns skip what is up to date."""
    from .bake import Baker, load_bake_file

    backend = _backend(server, models)
    try:
        items = load_bake_file(bake_file, backend)
    except Exception as e:
        raise _fail_error(e, server)
    check_out_dir(out_dir)
    with Progress(TextColumn("[bold]bake"), BarColumn(), TextColumn("{task.completed}/{task.total} {task.fields[msg]}"),
                  console=err, transient=True) as bar:
        task = bar.add_task("bake", total=len(items), msg="")

        def on_event(name: str, status: str) -> None:
            bar.update(task, advance=1, msg=escape(f"{name}: {status}"))
            if status.startswith("failed"):
                err.print(f"[red]{escape(name)}[/]: {escape(status)}", highlight=False)

        report = Baker(backend, out_dir, jobs=jobs, force=force, on_event=on_event).run(items)
    out.print(f"baked {len(report.baked)}, up to date {len(report.skipped)}, failed {len(report.failed)} "
              f"-> {out_dir}", markup=False, highlight=False)
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def chat(
    model: str = typer.Argument(..., help="a dialog LLM, e.g. dialog/dialog-smollm2"),
    persona: str = typer.Option(..., help="the NPC's persona card: @path/to/card.toml (or a path; see "
                                "generators/dialog/personas/)"),
    seed: int = typer.Option(0, help="seed (0 to 2^64-1); same seed + lines -> same replies"),
    structured: bool = typer.Option(False, "--structured", help="each reply also names an emotion and an action "
                                    "(constrained decoding; the card's `emotions`/`actions`, else the defaults)"),
    temperature: float = typer.Option(0.7, help="sampling temperature (0: greedy)"),
    max_tokens: int = typer.Option(64, "--max-tokens", help="longest reply (a structured reply: its line) in tokens"),
    server: Optional[str] = typer.Option(None, help="HOST:PORT of a running server (default: in-process)"),
    models: Optional[Path] = typer.Option(None, help="model repository for in-process use"),
):
    """Talk to an NPC: player lines from stdin (one per line), replies streamed as they are decoded.

    Over a pipe it reads every line and answers each in turn (a scripted conversation); at a
    terminal it prompts with `> `. An empty line or end of input ends the conversation."""
    from google.protobuf import json_format

    from gamegen.generators.dialog.persona import parse_personas
    from gamegen.generators.events import DialogReply, InputEnd, TextDelta
    from gamegen.v1 import gamegen_pb2 as pb

    if not (0 <= seed < 2**64):
        raise _fail(f"seed must be an integer from 0 to 2^64-1, got {seed}")
    path = Path(persona[1:] if persona.startswith("@") else persona)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise _fail(f"--persona {persona!r}: cannot read the card ({e.strerror or e})")
    try:
        card = parse_personas(data, field="--persona")[0]
    except GameGenError as e:
        raise _fail(str(e))
    params = {"persona": {"name": card.name, "role": card.role, "traits": list(card.traits), "mood": card.mood,
                          "speech_style": card.speech_style, "knowledge": list(card.facts),
                          "secrets": list(card.secrets)},
              "sampling": {"temperature": temperature, "max_tokens": max_tokens}}
    if structured:
        params.update(structured=True, emotions=list(card.emotions), actions=list(card.actions))
    try:
        if server:
            from gamegen.client import Client

            client = Client(server, timeout=None)
            session = client.open_session(model, seed=seed, params=params)
            send, close = session.send, session.close
        else:
            from .convert import session_message_params

            gen = _backend(None, models).registry.resolve(model)
            if not gen.holds_sessions:
                raise _fail(f"{gen.info.ref} holds no conversations; use a dialog LLM (gamegen models --kind dialog)")
            msg = pb.SessionOpen(model=model, seed=seed)
            json_format.ParseDict(params, msg.dialog)     # the same message (and checks) as over the wire
            conv = gen.open_session(seed, session_message_params(msg, "params", gen, "open parameters"))
            send, close = conv.step, conv.close
    except typer.Exit:
        raise
    except Exception as e:
        raise _fail_error(e, server)
    tty = sys.stdin.isatty()
    name = card.name
    try:
        while True:
            if tty:
                err.print("> ", end="")
            line = sys.stdin.readline()
            if not line or not line.strip():
                break
            if not tty:
                out.print(f"> {line.strip()}", markup=False, highlight=False)
            out.print(f"{name}: ", end="", markup=False, highlight=False)
            try:
                for ev in send({"player_line": line.rstrip("\n")}):
                    if isinstance(ev, TextDelta):
                        out.print(ev.text, end="", markup=False, highlight=False)
                        out.file.flush()
                    elif isinstance(ev, DialogReply) and ev.emotion:
                        out.print(f"  [{ev.emotion}, {ev.action}]", end="", markup=False, highlight=False)
                    elif isinstance(ev, InputEnd):
                        out.print("", markup=False)
                        err.print(f"({ev.tokens} tokens, {ev.stop_reason})", markup=False, highlight=False)
            except GameGenError as e:          # a bad line: say so, the conversation goes on
                out.print("", markup=False)
                err.print(str(e), markup=False, highlight=False)
    finally:
        close()


@app.command("export")
def export_cmd(
    checkpoint: Path = typer.Argument(..., help="checkpoint written by a training script (.pt)"),
    models: Path = typer.Option(Path("models"), help="model repository to write into"),
    version: Optional[str] = typer.Option(None, help="model version (default: from the checkpoint)"),
    tolerance: float = typer.Option(1e-4, help="max abs difference allowed between PyTorch and ONNX Runtime"),
    name: Optional[str] = typer.Option(None, help="model name (default: from the checkpoint, e.g. loderunner-transformer)"),
):
    """Export a trained checkpoint to ONNX with a manifest and a parity check (needs the train extra)."""
    try:
        from gamegen.exporters.onnx_export import ParityError, export_checkpoint
    except ImportError as e:
        raise _fail(f"export needs the train extra (pip install torch==2.13.0 -e '.[train]'): {e}")
    if not checkpoint.is_file():
        raise _fail(f"checkpoint {str(checkpoint)!r} does not exist")
    if name is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise _fail(f"--name must be lower-case letters, digits and '-' (a model folder name), got {name!r}")
    try:
        path = export_checkpoint(checkpoint, models, version=version, tolerance=tolerance, name=name)
    except ParityError as e:
        raise _fail(f"parity check failed, nothing written: {e}", EXIT_FAILED)
    out.print(str(path), markup=False, highlight=False)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
