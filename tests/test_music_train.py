"""Music training side: corpus cache -> tiny train -> gamegen export (two graphs) -> load -> generate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gamegen.exporters.manifest import load_manifest
from gamegen.generators.events import Final, MusicBar
from gamegen.generators.music import analysis
from gamegen.generators.music import encoding as enc

pytest.importorskip("torch")
pytest.importorskip("music21")


@pytest.mark.slow
def test_tiny_corpus_train_export_load_generate(tmp_path):
    from gamegen.exporters.onnx_export import ParityError, export_checkpoint
    from gamegen.generators.music.corpus import build, load
    from gamegen.generators.music.train import train
    from gamegen.server.registry import load_registry

    corpus = tmp_path / "corpus.jsonl"
    stats = build(corpus, limit=4)   # two chorales, two fiddle tunes
    pieces = load(corpus)
    assert len(pieces) >= 3 and {p["source"] for p in pieces} == {"bach", "ryansMammoth"}
    assert sum(stats.values()) == len(pieces)
    for p in pieces:  # every bar of the cache fills its meter exactly
        assert all(sum(t for t, _ in bar) == enc.METERS[p["meter"]] for bar in p["bars"])

    ckpt = tmp_path / "tiny.pt"
    training = train(corpus, ckpt, tiny=True, log=lambda m: None)
    assert "nll/token" in training["held_out"] and training["epochs"] == 1

    with pytest.raises(ParityError):
        export_checkpoint(ckpt, tmp_path / "refused", tolerance=-1.0)
    assert not list((tmp_path / "refused").glob("*/*/manifest.json"))

    folder = export_checkpoint(ckpt, tmp_path / "models")
    manifest = load_manifest(folder)
    assert manifest["kind"] == "music" and manifest["family"] == "lstm"
    assert [i["name"] for i in manifest["inputs"]] == ["token", "pos", "phrase", "h", "c"]
    assert manifest["files"]["sequence"]["parity"]["max_abs_diff"] <= 1e-4

    reg = load_registry(tmp_path / "models", device="cpu", builtins=False)
    gen = reg.resolve("music/music-lstm")
    evs = list(gen.generate(3, {"bars": 3, "meter": "2/4", "key": "E"}, ["mid", "json"]))
    assert sum(isinstance(e, MusicBar) for e in evs) == 3 and isinstance(evs[-1], Final)
    doc = json.loads(next(e for e in evs if getattr(e, "name", "") == "music.json").data)
    assert doc["meter"] == "2/4" and doc["key"] == "E" and len(doc["chords"]) == 3


def test_analysis_estimators_on_clear_cases():
    # C major scale and arpeggios -> C major; A harmonic minor -> A minor
    cmaj = [(i * 1.0, 1.0, p) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60, 67, 72, 60])]
    amin = [(i * 1.0, 1.0, p) for i, p in enumerate([57, 59, 60, 62, 64, 65, 68, 69, 64, 60, 57, 64, 68, 69, 57])]
    assert analysis.estimate_key(cmaj) == (0, "major")
    assert analysis.estimate_key(amin) == (9, "minor")
    # a waltz: long note on each downbeat, two short after -> 3/4; dotted pairs -> 6/8
    waltz = [(b * 3 + o, d, 60) for b in range(8) for o, d in ((0, 2.0), (2, 0.5), (2.5, 0.5))]
    assert analysis.estimate_meter(waltz) == "3/4"
    jig = [(b * 3 + o, d, 60) for b in range(8) for o, d in ((0, 1.5), (1.5, 1.0), (2.5, 0.5))]
    assert analysis.estimate_meter(jig) == "6/8"
    sam = analysis.SuffixAutomaton()
    sam.add_sequence([1, 2, 3, 4, 5])
    sam.add_sequence([9, 8, 7])
    assert sam.longest_match([0, 2, 3, 4, 9, 8]) == 3 and sam.longest_match([5, 9]) == 1
    assert analysis.in_key_ratio([60, 62, 61], 0, "major") == pytest.approx(2 / 3)
    assert analysis.hist_distance(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == 1.0
