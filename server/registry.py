"""Model registry: loads every model under the model repository and the model-free generators.

Layout: ``<models>/<name>/<version>/{model.onnx, manifest.json}``. Each ONNX file's sha256 must
match its manifest; a model that fails to load (bad checksum, bad manifest, unknown kind) is
refused with one clear log line and the others still load. The execution provider is chosen per
model (:func:`model_providers`): ``--device cpu`` puts every model on the CPU, ``--device cuda``
every model on CUDA, and ``--device auto`` each model where its manifest says it runs fastest
(``"device": {"prefer": "cpu"}`` for the step-by-step recurrent models, which are slower on CUDA),
else on CUDA when it is available. Each model reports what its session actually got.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gamegen.exporters.manifest import ChecksumError, ManifestError, load_manifest, verify_checksum
from gamegen.generators import kinds
from gamegen.generators.base import Generator
from gamegen.generators.cancel import AbortableSession
from gamegen.generators.errors import FailedPrecondition, NotFound

log = logging.getLogger("gamegen.registry")

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


class ModelNotFound(NotFound):
    def __init__(self, ref: str, available: list[str]):
        listing = ", ".join(available) or "none are loaded"
        super().__init__(f"no model {ref!r}; available models: {listing}", field="model")
        self.ref = ref
        self.available = available


def quiet_onnxruntime():
    """Import onnxruntime with its own logging kept out of the user's terminal."""
    import onnxruntime as ort

    ort.set_default_logger_severity(4)  # FATAL only: CUDA probing failures are reported by us
    return ort


class SessionFactory:
    """Creates ORT sessions on the chosen device and records the provider each one got.

    Sessions come wrapped in :class:`~gamegen.generators.cancel.AbortableSession`: a run started
    for a request that is then cancelled stops between graph nodes (``RunOptions.terminate``).
    """

    def __init__(self, device: str = "auto", threads: int = 1, cpu_arena: bool = False):
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
        self.ort = quiet_onnxruntime()
        self.device = device
        self.threads = threads
        self.cpu_arena = cpu_arena
        self.providers = [CPU]
        if device in ("auto", "cuda") and CUDA in self.ort.get_available_providers():
            self.providers = [CUDA, CPU]

    def options(self):
        so = self.ort.SessionOptions()
        so.log_severity_level = 4
        # The level models are small autoregressive steps (batch 1). On an idle machine one
        # intra-op thread and ORT's default pool measure the same in-process (27-34 ms for a
        # 200-column SMB level); with other work on the cores the default pool's spinning
        # threads doubled it (57 vs 30 ms). One thread is the robust default; 0 = ORT default.
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        # ORT's CPU arena keeps the largest activations it ever allocated (2.2 GB after one 2048 px
        # texture) for the session's life. Without it, buffers go back to malloc after each run and
        # the servicer's malloc_trim returns them to the system (BENCHMARKS.md, "A server that
        # lets go"); the small level models measured the same either way.
        so.enable_cpu_mem_arena = self.cpu_arena
        return so

    def __call__(self, path: Path, providers: list[str] | None = None):
        sess = self.ort.InferenceSession(str(path), self.options(), providers=providers or self.providers)
        got = sess.get_providers()[0]
        if self.device == "cuda" and got != CUDA:
            raise RuntimeError(
                "--device cuda was asked for but the CUDA execution provider is not usable here "
                "(onnxruntime-gpu needs CUDA 12/13 and cuDNN 9 libraries); use --device auto or cpu"
            )
        return AbortableSession(sess, self.ort)


class ModelUnavailable(FailedPrecondition):
    """A model folder whose manifest was read (lazy loading) but that failed to load when asked for."""


@dataclass
class _Pending:
    """A model folder listed from its manifest, loaded on first use (``load_registry(lazy=True)``)."""

    model_dir: Path
    build: Callable[[], Generator]


@dataclass
class Registry:
    # ref -> version -> generator (or a _Pending one, loaded when first resolved)
    generators: dict[str, dict[str, Generator | _Pending]] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)               # (path, reason)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, gen: Generator) -> None:
        gen.info.sessions = gen.holds_sessions
        self.generators.setdefault(gen.info.ref, {})[gen.info.version] = gen

    def add_pending(self, ref: str, version: str, pending: _Pending) -> None:
        self.generators.setdefault(ref, {})[version] = pending

    def refs(self) -> list[str]:
        return sorted(self.generators)

    def all(self) -> list[Generator]:
        """Every generator (a pending model that fails to load is refused and left out)."""
        out = []
        for r in self.refs():
            for v in sorted(self.generators.get(r, {}), key=_vkey):
                try:
                    out.append(self._loaded(r, v))
                except ModelUnavailable:
                    pass
        return out

    def resolve(self, ref: str) -> Generator:
        """``kind/name`` (newest version) or ``kind/name@version``."""
        name, _, version = ref.partition("@")
        versions = self.generators.get(name)
        if not versions:
            raise ModelNotFound(ref, self.refs())
        if not version:
            return self._loaded(name, max(versions, key=_vkey))
        if version not in versions:
            raise ModelNotFound(ref, [f"{name}@{v}" for v in sorted(versions, key=_vkey)])
        return self._loaded(name, version)

    def _loaded(self, ref: str, version: str) -> Generator:
        """The generator of ``ref@version``, loading it first when it is pending (once, under a
        lock: a bake runs several assets on threads)."""
        entry = self.generators[ref][version]
        if not isinstance(entry, _Pending):
            return entry
        with self._lock:
            entry = self.generators.get(ref, {}).get(version)
            if entry is None:      # another thread's load of it failed meanwhile
                raise ModelUnavailable(f"model {ref}@{version} cannot be loaded (see the refusal above)",
                                       field="model")
            if not isinstance(entry, _Pending):
                return entry
            try:
                gen = entry.build()
            except Exception as e:
                reason = str(e) if isinstance(e, (ManifestError, ChecksumError, kinds.UnknownKind)) \
                    else f"{type(e).__name__}: {e}"
                del self.generators[ref][version]
                if not self.generators[ref]:
                    del self.generators[ref]
                _refuse(self, entry.model_dir, reason)
                raise ModelUnavailable(f"model {ref}@{version} ({entry.model_dir}) cannot be loaded: {reason}",
                                       field="model") from None
            if (gen.info.ref, gen.info.version) != (ref, version):   # listed under the manifest's name
                del self.generators[ref][version]
                if not self.generators[ref]:
                    del self.generators[ref]
            self.add(gen)
            return gen


def _vkey(v: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in v.replace("-", ".").split("."))


def model_providers(device: str, available: list[str], manifest: dict | None = None) -> list[str]:
    """The execution providers (in ORT's order of preference) for one model's sessions.

    ``cpu``: CPU. ``cuda``: CUDA then CPU for every model (the caller's explicit choice wins over
    the manifest; :class:`SessionFactory` refuses a model that does not get CUDA). ``auto``: the
    manifest's ``device.prefer`` (``"cpu"`` or ``"cuda"``) where it states one, else CUDA; CUDA
    only when ``available`` (ONNX Runtime's list) has it.
    """
    if device == "cpu" or CUDA not in available:
        return [CPU]
    if device == "auto" and prefers(manifest) == "cpu":
        return [CPU]
    return [CUDA, CPU]


def prefers(manifest: dict | None) -> str | None:
    """The manifest's ``device.prefer`` ("cpu", "cuda") or None when it states none."""
    dev = (manifest or {}).get("device")
    return dev.get("prefer") if isinstance(dev, dict) else None


def _placed(factory: SessionFactory, manifest: dict):
    """``factory`` with this model's providers (what :func:`model_providers` picks for it)."""
    providers = model_providers(factory.device, factory.ort.get_available_providers(), manifest)
    return lambda path: factory(path, providers=providers)


def default_models_dir() -> Path:
    env = os.environ.get("GAMEGEN_MODELS")
    if env:
        return Path(env)
    # The repository's bundled models (an editable install or a source checkout).
    return Path(__file__).resolve().parent.parent / "models"


def models_dir_or_default(models_dir: Path | None) -> Path:
    """``models_dir`` (default: :func:`default_models_dir`), which must be a folder."""
    models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
    if not models_dir.is_dir():
        raise FileNotFoundError(f"model directory {str(models_dir)!r} does not exist (pass --models DIR)")
    return models_dir


def load_registry(models_dir: Path | None = None, device: str = "auto", *, builtins: bool = True,
                  warmup: bool = True, threads: int = 1, lazy: bool = False) -> Registry:
    """Load every model under ``models_dir`` (plus the model-free generators).

    ``lazy``: read only the manifests now and load each model (checksum, sessions) when it is
    first resolved; one that fails then raises :class:`ModelUnavailable` (and is refused). The
    in-process CLI uses this, so ``gamegen generate levels/smb`` does not load the dialog LLM."""
    models_dir = models_dir_or_default(models_dir)
    factory = SessionFactory(device, threads=threads)
    reg = Registry()
    if builtins:
        for gen in kinds.builtin_generators():
            if warmup:
                gen.warmup()
            reg.add(gen)
    for manifest_path in sorted(models_dir.glob("*/*/manifest.json")):
        model_dir = manifest_path.parent
        try:
            manifest = load_manifest(model_dir)
            if lazy:
                kinds.spec(manifest["kind"])   # a kind this version does not serve is refused now
                reg.add_pending(f"{manifest['kind']}/{manifest['name']}", str(manifest["version"]),
                                _Pending(model_dir, functools.partial(_load_model, model_dir, manifest, factory)))
                continue
            gen = _load_model(model_dir, manifest, factory)
            if warmup:
                gen.warmup()
        except (ManifestError, ChecksumError, kinds.UnknownKind) as e:
            _refuse(reg, model_dir, str(e))
            continue
        except Exception as e:  # a broken model must not take the others down
            _refuse(reg, model_dir, f"{type(e).__name__}: {e}")
            continue
        reg.add(gen)
    return reg


def _load_model(model_dir: Path, manifest: dict, factory: SessionFactory) -> Generator:
    """One model folder's generator: its checksum verified, its sessions on their providers."""
    verify_checksum(model_dir, manifest)
    gen = kinds.from_manifest(model_dir, manifest, _placed(factory, manifest))
    log.info("loaded %s@%s (%s) on %s", gen.info.ref, gen.info.version, gen.info.family,
             gen.info.execution_provider)
    return gen


def _refuse(reg: Registry, model_dir: Path, reason: str) -> None:
    reg.refused.append((str(model_dir), reason))
    log.error("refused model %s: %s", model_dir, reason)
