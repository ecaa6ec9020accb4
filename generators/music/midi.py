"""Standard MIDI files with ``mido``: writing the stems, reading a continuation prompt.

Written files are type 1, 480 ticks per quarter: a conductor track (tempo, time signature, key
signature) and one track per stem (melody, bass, chords on channels 0-2, named, with the style's
program change; ``drums``, when the piece has them, on General MIDI's percussion channel 10,
i.e. channel index 9, without a program). Events are sorted deterministically and carry no
timestamps, so equal notes give equal bytes.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import mido

from ..params import ParamError
from . import encoding as enc

PPQ = 480
TRACKS = ("melody", "bass", "chords")
DRUMS = "drums"
CHANNELS = {"melody": 0, "bass": 1, "chords": 2, DRUMS: 9}      # GM: channel 10 (index 9) is percussion
PROGRAMS = {"melody": 73, "bass": 32, "chords": 48}     # GM: flute, acoustic bass, strings (default)
NAMES_SHARP = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# mido's key signature names: spelling per pitch class
MAJOR_SIG = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_SIG = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm")
PITCH_CLASS = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6, "G": 7,
               "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}
KEY_NAMES = tuple(PITCH_CLASS)
VALID_SIGNATURES = frozenset(MAJOR_SIG + MINOR_SIG + ("C#", "Gb", "Cb", "A#m", "D#m", "Abm"))
MAX_PROMPT_BARS = 32


def key_signature(name: str, mode: str) -> str:
    """mido's key signature text for a key name as requested (its spelling kept when mido has it)."""
    wanted = name + ("m" if mode == "minor" else "")
    if wanted in VALID_SIGNATURES:
        return wanted
    pc = PITCH_CLASS[name]
    return MINOR_SIG[pc] if mode == "minor" else MAJOR_SIG[pc]


def write(notes, *, tempo: int, meter: str, key_name: str, mode: str, title: str = "gamegen",
          programs: dict | None = None, tracks: tuple[str, ...] | None = None) -> bytes:
    """``notes``: :class:`~gamegen.generators.events.Note` (times in quarter notes). ``tracks``: which
    track names to write (default: the three stems, plus drums when any note is a drum).

    Meta events are encoded by mido; note events are packed here (thousands of them in a dense
    style: mido's per-message checks cost ~0.1 ms each). The bytes are what mido writes for the
    same messages (running status included), which ``tests/test_music_form.py`` checks.
    """
    programs = programs or PROGRAMS
    if tracks is None:
        tracks = TRACKS + ((DRUMS,) if any(n.track == DRUMS for n in notes) else ())
    num, den = (int(x) for x in meter.split("/"))
    end = max((round((n.start + n.duration) * PPQ) for n in notes), default=0)
    conductor = [
        (0, bytes(mido.MetaMessage("track_name", name=title).bytes())),
        (0, bytes(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo)).bytes())),
        (0, bytes(mido.MetaMessage("time_signature", numerator=num, denominator=den, clocks_per_click=24 if den == 4 else 36,
                             notated_32nd_notes_per_beat=8).bytes())),
        (0, bytes(mido.MetaMessage("key_signature", key=key_signature(key_name, mode)).bytes())),
        (end, END_OF_TRACK),
    ]
    chunks = [_track(conductor)]
    for name in tracks:
        ch = CHANNELS[name]
        evs = [(0, bytes(mido.MetaMessage("track_name", name=name).bytes()))]
        if name != DRUMS:
            evs.append((0, bytes((0xC0 | ch, programs[name]))))
        timed = []
        for n in notes:
            if n.track != name:
                continue
            a, b = round(n.start * PPQ), round((n.start + n.duration) * PPQ)
            timed.append((b, 0, n.pitch, 0))          # note off first at equal times
            timed.append((a, 1, n.pitch, n.velocity))
        timed.sort()
        now = 0
        for tick, on, pitch, vel in timed:
            evs.append((tick - now, bytes(((0x90 if on else 0x80) | ch, pitch, vel if on else 0))))
            now = tick
        evs.append((max(0, end - now), END_OF_TRACK))
        chunks.append(_track(evs))
    return b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), PPQ) + b"".join(chunks)


END_OF_TRACK = b"\xff\x2f\x00"


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _track(events) -> bytes:
    """An ``MTrk`` chunk from (delta ticks, event bytes), with running status as mido writes it
    (a channel message repeating the previous status byte omits it; a meta event resets it)."""
    parts, status = [], None
    for delta, ev in events:
        parts.append(_vlq(delta))
        if ev[0] == 0xFF:
            status = None
            parts.append(ev)
        elif ev[0] == status:
            parts.append(ev[1:])
        else:
            status = ev[0]
            parts.append(ev)
    data = b"".join(parts)
    return b"MTrk" + struct.pack(">I", len(data)) + data


@dataclass
class Prompt:
    """A continuation prompt: its last bars in the normalised key, and what the file said."""

    bars: list[list[tuple[int, int]]]     # normalised (ticks, pitch) events
    meter: str
    tonic: int                            # pitch class of the key
    mode: str
    tempo: int | None
    key_from: str                         # "key signature" or "estimated"
    notes: int


def read_notes(data: bytes):
    """(notes [(start_quarters, dur_quarters, pitch, track_name)], time signature, key sig, bpm)."""
    try:
        mf = mido.MidiFile(file=io.BytesIO(data))
        tracks = list(mf.tracks)
        ppq = mf.ticks_per_beat
    except Exception as e:  # mido raises OSError, EOFError, ValueError, KeyError ... on bad files
        raise ParamError("continuation", f"continuation is not a readable standard MIDI file ({type(e).__name__}: "
                                         f"{str(e)[:120] or 'truncated'}); send a .mid file (format 0 or 1)") from None
    if ppq is None or ppq < 0:
        raise ParamError("continuation", "continuation MIDI uses SMPTE time division (frames per second); "
                                         "send a file timed in ticks per quarter note (1 to 32767)")
    if ppq == 0:
        raise ParamError("continuation", "continuation MIDI header says 0 ticks per quarter note; "
                                         "it must be 1 to 32767")
    ts = ks = bpm = None
    notes = []
    for tr in tracks:
        name = ""
        now = 0
        open_: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for msg in tr:
            now += msg.time
            if msg.is_meta:
                if msg.type == "track_name" and not name:
                    name = str(msg.name).strip().lower()
                elif msg.type == "time_signature" and ts is None:
                    ts = f"{msg.numerator}/{msg.denominator}"
                elif msg.type == "key_signature" and ks is None:
                    ks = msg.key
                elif msg.type == "set_tempo" and bpm is None:
                    if msg.tempo <= 0:
                        raise ParamError("continuation", f"continuation MIDI sets tempo {msg.tempo} "
                                                         "microseconds per quarter note; it must be 1 or more "
                                                         "(500000 = 120 bpm)")
                    bpm = round(mido.tempo2bpm(msg.tempo))
                continue
            if msg.type not in ("note_on", "note_off") or msg.channel == 9:
                continue
            k = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                open_.setdefault(k, []).append((now, msg.velocity))
            elif open_.get(k):
                start, _ = open_[k].pop(0)
                if now > start:
                    notes.append((start / ppq, (now - start) / ppq, msg.note, name))
    return notes, ts, ks, bpm


def check_prompt(field: str, data: bytes) -> None:
    """The upload sniff for a continuation: the file must parse into a usable prompt (notes, a
    supported meter, ticks-per-beat timing). Runs before any work, so a bake file with a bad
    MIDI file is refused whole; raises :class:`ParamError` naming the field."""
    parse_prompt(data, "4/4")


def parse_prompt(data: bytes, meter_default: str) -> Prompt:
    """The melody of a MIDI file as normalised bars (the ``melody`` track, else the top line)."""
    from .analysis import estimate_key

    notes, ts, ks, bpm = read_notes(data)
    if not notes:
        raise ParamError("continuation", "continuation MIDI file has no notes (channel 10 drums are ignored)")
    meter = meter_default
    if ts is not None:
        meter = {"2/2": "4/4"}.get(ts, ts)
        if meter not in enc.METERS:
            raise ParamError("continuation", f"continuation time signature {ts} is not supported; "
                                             f"supported: {', '.join(enc.METERS)}")
    if any(n[3] == "melody" for n in notes):
        notes = [n for n in notes if n[3] == "melody"]
    # top line: at each onset (on the tick grid) the highest pitch, sounding until the next onset
    onsets: dict[int, tuple[int, int]] = {}
    for start, dur, pitch, _ in notes:
        a = round(start * enc.TICKS)
        b = max(a + 1, round((start + dur) * enc.TICKS))
        if a not in onsets or pitch > onsets[a][0]:
            onsets[a] = (pitch, b)
    bar_ticks = enc.METERS[meter]
    starts = sorted(onsets)
    total_bars = max(1, -(-max(onsets[s][1] for s in starts) // bar_ticks))
    first_bar = max(0, total_bars - MAX_PROMPT_BARS)
    line = []
    for i, s in enumerate(starts):
        e = min(onsets[s][1], starts[i + 1] if i + 1 < len(starts) else onsets[s][1])
        line.append((s, e, onsets[s][0]))
    if ks is not None:
        tonic, mode = {**PITCH_CLASS, "Cb": 11}[ks[:-1] if ks.endswith("m") else ks], "minor" if ks.endswith("m") else "major"
        key_from = "key signature"
    else:
        tonic, mode = estimate_key([(s / enc.TICKS, (e - s) / enc.TICKS, p) for s, e, p in line])
        key_from = "estimated"
    shift = enc.normal_shift(tonic, mode)
    bars: list[list[tuple[int, int]]] = []
    for b in range(first_bar, total_bars):
        lo, hi = b * bar_ticks, (b + 1) * bar_ticks
        ev, t = [], lo
        for s, e, p in line:
            a, z = max(s, lo), min(e, hi)
            if z <= a or s < lo:
                continue  # a note from the previous bar is not re-struck
            if a > t:
                ev.append((a - t, -1))
            q = p + shift
            while q < enc.PMIN:
                q += 12
            while q > enc.PMAX:
                q -= 12
            ev.append((z - a, q))
            t = z
        if t < hi:
            ev.append((hi - t, -1))
        bars.append(ev)
    return Prompt(bars=bars, meter=meter, tonic=tonic, mode=mode, tempo=bpm, key_from=key_from,
                  notes=sum(1 for bar in bars for _, p in bar if p >= 0))
