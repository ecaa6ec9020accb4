"""The Unity package's layout (unity_client/, a UPM package) and what can be checked of its C# here:
package.json, one .meta per asset with unique GUIDs, asmdefs that reference what their code uses,
samples that exist, the core compiling without UnityEngine, the Unity-side code compiling against
stand-ins of the Unity API, the message classes naming only fields the proto has, and the generated
gRPC messages matching the .proto."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gamegen.v1 import gamegen_pb2 as pb

from . import unity_metas
from .conftest import ROOT

PACKAGE = ROOT / "unity_client"
STAND_INS = ROOT / "tests" / "unity_stand_ins"
BUILD = ROOT / "build" / "unity-package"


def test_package_json_has_the_fields_unity_reads():
    manifest = json.loads((PACKAGE / "package.json").read_text())
    assert manifest["name"] == "com.gamegen.client"
    assert re.fullmatch(r"com(\.[a-z0-9-]+)+", manifest["name"]) and len(manifest["name"]) <= 214
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", manifest["version"])
    assert re.fullmatch(r"20\d\d\.\d", manifest["unity"]) or re.fullmatch(r"[6-9]\d{3}\.\d", manifest["unity"])
    assert manifest["displayName"] and len(manifest["description"]) > 40
    for dep, version in manifest.get("dependencies", {}).items():
        assert re.fullmatch(r"com\.unity\.[a-z0-9.-]+", dep) and re.fullmatch(r"\d+\.\d+\.\d+", version), dep
    changelog = (PACKAGE / "CHANGELOG.md").read_text()
    assert f"## [{manifest['version']}]" in changelog, "CHANGELOG.md has no entry for the package's version"
    assert (PACKAGE / "LICENSE.md").read_text().startswith("MIT License")
    assert (PACKAGE / "Documentation~" / "index.md").is_file()


def test_samples_listed_exist_and_samples_on_disk_are_listed():
    manifest = json.loads((PACKAGE / "package.json").read_text())
    listed = [s["path"] for s in manifest["samples"]]
    for s in manifest["samples"]:
        assert s["displayName"] and s["description"], s
        assert s["path"].startswith("Samples~/"), s["path"]
        folder = PACKAGE / s["path"]
        assert folder.is_dir() and list(folder.glob("*.cs")), f"sample {s['path']} has no scripts"
    on_disk = sorted(f"Samples~/{p.name}" for p in (PACKAGE / "Samples~").iterdir() if p.is_dir())
    assert sorted(listed) == on_disk


def test_every_asset_has_exactly_one_meta_and_no_meta_is_orphaned():
    assets = unity_metas.assets(PACKAGE)
    missing = [str(a) for a in assets if not (PACKAGE / f"{a.as_posix()}.meta").is_file()]
    assert not missing, f"missing .meta (run python -m tests.unity_metas): {missing}"
    expected = {f"{a.as_posix()}.meta" for a in assets}
    metas = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.meta")}
    orphans = sorted(metas - expected)
    assert not orphans, f".meta without an asset, or inside a folder Unity ignores: {orphans}"
    assert not (PACKAGE.parent / "unity_client.meta").exists()  # the package root has none


def test_guids_are_32_hex_unique_and_folders_are_marked():
    seen: dict[str, str] = {}
    for meta in sorted(PACKAGE.rglob("*.meta")):
        text = meta.read_text()
        assert text.startswith("fileFormatVersion: 2\n"), meta
        m = re.search(r"^guid: (\S+)$", text, re.M)
        assert m and re.fullmatch(r"[0-9a-f]{32}", m.group(1)), f"{meta}: bad guid"
        assert m.group(1) not in seen, f"{meta} and {seen.get(m.group(1))} share a GUID"
        seen[m.group(1)] = str(meta)
        asset = meta.with_suffix("")
        assert ("folderAsset: yes" in text) == asset.is_dir(), meta
        if asset.suffix == ".cs":
            assert "MonoImporter:" in text, meta
        if asset.suffix == ".asmdef":
            assert "AssemblyDefinitionImporter:" in text, meta


# --- assembly definitions -------------------------------------------------------------------------

# What a `using` needs referenced: namespace prefix -> the assembly (asmdef name or precompiled DLL).
PROVIDERS = {
    "GameGen.Client": "GameGen.Runtime", "GameGen.Unity": "GameGen.Runtime",
    "GLTFast": "glTFast",
    "Cysharp.Net.Http": "Cysharp.Net.Http.YetAnotherHttpHandler",
    "Grpc.Net.Client": "Grpc.Net.Client.dll", "Grpc.Core": "Grpc.Core.Api.dll", "Google.Protobuf": "Google.Protobuf.dll",
    "NUnit.Framework": "nunit.framework.dll", "UnityEngine.TestTools": "UnityEngine.TestRunner",
}
ENGINE = ("System", "UnityEngine", "UnityEditor")  # the BCL and the engine: always referenced


def asmdefs() -> dict[Path, dict]:
    return {p: json.loads(p.read_text()) for p in sorted(PACKAGE.rglob("*.asmdef")) if not unity_metas.ignored(p.relative_to(PACKAGE))}


def owner(source: Path, defs: dict[Path, dict]) -> Path:
    """The asmdef a script compiles into: the one in the nearest folder above it."""
    folders = {p.parent: p for p in defs}
    for folder in [source.parent, *source.parents]:
        if folder in folders:
            return folders[folder]
    raise AssertionError(f"{source} is in no assembly definition")


def test_runtime_and_editor_have_one_assembly_each_and_optional_ones_are_constrained():
    defs = asmdefs()
    for path, d in defs.items():
        assert d["name"] == path.stem, f"{path}: name {d['name']!r} differs from the file name"
    top = {path.relative_to(PACKAGE).parts[0]: [] for path in defs}
    for path, d in defs.items():
        top[path.relative_to(PACKAGE).parts[0]].append(d)
    unconditional = [d["name"] for d in top["Runtime"] if not d.get("defineConstraints")]
    assert unconditional == ["GameGen.Runtime"]
    assert [d["name"] for d in top["Editor"]] == ["GameGen.Editor"] and top["Editor"][0]["includePlatforms"] == ["Editor"]
    for d in top["Runtime"]:
        if d.get("defineConstraints"):  # optional: each constraint is defined when its package is present
            defined = {v["define"] for v in d.get("versionDefines", [])}
            assert set(d["defineConstraints"]) <= defined, d["name"]
    tests = [d for d in top["Tests"]]
    assert tests and all("UNITY_INCLUDE_TESTS" in d["defineConstraints"] for d in tests)


def test_assemblies_reference_what_their_code_uses_and_nothing_else():
    defs = asmdefs()
    used: dict[Path, set[str]] = {p: set() for p in defs}
    for source in PACKAGE.rglob("*.cs"):
        rel = source.relative_to(PACKAGE)
        if unity_metas.ignored(rel) or "Generated" in rel.parts:
            continue
        asmdef = owner(source, defs)
        text = source.read_text()
        for ns in re.findall(r"^\s*using\s+(?:\w+\s*=\s*)?([\w.]+)\s*;", text, re.M):
            provider = next((a for prefix, a in PROVIDERS.items() if ns == prefix or ns.startswith(prefix + ".")), None)
            if provider is None:
                assert ns.startswith(ENGINE) or ns.startswith("GameGen.EditorTools") or ns.startswith("GameGen.Transports") \
                    or ns == "GameGen.V1", f"{rel}: using {ns} needs a PROVIDERS entry"
                continue
            if provider != defs[asmdef]["name"]:
                used[asmdef].add(provider)
        if "GLTFast." in text:
            used[asmdef].add("glTFast")
        if re.search(r"\bUnityEngine\b|\bUnityEditor\b", text):
            assert not defs[asmdef].get("noEngineReferences"), rel
    for path, d in defs.items():
        declared = set(d.get("references", [])) | set(d.get("precompiledReferences", []))
        declared -= {"UnityEditor.TestRunner", "Grpc.Net.Common.dll"}  # needed by the test runner / Grpc.Net.Client itself
        assert used[path] <= declared, f"{path.name} uses {sorted(used[path] - declared)} without referencing them"
        assert declared <= used[path], f"{path.name} references {sorted(declared - used[path])} that its code does not use"


def test_gltf_code_is_compiled_only_when_gltfast_is_present():
    runtime = json.loads((PACKAGE / "Runtime" / "GameGen.Runtime.asmdef").read_text())
    assert {v["define"] for v in runtime["versionDefines"]} == {"GAMEGEN_GLTFAST"}
    source = (PACKAGE / "Runtime" / "Unity" / "GameGenConverters.cs").read_text()
    inside = source.split("#if GAMEGEN_GLTFAST", 1)[1].split("#else", 1)[0]
    assert "GLTFast." in inside and "GLTFast." not in source.replace(inside, "")


# --- compiling ------------------------------------------------------------------------------------


def mcs(out: Path, sources: list[Path], refs: list[str], defines: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    if shutil.which("mcs") is None:
        pytest.skip("Mono's mcs absent; on Debian: apt-get install mono-mcs libmono-system-net-http4.0-cil")
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mcs", "-langversion:7.2", "-target:library", "-warnaserror+", "-nowarn:1591",
                           *(f"-r:{r}" for r in refs), *(f"-d:{d}" for d in defines), f"-out:{out}",
                           *map(str, sources)], capture_output=True, text=True)


def test_the_core_compiles_with_mcs_without_unityengine():
    core = sorted((PACKAGE / "Runtime" / "Core").glob("*.cs"))
    for source in core:
        assert not re.search(r"\bUnityEngine\b|\bUnityEditor\b", source.read_text()), f"{source.name} names Unity"
    r = mcs(BUILD / "GameGen.Core.dll", core, ["System.Net.Http.dll"])
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_unity_code_compiles_against_stand_ins_of_the_unity_api():
    """Runtime/Unity, Editor, the samples and the Test Runner tests, against tests/unity_stand_ins:
    catches mistakes in this package's code; whether the stand-ins match Unity is checked only by
    their signatures being copied from Unity's scripting reference."""
    engine = BUILD / "UnityEngine.dll"
    r = mcs(engine, sorted(STAND_INS.glob("*.cs")), [])
    assert r.returncode == 0, r.stdout + r.stderr
    runtime = BUILD / "GameGen.Runtime.dll"
    sources = sorted((PACKAGE / "Runtime" / "Core").glob("*.cs")) + sorted((PACKAGE / "Runtime" / "Unity").glob("*.cs"))
    r = mcs(runtime, sources, ["System.Net.Http.dll", str(engine)])
    assert r.returncode == 0, r.stdout + r.stderr
    # a WebGL player's build: UnityWebRequest + the browser's WebSocket installed before the first scene
    r = mcs(BUILD / "GameGen.Runtime.WebGL.dll", sources, ["System.Net.Http.dll", str(engine)], ("UNITY_WEBGL",))
    assert r.returncode == 0, r.stdout + r.stderr
    for defines in ((), ("UNITY_2022_1_OR_NEWER",)):
        r = mcs(BUILD / "GameGen.Editor.dll", sorted((PACKAGE / "Editor").glob("*.cs")),
                ["System.Net.Http.dll", str(engine), str(runtime)], defines)
        assert r.returncode == 0, r.stdout + r.stderr
    extra = sorted(PACKAGE.glob("Samples~/*/*.cs")) + sorted((PACKAGE / "Tests" / "Editor").glob("*.cs"))
    r = mcs(BUILD / "Samples.dll", extra, ["System.Net.Http.dll", str(engine), str(runtime)])
    assert r.returncode == 0, r.stdout + r.stderr


# --- the message classes against the proto --------------------------------------------------------

KEY = re.compile(r'(?:\.Get\w*|\.Has|\.Find|\.Name|\bSet|\bGet\w*|Strings\(w,)\s*\(?\s*"(\w+)"')


def classes(source: str) -> dict[str, str]:
    """Class name -> its body, for the top-level classes of a file."""
    out = {}
    parts = re.split(r"\n    public (?:sealed |abstract )?class (\w+)", source)
    for name, body in zip(parts[1::2], parts[2::2]):
        out[name] = body
    return out


def test_message_classes_name_only_fields_the_proto_has():
    messages = {m.name: m for m in pb.DESCRIPTOR.message_types_by_name.values()}
    for m in list(messages.values()):
        for nested in m.nested_types:
            messages[nested.name] = nested
    source = (PACKAGE / "Runtime" / "Core" / "Messages.cs").read_text()
    found = classes(source)
    not_messages = {"KindParams"}  # the base of the per-kind parameter messages
    assert set(found) - not_messages <= set(messages), f"classes named after no proto message: {set(found) - not_messages - set(messages)}"
    checked = 0
    for name, body in found.items():
        if name in not_messages:
            continue
        json_names = {f.json_name for f in messages[name].fields}
        keys = set(KEY.findall(body))
        assert keys or not json_names, f"{name}: no field names found"
        unknown = keys - json_names
        assert not unknown, f"{name} names {sorted(unknown)}, which gamegen.v1.{name} does not have ({sorted(json_names)})"
        checked += len(keys)
    assert checked > 150
    # the per-kind parameter classes name the GenerateRequest oneof member they travel in
    request_fields = {f.name for f in pb.GenerateRequest.DESCRIPTOR.oneofs_by_name["params"].fields}
    kinds = set(re.findall(r': base\("(\w+)"\)', source))
    assert kinds == request_fields
    # enum names as the JSON mapping writes them
    proto_enum = set(pb.ParameterType.keys())
    assert set(re.findall(r'"(PARAMETER_TYPE_\w+)"', source)) == proto_enum - {"PARAMETER_TYPE_UNSPECIFIED"}
    # the oneof members the events read are the proto's
    for message, oneof in (("GenerateEvent", "event"), ("PartialContent", "content"), ("SessionEvent", "event")):
        members = {f.json_name for f in messages[message].oneofs_by_name[oneof].fields}
        read = set(re.findall(r'j\.Has\("(\w+)"\)', found[message]))
        assert read == members, f"{message}: reads {sorted(read)}, the proto's {oneof} has {sorted(members)}"


def test_the_generated_grpc_messages_match_the_proto(tmp_path):
    if shutil.which("protoc") is None:
        pytest.skip("protoc absent (Debian: protobuf-compiler, installed by .ci/run)")
    version = subprocess.run(["protoc", "--version"], capture_output=True, text=True).stdout.split()[-1]
    if not version.startswith("3.21."):
        pytest.skip(f"Runtime/Grpc/Generated/Gamegen.cs is protoc 3.21's output; this protoc is {version}")
    subprocess.run(["protoc", f"-I{ROOT / 'proto'}", f"--csharp_out={tmp_path}", "gamegen/v1/gamegen.proto"],
                   check=True, cwd=ROOT)
    committed = (PACKAGE / "Runtime" / "Grpc" / "Generated" / "Gamegen.cs").read_text()
    assert (tmp_path / "Gamegen.cs").read_text() == committed, (
        "Runtime/Grpc/Generated/Gamegen.cs is out of date: make unity-proto")
