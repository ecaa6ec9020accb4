"""Styles a game asks for: what each changes, in one table.

A style sets, for the same melody model:

* **tempo**: a range in quarter notes per minute; with ``tempo=0`` (the default) the piece's tempo is
  drawn from it by the seed. An explicit tempo (40-240) always wins: the style keeps everything
  else.
* **rhythm**: a shift added to the ``density`` control (shorter notes for battle, longer for the
  dungeon), clipped to 0..1;
* **form**: the forms ``form=auto`` chooses from (by seed);
* **accompaniment** (per meter) and **bass** pattern, see :mod:`.harmony`;
* **harmony**: the chord vocabulary and its priors (secondary dominants where the style wants
  colour);
* **instrumentation**: General MIDI programs of the melody, bass and chords tracks;
* **drums** (only with ``drums=true``): the groove :func:`.harmony.drum_bar` plays.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    name: str
    doc: str
    tempo: tuple[int, int]
    density_shift: float
    forms: tuple[str, ...]
    accompaniment: dict            # meter -> pattern name
    bass: str
    priors: dict                   # mode -> {chord name: prior}; chords not named are not used
    programs: dict                 # track -> GM program (0-based)
    drums: str


_MAJOR_BASIC = {"I": 0.6, "ii": 0.15, "IV": 0.3, "V": 0.4, "vi": 0.2}
_MINOR_BASIC = {"i": 0.7, "III": 0.0, "iv": 0.35, "v/V": 0.4, "VI": 0.2, "VII": 0.0}

STYLES = {
    "town": Style(
        "town", "a relaxed tune: flute over piano (Alberti bass, waltz in 3/4), root-fifth bass, I ii IV V vi "
        "with a secondary dominant (V/V)", (96, 120), 0.0, ("aaba", "abab"),
        {"4/4": "alberti", "2/4": "alberti", "3/4": "waltz", "6/8": "arpeggio"}, "root_fifth",
        {"major": {**_MAJOR_BASIC, "V/V": 0.1}, "minor": {**_MINOR_BASIC}},
        {"melody": 73, "bass": 32, "chords": 0}, "light"),
    "battle": Style(
        "battle", "driving: brass over a string ostinato, octave bass in eighths, minor-mode colours (VI, VII), "
        "rock drums", (140, 176), 0.15, ("abab", "aabb"),
        {"4/4": "ostinato", "2/4": "ostinato", "3/4": "ostinato", "6/8": "ostinato"}, "octaves",
        {"major": {"I": 0.5, "IV": 0.3, "V": 0.4, "vi": 0.3, "iii": 0.1},
         "minor": {"i": 0.6, "iv": 0.25, "v/V": 0.35, "VI": 0.35, "VII": 0.35}},
        {"melody": 61, "bass": 33, "chords": 48}, "rock"),
    "dungeon": Style(
        "dungeon", "slow and dark: clarinet over sustained pads, pedal bass, few chords (i iv VI V), "
        "toms", (60, 80), -0.2, ("aabb", "through"),
        {"4/4": "pads", "2/4": "pads", "3/4": "pads", "6/8": "pads"}, "pedal",
        {"major": {"I": 0.6, "IV": 0.3, "V": 0.3, "vi": 0.3, "iii": 0.15},
         "minor": {"i": 0.8, "iv": 0.35, "v/V": 0.3, "VI": 0.3}},
        {"melody": 71, "bass": 43, "chords": 89}, "toms"),
    "victory": Style(
        "victory", "a fanfare: trumpet over brass chords on the beats, march bass, I IV V ii with V/V, "
        "march drums", (112, 132), 0.05, ("aaba", "aabb"),
        {"4/4": "march", "2/4": "march", "3/4": "waltz", "6/8": "march"}, "root_fifth",
        {"major": {"I": 0.7, "ii": 0.15, "IV": 0.35, "V": 0.5, "V/V": 0.15},
         "minor": {"i": 0.6, "iv": 0.3, "v/V": 0.45, "VI": 0.3, "III": 0.2}},
        {"melody": 56, "bass": 58, "chords": 61}, "march"),
    "exploration": Style(
        "exploration", "open and wandering: oboe over harp arpeggios, a walking bass, I ii iii IV V vi with secondary dominants "
        "(V/V, V/vi, V/ii), ride cymbal", (84, 104), -0.05, ("abab", "aaba", "through"),
        {"4/4": "arpeggio", "2/4": "arpeggio", "3/4": "arpeggio", "6/8": "arpeggio"}, "walking",
        {"major": {"I": 0.45, "ii": 0.25, "iii": 0.1, "IV": 0.3, "V": 0.35, "vi": 0.3,
                   "V/V": 0.12, "V/vi": 0.12, "V/ii": 0.08},
         "minor": {"i": 0.5, "III": 0.25, "iv": 0.3, "v/V": 0.35, "VI": 0.3, "VII": 0.2, "V/iv": 0.1}},
        {"melody": 68, "bass": 32, "chords": 46}, "ride"),
}
STYLE_NAMES = tuple(STYLES)
DEFAULT_STYLE = "town"
