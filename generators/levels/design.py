"""Super Mario Bros level design pieces the models do not learn on their own (numpy only).

* **Opening** (:data:`OPENING` columns): solid ground under the start, no enemies and no pits
  there — the level begins where the player can look around, as every corpus level does.
* **End set piece** (:data:`END_PIECE`, the last :data:`END` columns): the closing staircase
  of the corpus's overworld levels (1-1, 4-1 ...: eight steps up, one wide top), eight flat
  columns of ground and the flag pole's base block with three columns after it, exactly as the
  VGLC encodes the end of ``mario-1-1``. Stamped into the sampled columns before tidying,
  controls and repair; the controls leave it alone (:class:`controls.SMBChunkControls` ``hi``).
* **Pacing** is in :class:`controls.SMBChunkControls` (rising enemy and pit density).

The stamping works on streamed chunks: :func:`stamp` takes a chunk and the level column its
first column has, so a piece that straddles chunks is stamped part by part.
"""

from __future__ import annotations

import numpy as np

from .games import SMB, to_grid

#: The last 21 columns of ``mario-1-1`` (staircase, flat run, flag pole base block, 3 columns).
END_PIECE_ROWS = (
    "---------------------",
    "---------------------",
    "---------------------",
    "---------------------",
    "---------------------",
    "-------XX------------",
    "------XXX------------",
    "-----XXXX------------",
    "----XXXXX------------",
    "---XXXXXX------------",
    "--XXXXXXX------------",
    "-XXXXXXXX------------",
    "XXXXXXXXX--------X---",
    "XXXXXXXXXXXXXXXXXXXXX",
)
END_PIECE = to_grid(END_PIECE_ROWS)
END = END_PIECE.shape[1]
#: Column (from the level's end) of the flag pole's base block.
FLAG_FROM_END = 4
OPENING = 6
#: Levels narrower than this get no set piece (the opening still applies).
MIN_WIDTH_FOR_END = 50

_X, _E, _EMPTY = ord("X"), ord("E"), ord("-")


def end_start(width: int) -> int:
    """Level column where the end set piece starts (``width`` when there is none)."""
    return width - END if width >= MIN_WIDTH_FOR_END else width


def stamp(chunk: np.ndarray, x0: int, width: int) -> np.ndarray:
    """Copy of ``chunk`` (level columns ``x0 ..``) with the opening and end set piece applied."""
    out = np.array(chunk, dtype=np.uint8, copy=True)
    w = out.shape[1]
    if out.shape[0] != SMB.height:
        raise ValueError(f"SMB chunk must have {SMB.height} rows, got {out.shape[0]}")
    # opening: ground, no enemies
    for c in range(max(0, -x0), min(w, OPENING - x0)):
        col = out[:, c]
        col[col == _E] = _EMPTY
        col[-1] = _X
    # end set piece
    e = end_start(width)
    for c in range(max(0, e - x0), w):
        out[:, c] = END_PIECE[:, x0 + c - e]
    return out


def has_end_piece(grid: np.ndarray) -> bool:
    """Whether a level ends with :data:`END_PIECE` (its last :data:`END` columns)."""
    g = np.asarray(grid, dtype=np.uint8)
    return g.shape[1] >= END and bool((g[:, -END:] == END_PIECE).all())
