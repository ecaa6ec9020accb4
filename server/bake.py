"""Build-time baking: a TOML list of assets → files, reproducible and cached by content hash.

Each asset's cache key is a hash of the model file's sha256, the generator's version, the model
reference and version, the seed, the canonical parameters, the formats and the execution provider
the model runs on (CUDA and CPU give different bytes for convolutional models, so a bake never
files bytes from two providers under one key; the bake state records each asset's provider, and
an asset that comes back from another provider than planned fails instead). An asset whose key and
files match the bake state (``.gamegen-bake.json`` in the output folder) is skipped; an asset is
written into a temporary folder and moved into place whole, then recorded, so an interrupted bake
resumes where it stopped and never leaves a half-written asset. Independent assets bake in
parallel.

Bake file::

    [defaults]                      # optional
    formats = ["txt", "tmj", "png", "mid"]

    [[asset]]
    name = "world-1"                # output folder name: a letter or digit, then letters, digits,
                                    # '.', '_', '-' (at most 128; no '/', no newline, no leading '.')
    model = "levels/smb"            # or "levels/smb@1.0.0"
    seed = 7
    formats = ["tmj", "png"]        # optional; used exactly as written
    params = { width = 300, enemies = 0.4 }

An asset without its own ``formats`` takes the ``[defaults] formats`` its model offers (in the
defaults' order), so one list serves a file that mixes kinds: above, a level gets txt, tmj and png
and a music asset gets mid. An asset whose model offers none of the default formats gets every
format its model offers, as it would with no defaults. A default format that no loaded model
offers is an error (a typo).

A parameter that takes a file (an exemplar image, a MIDI file to continue) is given as a path
relative to the bake file, e.g. ``params = { exemplar = "art/rock.png" }``; the file's content is
part of the cache key, so editing it re-bakes the asset.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import tomllib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gamegen.generators.errors import GameGenError, InvalidArgument
from gamegen.generators.events import Asset, Final, content_hash
from gamegen.generators.params import read_upload

from .backends import Backend
from .registry import ModelNotFound

STATE_FILE = ".gamegen-bake.json"
TMP_PREFIX = ".bake-tmp-"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")   # used with fullmatch: "$" would let "a\n" in


class BakeFileError(InvalidArgument):
    """The bake file is malformed; the message names the file, the asset and the field."""


@dataclass(frozen=True)
class BakeItem:
    name: str
    model: str
    seed: int
    params: dict[str, Any]
    formats: tuple[str, ...]
    key: str = ""
    provider: str = ""          # execution provider the key was computed for


@dataclass
class BakeReport:
    baked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def load_bake_file(path: Path, backend: Backend) -> list[BakeItem]:
    """Parse and fully validate a bake file (models, seeds, parameters, uploads, formats) before any
    work: every asset gets exactly the checks a request gets, so a file with one bad asset is
    refused whole."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BakeFileError(f"{path}: no such bake file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BakeFileError(f"{path}: not valid TOML: {e}") from None
    unknown = set(data) - {"defaults", "asset"}
    if unknown:
        raise BakeFileError(f"{path}: unknown top-level key(s) {sorted(unknown)}; expected [defaults] and [[asset]]")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise BakeFileError(f"{path}: [defaults] must be a table")
    if set(defaults) - {"formats"}:
        raise BakeFileError(f"{path}: unknown key(s) {sorted(set(defaults) - {'formats'})} in [defaults]; "
                            "allowed: formats")
    default_formats = defaults.get("formats")
    if default_formats is not None and (not isinstance(default_formats, list) or not default_formats
                                        or not all(isinstance(f, str) for f in default_formats)):
        raise BakeFileError(f"{path}: [defaults] formats must be a non-empty list of strings, got {default_formats!r}")
    if default_formats is not None:
        offered = {f for i in backend.models() for f in i.formats}
        unknown_formats = [f for f in default_formats if f not in offered]
        if unknown_formats:
            raise BakeFileError(f"{path}: [defaults] formats {unknown_formats!r} are offered by no model; "
                                f"formats are: {', '.join(sorted(offered))}")
    assets = data.get("asset")
    if isinstance(assets, dict):
        raise BakeFileError(f"{path}: [asset] is a single table; write each asset as [[asset]] "
                            "(double square brackets), with name, model and seed")
    if not isinstance(assets, list) or not assets:
        raise BakeFileError(f"{path}: no assets; add at least one [[asset]] table with name, model and seed")

    items: list[BakeItem] = []
    seen: set[str] = set()
    for i, a in enumerate(assets, 1):
        where = f"{path}: asset #{i}"
        if not isinstance(a, dict):
            raise BakeFileError(f"{where}: must be a table")
        name = a.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise BakeFileError(f"{where}: name must be 1-128 letters, digits, '.', '_' or '-' "
                                f"(it names the output folder), got {name!r}")
        where = f"{path}: asset #{i} ({name})"
        if name in seen:
            raise BakeFileError(f"{where}: name is used twice; asset names must be unique")
        seen.add(name)
        extra = set(a) - {"name", "model", "seed", "params", "formats"}
        if extra:
            raise BakeFileError(f"{where}: unknown key(s) {sorted(extra)}; allowed: name, model, seed, params, formats")
        model = a.get("model")
        if not isinstance(model, str) or "/" not in model:
            raise BakeFileError(f"{where}: model must be 'kind/name' such as 'levels/smb', got {model!r}")
        seed = a.get("seed")
        if not isinstance(seed, int) or isinstance(seed, bool) or not (0 <= seed < 2**64):
            raise BakeFileError(f"{where}: seed must be an integer from 0 to 2^64-1, got {seed!r}")
        params = a.get("params", {})
        if not isinstance(params, dict):
            raise BakeFileError(f"{where}: params must be a table such as {{ width = 300 }}, got {params!r}")
        try:
            info = backend.info(model)
        except ModelNotFound as e:
            raise BakeFileError(f"{where}: {e}") from None
        if "formats" in a:
            formats = a["formats"]
        else:
            formats = default_formats_for(info, default_formats)
        if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
            raise BakeFileError(f"{where}: formats must be a list of strings, got {formats!r}")
        bad = [f for f in formats if f not in info.formats]
        if not formats or bad:
            raise BakeFileError(f"{where}: formats must be a non-empty list drawn from "
                                f"{', '.join(info.formats)}; got {formats!r}")
        ref = f"{info.ref}@{info.version}"
        try:
            params = _read_uploads(info.params, params, path.parent)
            # the same checks a request gets (ranges, required uploads and their sniffing,
            # cross-field rules), in-process or by a validate-only call to the server
            canonical = backend.check(ref, seed, params, formats)
        except InvalidArgument as e:
            at = f"params.{e.field}: " if e.field and e.field not in ("formats", "seed", "params") else ""
            raise BakeFileError(f"{where}: {at}{e.details}") from None
        key = cache_key(info, seed, canonical, formats)
        items.append(BakeItem(name, ref, seed, dict(params), tuple(formats), key, info.execution_provider))
    return items


def default_formats_for(info, default_formats: list[str] | None) -> list[str]:
    """The formats an asset without its own ``formats`` gets (the rule is in the module docstring)."""
    if default_formats is None:
        return list(info.formats)
    shared = [f for f in default_formats if f in info.formats]
    return shared or list(info.formats)


def _read_uploads(specs, params: dict[str, Any], base: Path) -> dict[str, Any]:
    """Bytes parameters (images, MIDI files) are given in a bake file as paths relative to it."""
    out = dict(params)
    for p in specs:
        if p.type == "bytes" and isinstance(out.get(p.name), str):
            out[p.name] = read_upload(p.name, out[p.name], base)
    return out


def cache_key(info, seed: int, canonical: list[tuple[str, str]], formats) -> str:
    # The execution provider is part of the key: convolutional models give different bytes on
    # CUDA and on CPU, so bytes from two providers never share a key.
    blob = json.dumps(
        {"model": info.ref, "version": info.version, "sha256": info.sha256,
         "generator_version": info.generator_version, "seed": seed, "params": canonical,
         "formats": list(formats), "execution_provider": info.execution_provider},
        sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _file_sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class Baker:
    def __init__(self, backend: Backend, out: Path, jobs: int = 2, force: bool = False,
                 on_event: Callable[[str, str], None] | None = None):
        self.backend = backend
        self.out = Path(out)
        self.jobs = max(1, jobs)
        self.force = force
        self.on_event = on_event or (lambda name, status: None)
        self.lock = threading.Lock()
        self.state_path = self.out / STATE_FILE
        self.state: dict[str, Any] = {"version": 1, "assets": {}}

    def _load_state(self) -> None:
        if self.state_path.exists():
            try:
                s = json.loads(self.state_path.read_text())
                if isinstance(s, dict) and isinstance(s.get("assets"), dict):
                    self.state = s
            except (OSError, json.JSONDecodeError):
                pass  # unreadable state: everything is re-baked

    def _save_state(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True))
        os.replace(tmp, self.state_path)

    def up_to_date(self, item: BakeItem) -> bool:
        rec = self.state["assets"].get(item.name)
        if self.force or not rec or rec.get("key") != item.key:
            return False
        folder = self.out / item.name
        return all(_file_sha(folder / f) == h for f, h in rec.get("files", {}).items())

    def run(self, items: list[BakeItem]) -> BakeReport:
        self.out.mkdir(parents=True, exist_ok=True)
        for stale in self.out.glob(TMP_PREFIX + "*"):  # left by an interrupted bake
            shutil.rmtree(stale, ignore_errors=True)
        self._load_state()
        report = BakeReport()
        todo = []
        for item in items:
            if self.up_to_date(item):
                report.skipped.append(item.name)
                self.on_event(item.name, "up to date")
            else:
                todo.append(item)
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="gamegen-bake")
        try:
            futures = {pool.submit(self._bake_one, item): item for item in todo}
            for fut in as_completed(futures):
                item, error = futures[fut], fut.result()
                if error:
                    report.failed.append((item.name, error))
                    self.on_event(item.name, f"failed: {error}")
                else:
                    report.baked.append(item.name)
                    self.on_event(item.name, "baked")
        finally:
            # On Ctrl-C (or any escape) start nothing new; assets in progress finish and are
            # recorded, so the next run resumes after them.
            pool.shutdown(wait=True, cancel_futures=True)
        return report

    def _bake_one(self, item: BakeItem) -> str | None:
        assets: list[Asset] = []
        final: Final | None = None
        try:
            for ev in self.backend.generate(item.model, item.seed, item.params, item.formats, partials=False):
                if isinstance(ev, Asset):
                    assets.append(ev)
                elif isinstance(ev, Final):
                    final = ev
        except GameGenError as e:   # in-process and remote alike
            return str(e)
        except Exception as e:  # a bug: report it with its type, keep baking the others
            return f"{type(e).__name__}: {e}"
        if final is None:
            return "stream ended without a final event"
        if final.content_hash != content_hash(assets):
            return "content hash of received assets does not match the server's final event"
        if item.provider and final.execution_provider != item.provider:
            return (f"ran on {final.execution_provider}, but the bake was planned for {item.provider} "
                    "(the server changed between listing and generating); bake again")

        tmp = self.out / f"{TMP_PREFIX}{item.name}-{os.getpid()}-{threading.get_ident()}"
        tmp.mkdir(parents=True)
        for a in assets:
            (tmp / a.name).write_bytes(a.data)
        dest = self.out / item.name
        with self.lock:
            if dest.exists():
                old = self.out / f"{TMP_PREFIX}old-{item.name}-{os.getpid()}"
                os.replace(dest, old)
                os.replace(tmp, dest)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, dest)
            self.state["assets"][item.name] = {
                "key": item.key, "model": item.model, "seed": item.seed,
                "execution_provider": final.execution_provider,
                "content_hash": final.content_hash, "files": {a.name: a.sha256 for a in assets},
            }
            self._save_state()
        return None
