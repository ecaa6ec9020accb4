"""The training corpus: public-domain melodies bundled with ``music21`` (training/benchmarks only).

Sources (all public domain, shipped inside the music21 package):

* ``bach/*.mxl``           Bach chorales: the soprano line (part 0)
* ``ryansMammoth/*.abc``   Ryan's Mammoth Collection (1883): fiddle tunes
* ``oneills1850/*.abc``    O'Neill's Music of Ireland (1850)

The Essen folksong collection is *not* used (non-commercial licence). Parsing with music21 is
slow (minutes), so :func:`build` writes one JSON line per piece to a cache under ``runs/``
(git-ignored): its source id, mode, tonic, meter and bars of ``(ticks, pitch)`` events
(pitch ``-1`` = rest, :data:`~.encoding.TICKS` ticks per quarter note). The server never
imports this module (music21 is a training-only dependency).

Run: ``python -m gamegen.generators.music.corpus --out runs/music/corpus.jsonl``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from .encoding import METERS, TICKS

SOURCES = ("bach", "ryansMammoth", "oneills1850")
HELD_OUT_PERCENT = 10
MODE_MAP = {"major": "major", "ionian": "major", "mixolydian": "major",
            "minor": "minor", "aeolian": "minor", "dorian": "minor"}
METER_MAP = {"4/4": "4/4", "2/2": "4/4", "3/4": "3/4", "2/4": "2/4", "6/8": "6/8"}


def held_out(piece_id: str) -> bool:
    """The held-out split, by piece: a stable hash of the id puts ~10 % of pieces aside."""
    return int(hashlib.sha256(piece_id.encode()).hexdigest()[:8], 16) % 100 < HELD_OUT_PERCENT


def corpus_files() -> list[tuple[str, Path]]:
    import music21

    root = Path(music21.__file__).parent / "corpus"
    out = []
    for src in SOURCES:
        pattern = "*.mxl" if src == "bach" else "*.abc"
        out += [(src, p) for p in sorted((root / src).glob(pattern))]
    return out


def _key_of(score, src: str):
    from music21 import key as m21key

    if src != "bach":
        for k in score.recurse().getElementsByClass(m21key.Key):
            return k.tonic.pitchClass, MODE_MAP.get(k.mode)
    k = score.analyze("key")
    return k.tonic.pitchClass, MODE_MAP.get(k.mode)


def _meter_of(score):
    from music21 import meter

    sigs = {ts.ratioString for ts in score.recurse().getElementsByClass(meter.TimeSignature)}
    if len(sigs) != 1:
        return None
    return METER_MAP.get(sigs.pop())


def melody_bars(part, bar_ticks: int) -> list[list[tuple[int, int]]]:
    """Bars of (ticks, pitch) filling each bar exactly; the top note of chords, no grace notes."""
    from music21 import chord, note

    bars = []
    measures = list(part.getElementsByClass("Measure"))
    for i, m in enumerate(measures):
        pad = float(m.paddingLeft or 0.0)
        if i == 0 and pad > 0:
            continue  # a pickup bar: dropped, so bar numbers (and 8-bar phrases) start on a downbeat
        onsets: dict[int, int] = {}
        ends: dict[int, int] = {}
        for el in m.flatten().notesAndRests:
            ql = float(el.duration.quarterLength)
            if ql <= 0 or el.duration.isGrace:
                continue
            start = round((float(el.offset) + pad) * TICKS)
            end = round((float(el.offset) + pad + ql) * TICKS)
            if start >= bar_ticks or end <= start:
                continue
            if isinstance(el, note.Note):
                p = el.pitch.midi
            elif isinstance(el, chord.Chord):
                p = max(x.midi for x in el.pitches)
            else:
                continue  # rests are the gaps between notes
            if start not in onsets or p > onsets[start]:
                onsets[start] = p
                ends[start] = min(end, bar_ticks)
        events: list[tuple[int, int]] = []
        t = 0
        starts = sorted(onsets)
        for j, s in enumerate(starts):
            if s > t:
                events.append((s - t, -1))
            nxt = starts[j + 1] if j + 1 < len(starts) else bar_ticks
            e = min(ends[s], nxt)
            events.append((e - s, onsets[s]))
            t = e
        if t < bar_ticks:
            events.append((bar_ticks - t, -1))
        if all(p < 0 for _, p in events) and (not bars or i == len(measures) - 1):
            continue  # empty pickup/ending bars
        bars.append(events)
    return bars


def pieces_of(src: str, path: Path):
    from music21 import converter, stream

    parsed = converter.parse(str(path))
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    for n, score in enumerate(scores):
        pid = f"{src}/{path.name}" + (f"#{n}" if len(scores) > 1 else "")
        meter = _meter_of(score)
        if meter is None:
            continue
        tonic, mode = _key_of(score, src)
        if mode is None:
            continue
        part = score.parts[0] if score.parts else score
        for candidate in score.parts:  # chorales with instrumental parts: take the soprano
            if "soprano" in (candidate.partName or "").lower():
                part = candidate
                break
        bars = melody_bars(part, METERS[meter])
        notes = sum(1 for b in bars for _, p in b if p >= 0)
        if len(bars) < 4 or notes < 12:
            continue
        title = (score.metadata.title if score.metadata and score.metadata.title else "") or ""
        yield {"id": pid, "source": src, "title": title, "tonic": tonic, "mode": mode, "meter": meter,
               "held_out": held_out(pid), "bars": bars}


def build(out: Path, limit: int | None = None) -> dict:
    """Parse the corpus into ``out`` (JSON lines); returns counts by source and split."""
    files = corpus_files()
    if limit:
        files = files[:: max(1, len(files) // limit)][:limit]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    stats: dict[str, int] = {}
    t0 = time.time()
    with open(tmp, "w") as f:
        for i, (src, path) in enumerate(files):
            try:
                for piece in pieces_of(src, path):
                    f.write(json.dumps(piece, separators=(",", ":")) + "\n")
                    key = f"{src}:{'held_out' if piece['held_out'] else 'train'}"
                    stats[key] = stats.get(key, 0) + 1
            except Exception as e:  # a file music21 cannot read is skipped, and said so
                print(f"skip {path.name}: {type(e).__name__}: {e}", file=sys.stderr)
            if i % 100 == 0:
                print(f"{i}/{len(files)} files, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    tmp.replace(out)
    return stats


def load(path: Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/music/corpus.jsonl"))
    ap.add_argument("--limit", type=int, default=None, help="parse about this many files (quick tests)")
    a = ap.parse_args(argv)
    print(json.dumps(build(a.out, a.limit), indent=1))


if __name__ == "__main__":
    main()
