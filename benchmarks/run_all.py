"""Run every benchmark with the settings BENCHMARKS.md reports (`make bench`).

level_families.py needs the training checkpoints under runs/ for its PyTorch-eager column; it
trains them first when missing (a few minutes, single-threaded).
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

for game in ("smb", "loderunner"):
    for family in ("lstm", "dcgan"):
        ckpt = ROOT / "runs" / f"{game}-{family}.pt"
        if not ckpt.exists():
            print(f"training {ckpt.name} (missing)", flush=True)
            subprocess.run([sys.executable, "-m", "gamegen.generators.levels.train", "--game", game,
                            "--family", family, "--out", str(ckpt)], check=True)
music_corpus = ROOT / "runs" / "music" / "corpus.jsonl"
if not music_corpus.exists():
    print(f"parsing the music21 corpus into {music_corpus} (missing; several minutes)", flush=True)
    subprocess.run([sys.executable, "-m", "gamegen.generators.music.corpus", "--out", str(music_corpus)], check=True)
music_ckpt = ROOT / "runs" / "music" / "lstm.pt"
if not music_ckpt.exists():
    print(f"training {music_ckpt.name} (missing; 9 min)", flush=True)
    subprocess.run([sys.executable, "-m", "gamegen.generators.music.train", "--corpus", str(music_corpus),
                    "--out", str(music_ckpt), "--epochs", "20", "--minutes", "9"], check=True)
RUNS = [
    ["latency.py", "--n", "200"],
    ["levels_quality.py", "--seeds", "100"],
    ["concurrency.py"],
    ["level_families.py", "--samples", "50", "--seed", "2024"],
    ["terrain.py", "--repeat", "3"],
    ["music_latency.py", "--n", "30"],
    ["music_quality.py", "--pieces", "100"],
    ["textures_latency.py"],
    ["textures_latency.py", "--large"],
    ["textures_quality.py"],
    ["dialog_quality.py", "--seeds", "20", "--yarn", "24"],
    ["server_abuse.py"],
]
# the dialog LLM's benchmarks need the model `make dialog-model` builds (not committed)
if (ROOT / "models" / "dialog-smollm2" / "1.0.0" / "manifest.json").exists():
    RUNS += [["dialog_guidance.py", "--replies", "8"], ["dialog_persona.py"], ["dialog_sheet.py"]]
else:
    print("dialog LLM benchmarks skipped: models/dialog-smollm2 is not built (make dialog-model)", flush=True)

for args in RUNS:
    print(f"\n$ python benchmarks/{' '.join(args)}", flush=True)
    subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], check=True)
