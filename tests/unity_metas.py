"""The Unity package's .meta files: which paths need one, and writing the missing ones.

Unity gives every asset and folder of a package a ``.meta`` file with a GUID that must never change
once published (scenes and prefabs refer to scripts by it), except hidden names and folders whose
name ends in ``~`` (``Samples~``, ``Documentation~``), which Unity does not import. New files get a
GUID derived from the package name and the path (stable, unique); existing ones are never rewritten.

    python -m tests.unity_metas          # write the missing .meta files
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "unity_client"
NAME = "com.gamegen.client"

_IMPORTER = {
    ".cs": "MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n  executionOrder: 0\n"
           "  icon: {instanceID: 0}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n",
    ".asmdef": "AssemblyDefinitionImporter:\n  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n",
    "package.json": "PackageManifestImporter:\n  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n",
    ".md": "TextScriptImporter:\n  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n",
    ".json": "TextScriptImporter:\n  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n",
    # a WebGL-only plugin (Plugins/WebGL/*.jslib): included in WebGL players, nowhere else
    ".jslib": "PluginImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  iconMap: {}\n  executionOrder: {}\n"
              "  defineConstraints: []\n  isPreloaded: 0\n  isOverridable: 0\n  isExplicitlyReferenced: 0\n"
              "  validateReferences: 1\n  platformData:\n  - first:\n      Any: \n    second:\n      enabled: 0\n"
              "      settings: {}\n  - first:\n      Editor: Editor\n    second:\n      enabled: 0\n      settings:\n"
              "        DefaultValueInitialized: true\n  - first:\n      WebGL: WebGL\n    second:\n      enabled: 1\n"
              "      settings: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n",
}
_DEFAULT = "DefaultImporter:\n  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n"


def ignored(rel: Path) -> bool:
    """Unity does not import hidden names or anything under a folder whose name ends in '~'."""
    return any(part.startswith(".") or part.endswith("~") for part in rel.parts)


def assets(package: Path = PACKAGE) -> list[Path]:
    """Every file and folder that needs a .meta (package-relative), sorted."""
    out = []
    for p in sorted(package.rglob("*")):
        rel = p.relative_to(package)
        if ignored(rel) or p.suffix == ".meta":
            continue
        out.append(rel)
    return out


def guid_for(rel: Path) -> str:
    return hashlib.md5(f"{NAME}/{rel.as_posix()}".encode()).hexdigest()


def meta_text(rel: Path, folder: bool) -> str:
    head = f"fileFormatVersion: 2\nguid: {guid_for(rel)}\n"
    if folder:
        return head + "folderAsset: yes\n" + _DEFAULT
    importer = _IMPORTER.get(rel.name) or _IMPORTER.get(rel.suffix, _DEFAULT)
    return head + importer


def write_missing(package: Path = PACKAGE) -> list[Path]:
    written = []
    for rel in assets(package):
        meta = package / (rel.as_posix() + ".meta")
        if not meta.exists():
            meta.write_text(meta_text(rel, (package / rel).is_dir()))
            written.append(meta.relative_to(package))
    return written


if __name__ == "__main__":
    for m in write_missing():
        print("wrote", m)
