"""Music quality against the held-out corpus, control accuracy and loop seams (model vs baseline).

    python -m gamegen.generators.music.corpus --out runs/music/corpus.jsonl   # once (minutes)
    python benchmarks/music_quality.py [--pieces 100]                 # everything, with the contact sheet
    python benchmarks/music_quality.py --section form --label after   # only the form table (issue 14)

Everything is measured in the normalised key (C major / A minor) on the melody stem:
pitch-class entropy (bits), scale consistency (muspy: best fraction of notes in one major/minor
scale), in-key ratio (stated key; minor counts the raised 7th), interval and rhythm histogram
distances (total variation against the pooled held-out histogram: 0 same, 1 disjoint), and
novelty: the longest run of notes (pitch + length) copied verbatim from any training piece.
Control accuracy uses our own estimators (Krumhansl–Schmuckler key, template meter) from
:mod:`gamegen.generators.music.analysis`, calibrated on the held-out corpus first.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from gamegen.generators.events import Asset, Final, MusicBar
from gamegen.generators.music import analysis as an
from gamegen.generators.music import encoding as enc
from gamegen.generators.music.corpus import load
from gamegen.generators.music.midi import NAMES_SHARP
from gamegen.server.registry import load_registry

MODELS = ("music/music-lstm", "music/music-markov")


def piece_bars(piece: dict) -> list[list[tuple[int, int]]]:
    s = enc.normal_shift(piece["tonic"], piece["mode"])
    return [[(t, p + s if p >= 0 else -1) for t, p in bar] for bar in piece["bars"]]


def metrics(melodies: list[tuple[list, str]], sam: an.SuffixAutomaton, ref_int, ref_rhy) -> dict:
    ent, sc, ik, nov = [], [], [], []
    ints, rhy = np.zeros(25), np.zeros(len(enc.DURS))
    for bars, mode in melodies:
        notes = enc.notes_of(bars)
        ps = [p for _, _, p in notes]
        if len(ps) < 2:
            continue
        ent.append(an.pitch_class_entropy(ps))
        sc.append(an.scale_consistency(ps))
        ik.append(an.in_key_ratio(ps, enc.TONIC[mode], mode))
        ints += an.interval_histogram(ps)
        rhy += an.rhythm_histogram([d for _, d, _ in notes])
        nov.append(sam.longest_match(an.note_symbols(bars)) if sam is not None else math.nan)
    return {"n": len(ent), "entropy": np.mean(ent), "scale": np.mean(sc), "in_key": np.mean(ik),
            "int_tv": an.hist_distance(ints, ref_int), "rhy_tv": an.hist_distance(rhy, ref_rhy),
            "nov_mean": np.mean(nov), "nov_max": np.max(nov), "ints": ints, "rhy": rhy}


def heldout_nll(stepper, pieces) -> tuple[float, int]:
    """Teacher-forced NLL of the held-out pieces (the meter token is given, as in training)."""
    total, count = 0.0, 0
    for p in pieces:
        for toks, pos, ph in enc.piece_tokens(p, (0,)):
            state = stepper.start()
            logits = None
            for i, (t, q, h) in enumerate(zip(toks, pos, ph)):
                if i >= 2:
                    m = logits.max()
                    total -= logits[t] - m - math.log(np.exp(logits - m).sum())
                    count += 1
                logits, state = stepper.step(state, int(t), int(q), int(h))
    return total, count


def generate(gen, seed, params, formats=("mid",)):
    evs = list(gen.generate(seed, params, list(formats)))
    final = evs[-1]
    assert isinstance(final, Final)
    return evs, final


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=Path("runs/music/corpus.jsonl"))
    ap.add_argument("--pieces", type=int, default=100)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--section", choices=("all", "form"), default="all",
                    help="form: only the form/cadence/rhythm/register table and the contact sheet")
    ap.add_argument("--sheet", type=Path, default=Path("benchmarks/results/music_pianoroll.png"))
    ap.add_argument("--label", default="", help="a word for the table rows (e.g. before / after)")
    a = ap.parse_args()
    pieces = load(a.corpus)
    train = [p for p in pieces if not p["held_out"]]
    held = [p for p in pieces if p["held_out"]]
    if a.section == "form":
        form_table(load_registry(device="cpu"), held, a.pieces, a.bars, a.label, a.sheet)
        return
    print(f"corpus: {len(train)} training pieces, {len(held)} held out; {a.pieces} generated pieces per model, "
          f"{a.bars} bars, modes/meters drawn like the held-out pieces")
    sam = an.SuffixAutomaton()
    for p in train:
        sam.add_sequence(an.note_symbols(piece_bars(p)))
    held_mel = [(piece_bars(p), p["mode"]) for p in held]
    ref_int = sum(an.interval_histogram([n[2] for n in enc.notes_of(b)]) for b, _ in held_mel)
    ref_rhy = sum(an.rhythm_histogram([n[1] for n in enc.notes_of(b)]) for b, _ in held_mel)
    # noise floor: one half of the held-out pieces against the other
    half_a, half_b = held_mel[::2], held_mel[1::2]
    ha = metrics(half_a, None, ref_int, ref_rhy)
    hb = metrics(half_b, None, ref_int, ref_rhy)
    rows = [("held-out corpus (reference)", metrics(held_mel, sam, ref_int, ref_rhy))]

    reg = load_registry(device="cpu")
    rng = np.random.default_rng(0)
    plan = [held[int(i)] for i in rng.integers(0, len(held), a.pieces)]
    generated: dict[str, list] = {}
    for ref in MODELS:
        gen = reg.resolve(ref)
        mel = []
        for seed, p in enumerate(plan):
            key = "C" if p["mode"] == "major" else "A"
            _, final = generate(gen, seed, {"key": key, "mode": p["mode"], "meter": p["meter"], "bars": a.bars})
            mel.append((final.extra["melody_bars"], p["mode"]))
        generated[ref] = mel
        rows.append((ref, metrics(mel, sam, ref_int, ref_rhy)))

    print("\n### Held-out negative log-likelihood (nats per token, no sampling masks)\n")
    print("| model | held-out pieces | tokens | NLL per token |")
    print("|---|---|---|---|")
    for ref in MODELS:
        total, count = heldout_nll(reg.resolve(ref).stepper, held)
        print(f"| {ref} | {len(held)} | {count} | {total / count:.3f} |")

    print("\n### Quality against the held-out corpus (melody, normalised key)\n")
    print("| source | pieces | pitch-class entropy | scale consistency | in-key ratio | interval hist. TV | "
          "rhythm hist. TV | longest copied run (mean / max notes) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, m in rows:
        tv = "0 (is the reference)" if name.startswith("held") else f"{m['int_tv']:.3f}"
        rv = "0 (is the reference)" if name.startswith("held") else f"{m['rhy_tv']:.3f}"
        print(f"| {name} | {m['n']} | {m['entropy']:.2f} | {m['scale']:.3f} | {m['in_key']:.3f} | {tv} | {rv} | "
              f"{m['nov_mean']:.1f} / {m['nov_max']:.0f} |")
    print(f"\nnoise floor: held-out half vs half: interval TV {an.hist_distance(ha['ints'], hb['ints']):.3f}, "
          f"rhythm TV {an.hist_distance(ha['rhy'], hb['rhy']):.3f}")

    # ---- control accuracy --------------------------------------------------------------------
    print("\n### Control accuracy (estimated from the output vs requested)\n")
    cal_key = np.mean([an.estimate_key([(s / 12, d / 12, p) for s, d, p in enc.notes_of(p_["bars"])])
                       == (p_["tonic"], p_["mode"]) for p_ in held])
    cal = [an.estimate_meter([(s / 12, d / 12, p) for s, d, p in enc.notes_of(p_["bars"])]) for p_ in held]
    cal_meter = np.mean([e == p_["meter"] for e, p_ in zip(cal, held)])
    cal_fam = np.mean([an.meter_family(e) == an.meter_family(p_["meter"]) for e, p_ in zip(cal, held)])
    print(f"estimator calibration on the {len(held)} held-out corpus melodies (true key/meter from the score): "
          f"key+mode {cal_key:.2f}, meter {cal_meter:.2f} exact / {cal_fam:.2f} family (2/4 = 4/4)\n")
    print("| model | key+mode (melody) | key+mode (all stems) | meter exact / family (melody) | "
          "meter exact / family (all stems) | tempo, bars, time signature in the MIDI |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(1)
    for ref in MODELS:
        gen = reg.resolve(ref)
        km = ka = mm = ma = fm = fa = exact = 0
        for seed in range(a.pieces):
            tonic, mode = int(rng.integers(0, 12)), ("major", "minor")[int(rng.integers(0, 2))]
            meter = list(enc.METERS)[int(rng.integers(0, len(enc.METERS)))]
            tempo, bars = int(rng.integers(60, 181)), int(rng.integers(8, 33))
            evs, final = generate(gen, 1000 + seed, {"key": NAMES_SHARP[tonic], "mode": mode, "meter": meter,
                                                     "tempo": tempo, "bars": bars})
            notes = [n for e in evs if isinstance(e, MusicBar) for n in e.notes]
            mel = [(n.start, n.duration, n.pitch) for n in notes if n.track == "melody"]
            allv = [(n.start, n.duration, n.pitch) for n in notes]
            km += an.estimate_key(mel) == (tonic, mode)
            ka += an.estimate_key(allv) == (tonic, mode)
            em, ea = an.estimate_meter(mel), an.estimate_meter(allv)
            mm += em == meter
            ma += ea == meter
            fm += an.meter_family(em) == an.meter_family(meter)
            fa += an.meter_family(ea) == an.meter_family(meter)
            exact += _midi_matches(next(e for e in evs if isinstance(e, Asset)).data, tempo, meter, bars)
        n = a.pieces
        print(f"| {ref} | {km / n:.2f} | {ka / n:.2f} | {mm / n:.2f} / {fm / n:.2f} | {ma / n:.2f} / {fa / n:.2f} | "
              f"{exact / n:.2f} |")

    print("\n| model | density 0 | 0.25 | 0.5 | 0.75 | 1 (melody notes per 4/4 bar) | register low / mid / high "
          "(mean melody pitch) | temperature 0.5 / 1 / 1.5 (pitch-class entropy) |")
    print("|---|---|---|---|---|---|---|---|")
    k = max(10, a.pieces // 5)
    for ref in MODELS:
        gen = reg.resolve(ref)
        dens = []
        for d in (0.0, 0.25, 0.5, 0.75, 1.0):
            cnt = [len(enc.notes_of(generate(gen, s, {"density": d, "bars": 8})[1].extra["melody_bars"])) / 8
                   for s in range(k)]
            dens.append(np.mean(cnt))
        regs = []
        for r in ("low", "mid", "high"):
            ps = [n.pitch for s in range(k) for e in generate(gen, s, {"register": r, "bars": 8})[0]
                  if isinstance(e, MusicBar) for n in e.notes if n.track == "melody"]
            regs.append(np.mean(ps))
        temps = []
        for t in (0.5, 1.0, 1.5):
            temps.append(np.mean([an.pitch_class_entropy([p for *_, p in enc.notes_of(
                generate(gen, s, {"temperature": t, "bars": 8})[1].extra["melody_bars"])]) for s in range(k)]))
        print(f"| {ref} | " + " | ".join(f"{x:.2f}" for x in dens) + " | " +
              " / ".join(f"{x:.1f}" for x in regs) + " | " + " / ".join(f"{x:.2f}" for x in temps) + " |")

    continuation_table(reg, held, max(20, a.pieces // 2))

    # ---- loop seams --------------------------------------------------------------------------
    print("\n### Loop seams (8-bar pieces at 120 bpm; the seam is last bar -> first bar)\n")
    print("| model | loop | melodic jump at the seam (mean semitones) | jump <= 2 semitones | silence at the seam "
          "(mean beats) | note sustained over the seam | WAV wrap jump: rank among the file's sample steps (mean; "
          "share > 0.99 = clicks) |")
    print("|---|---|---|---|---|---|---|")
    from gamegen.generators.music import synth
    for ref in MODELS:
        gen = reg.resolve(ref)
        for loop in (False, True):
            jumps, gaps, over, clicks = [], [], 0, []
            for s in range(a.pieces):
                evs, final = generate(gen, s, {"loop": loop, "bars": 8, "tempo": 120, "meter": "4/4"}, ("wav",))
                bars = final.extra["melody_bars"]
                sm = an.seam(bars[0], bars[-1], enc.METERS["4/4"])
                jumps.append(sm["interval"])
                gaps.append(sm["gap_ticks"] / enc.TICKS)
                notes = [n for e in evs if isinstance(e, MusicBar) for n in e.notes]
                over += any(n.start + n.duration > 32 + 1e-9 for n in notes)
                wav = next(e for e in evs if isinstance(e, Asset)).data
                x = np.frombuffer(wav[44:], dtype="<i2").astype(float)[: int(32 * 0.5 * synth.RATE)]
                clicks.append(an.wav_click(x))  # a non-loop file cut to the piece length, as a game would loop it
            print(f"| {ref} | {'yes' if loop else 'no'} | {np.nanmean(jumps):.2f} | "
                  f"{np.nanmean(np.array(jumps) <= 2):.2f} | {np.nanmean(gaps):.2f} | {over}/{a.pieces} | "
                  f"{np.mean(clicks):.2f} ({np.mean(np.array(clicks) > 0.99):.2f}) |")

    form_table(reg, held, a.pieces, a.bars, a.label, a.sheet)


def continuation_table(reg, held, pieces: int) -> None:
    """Prompt with a held-out tune's first 8 bars; compare the 8 new bars with the tune's real next 8."""
    from gamegen.generators.events import Note
    from gamegen.generators.music import midi

    print("\n### Continuation: prompted with a held-out tune's first 8 bars, 8 new bars vs the tune's real "
          "bars 9-16\n")
    print("| model | prompt | rhythm hist. TV to the real bars | interval hist. TV | |mean pitch difference| "
          "(semitones) | same meter and key in the MIDI |")
    print("|---|---|---|---|---|---|")
    tunes = [p for p in held if len(p["bars"]) >= 16][:pieces]
    for ref in MODELS:
        gen = reg.resolve(ref)
        res = {True: ([], [], [], 0), False: ([], [], [], 0)}
        for i, p in enumerate(tunes):
            bars = piece_bars(p)
            shift = -enc.normal_shift(p["tonic"], p["mode"])
            bar_q = enc.METERS[p["meter"]] / enc.TICKS
            notes = [Note("melody", q + shift, s / enc.TICKS, d / enc.TICKS, 90) for s, d, q in enc.notes_of(bars[:8])]
            prompt = midi.write(notes, tempo=100, meter=p["meter"], key_name=midi.NAMES_SHARP[p["tonic"]], mode=p["mode"])
            real = enc.notes_of(bars[8:16])
            key = midi.NAMES_SHARP[p["tonic"]]
            for prompted in (True, False):
                params = {"bars": 8, "mode": p["mode"], "meter": p["meter"], "key": key}
                if prompted:
                    params["continuation"] = prompt
                evs, final = generate(gen, i, params, ("mid",))
                got = enc.notes_of(final.extra["melody_bars"])
                r, n, m, ok = res[prompted]
                r.append(an.hist_distance(an.rhythm_histogram([d for _, d, _ in got]),
                                          an.rhythm_histogram([d for _, d, _ in real])))
                n.append(an.hist_distance(an.interval_histogram([q for *_, q in got]),
                                          an.interval_histogram([q for *_, q in real])))
                m.append(abs(np.mean([q for *_, q in got]) - np.mean([q for *_, q in real])))
                same = final.extra["meter"] == p["meter"] and final.extra["key"] == key and final.extra["mode"] == p["mode"]
                res[prompted] = (r, n, m, ok + same)
        for prompted in (True, False):
            r, n, m, ok = res[prompted]
            print(f"| {ref} | {'first 8 bars' if prompted else 'none (same key, mode, meter)'} | {np.mean(r):.3f} | "
                  f"{np.mean(n):.3f} | {np.mean(m):.2f} | {ok}/{len(tunes)} |")


def _summary(pieces) -> dict:
    """Form, cadence, rhythm, interval and register figures of (bars, mode, meter, notes|None, window|None)."""
    rep, cad, other, ent, eighth, mono, ceil, pinned, over, ints, rhy = ([] for _ in range(11))
    ints_h, rhy_h = np.zeros(25), np.zeros(len(enc.DURS))
    for bars, mode, meter, notes, window in pieces:
        mel = enc.notes_of(bars)
        if len(mel) < 2:
            continue
        durs = [d for _, d, _ in mel]
        rep.append(an.repeat_fraction(bars))
        c, o = an.cadence_rates(bars, mode, meter)
        cad.append(c)
        other.append(o)
        ent.append(an.rhythm_entropy(durs))
        eighth.append(an.eighth_share(durs))
        mono.append(an.eighth_share(durs) > 0.8)
        ints_h += an.interval_histogram([p for *_, p in mel])
        rhy_h += an.rhythm_histogram(durs)
        if window is not None:
            top = [p >= window[1] - 2 for *_, p in mel]
            ceil.append(np.mean(top))
            pinned.append(np.mean(top) > 0.3)
        if notes is not None:
            m = [(n.start, n.duration, n.pitch) for n in notes if n.track == "melody"]
            acc = [(n.start, n.duration, n.pitch) for n in notes if n.track == "chords"]
            over.append(an.register_overlap(m, acc))
    return {"n": len(rep), "rep": np.mean(rep), "cad": np.nanmean(cad), "other": np.nanmean(other),
            "ent": np.mean(ent), "eighth": np.mean(eighth), "mono": np.mean(mono),
            "ceil": np.mean(ceil) if ceil else math.nan, "pinned": np.mean(pinned) if pinned else math.nan,
            "over": np.mean(over) if over else math.nan, "ints": ints_h, "rhy": rhy_h}


def form_table(reg, held, n_pieces: int, n_bars: int, label: str, sheet: Path | None) -> None:
    """Issue 14's figures: does a piece have form (returning bars, cadences at bars 4, 8, ...),
    varied rhythm, a corpus-like interval profile and an accompaniment under the melody?"""
    from gamegen.generators.music.generator import REGISTERS

    rng = np.random.default_rng(0)
    plan = [held[int(i)] for i in rng.integers(0, len(held), n_pieces)]
    real = [(piece_bars(p)[:n_bars], p["mode"], p["meter"], None, None) for p in held if len(p["bars"]) >= 8]
    rows = [("held-out corpus (first %d bars)" % n_bars, _summary(real))]
    examples: dict[str, list] = {"held-out corpus": [(r[0], None) for r in real[:3]]}
    for ref in MODELS:
        gen = reg.resolve(ref)
        names = {p.name for p in gen.info.params}
        got = []
        for seed, p in enumerate(plan):
            params = {"key": "C" if p["mode"] == "major" else "A", "mode": p["mode"], "meter": p["meter"],
                      "bars": n_bars}
            evs, final = generate(gen, seed, params)
            notes = [n for e in evs if isinstance(e, MusicBar) for n in e.notes]
            got.append((final.extra["melody_bars"], p["mode"], p["meter"], notes, REGISTERS["mid"]))
        rows.append((ref, _summary(got)))
        examples[ref] = [(g[0], g[3]) for g in got[:3]]
        if "style" in names:
            for style in gen.info.params[[p.name for p in gen.info.params].index("style")].choices:
                sub = []
                for seed in range(max(8, n_pieces // 5)):
                    evs, final = generate(gen, seed, {"bars": n_bars, "style": style})
                    notes = [n for e in evs if isinstance(e, MusicBar) for n in e.notes]
                    sub.append((final.extra["melody_bars"], "major", final.extra["meter"], notes, REGISTERS["mid"]))
                rows.append((f"{ref} style={style}", _summary(sub)))
    ref_int, ref_rhy = rows[0][1]["ints"], rows[0][1]["rhy"]
    tag = f" ({label})" if label else ""
    print(f"\n### Form, cadences, rhythm and register{tag}: {n_pieces} pieces per model, {n_bars} bars, "
          "modes/meters drawn like the held-out pieces\n")
    print("| source | pieces | bars that repeat or vary an earlier bar | cadence at phrase ends (bars 4, 8, ...) | "
          "cadence-like ending elsewhere | rhythm entropy (bits) | eighth notes (share) | pieces > 80 % eighths | "
          "notes in the window's top 3 semitones / pieces > 30 % there | interval TV to corpus | rhythm TV to corpus | "
          "chord notes at or above the melody |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, m in rows:
        ref0 = name.startswith("held")
        print(f"| {name} | {m['n']} | {m['rep']:.2f} | {m['cad']:.2f} | {m['other']:.2f} | {m['ent']:.2f} | "
              f"{m['eighth']:.2f} | {m['mono']:.2f} | "
              + ("— | " if math.isnan(m["ceil"]) else f"{m['ceil']:.2f} / {m['pinned']:.2f} | ")
              + ("0 (reference) | 0 (reference) | " if ref0 else
                 f"{an.hist_distance(m['ints'], ref_int):.3f} | {an.hist_distance(m['rhy'], ref_rhy):.3f} | ")
              + ("— |" if math.isnan(m["over"]) else f"{m['over']:.2f} |"))
    if sheet is not None:
        pianoroll_sheet(examples, sheet)
        print(f"\ncontact sheet: {sheet}")
        gen = reg.resolve(MODELS[0])
        if "style" in {p.name for p in gen.info.params}:
            styles = {}
            for style in ("town", "battle", "dungeon", "victory", "exploration"):
                rolls = []
                for seed in (1, 2):
                    evs, final = generate(gen, seed, {"bars": 8, "style": style, "drums": True})
                    rolls.append((final.extra["melody_bars"], [n for e in evs if isinstance(e, MusicBar)
                                                               for n in e.notes]))
                styles[f"{MODELS[0]} style={style}, drums"] = rolls
            out = sheet.with_name(sheet.stem + "_styles.png")
            pianoroll_sheet(styles, out, cols_per_row=True)
            print(f"styles sheet: {out}")
            out = sheet.with_name(sheet.stem + "_spectrogram.png")
            spectrogram_sheet(gen, out)
            print(f"preview spectrograms: {out}")


def spectrogram_sheet(gen, out: Path) -> None:
    """The same 8 bars (town, drums) rendered by the built-in synthesiser and by FluidSynth."""
    import io
    import wave

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gamegen.generators.music import synth

    choices = ["builtin"] + (["auto"] if synth.fluidsynth() else [])
    fig, axes = plt.subplots(len(choices), 1, figsize=(12, 2.6 * len(choices)), dpi=72, squeeze=False)
    for ax, choice in zip(axes[:, 0], choices):
        evs, final = generate(gen, 3, {"bars": 8, "style": "town", "drums": True, "tempo": 112, "synth": choice},
                              ("wav",))
        wav = next(e for e in evs if isinstance(e, Asset)).data
        with wave.open(io.BytesIO(wav)) as w:
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float) / 32768
        ax.specgram(x, NFFT=1024, Fs=synth.RATE, noverlap=512, cmap="magma", vmin=-120)
        ax.set_ylim(0, 8000)
        ax.set_title(f"{synth.renderer(choice)} (peak {np.abs(x).max():.2f}, rms {np.sqrt((x ** 2).mean()):.3f})",
                     fontsize=10)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def pianoroll_sheet(examples: dict[str, list], out: Path, cols_per_row: bool = False) -> None:
    """Piano rolls side by side: one column per source, three pieces each (melody red, chords blue,
    bass green, drums grey ticks at the bottom; bar lines thin, phrase lines every 4 bars thick).
    ``cols_per_row``: one row per source instead (its pieces side by side)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = list(examples)
    rows = max(len(v) for v in examples.values())
    if cols_per_row:
        fig, grid = plt.subplots(len(cols), rows, figsize=(6.2 * rows, 2.4 * len(cols)), dpi=72, squeeze=False)
        axes = grid.T
    else:
        fig, axes = plt.subplots(rows, len(cols), figsize=(6.2 * len(cols), 2.4 * rows), dpi=72, squeeze=False)
    colours = {"melody": "#d62728", "chords": "#1f77b4", "bass": "#2ca02c", "drums": "#7f7f7f"}
    for c, name in enumerate(cols):
        for r in range(rows):
            ax = axes[r][c]
            if r >= len(examples[name]):
                ax.axis("off")
                continue
            bars, notes = examples[name][r]
            bar_q = sum(t for t, _ in bars[0]) / enc.TICKS
            if notes is None:
                notes = [(s / enc.TICKS, d / enc.TICKS, p, "melody") for s, d, p in enc.notes_of(bars)]
            else:
                notes = [(n.start, n.duration, n.pitch, n.track) for n in notes]
            ps = [n[2] for n in notes if n[3] != "drums"] or [60]
            drum_row = min(ps) - 3
            for s, d, p, tr in notes:
                y = drum_row if tr == "drums" else p
                ax.add_patch(plt.Rectangle((s, y - 0.4), max(d, 0.08), 0.8, color=colours[tr], lw=0))
            for b in range(len(bars) + 1):
                ax.axvline(b * bar_q, color="k", lw=1.6 if b % 4 == 0 else 0.3, alpha=0.6)
            ax.set_xlim(0, len(bars) * bar_q)
            drums = any(n[3] == "drums" for n in notes)
            ax.set_ylim((drum_row if drums else min(ps)) - 2, max(ps) + 2)
            ax.set_yticks([])
            ax.set_xticks([])
            if r == 0:
                ax.set_title(name, fontsize=12)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def _midi_matches(data: bytes, tempo: int, meter: str, bars: int) -> bool:
    import io

    import mido

    mf = mido.MidiFile(file=io.BytesIO(data))
    meta = {m.type: m for m in mf.tracks[0] if m.is_meta}
    ts = meta["time_signature"]
    length_q = sum(m.time for m in mf.tracks[0]) / mf.ticks_per_beat   # the conductor track ends with the piece
    return (round(mido.tempo2bpm(meta["set_tempo"].tempo)) == tempo and f"{ts.numerator}/{ts.denominator}" == meter
            and abs(length_q - bars * enc.METERS[meter] / enc.TICKS) < 1e-6)


if __name__ == "__main__":
    main()
