"""Top-down PNG strip of an arena scene (Pillow): walls, cover, agents with trails, the player.

    python -m gamegen.generators.npc.render --out benchmarks/results/npc_scene.png [--policy learned]

Colours: walls dark grey, cover brown; agents by archetype (guard blue, chase orange, flee green,
search purple, wander teal) with their recent trail and a heading tick; a ring around an agent
that sees the player; the player red with its trail; each agent's remembered last-seen position
as a small cross in its colour; guard posts as a hollow square.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .arena import ARCHETYPES, COVER, WALL, AgentSpec, Arena

COLOURS = {"guard": (52, 101, 224), "chase": (240, 140, 20), "flee": (40, 170, 70), "search": (150, 70, 200),
           "wander": (20, 170, 170)}
PLAYER = (220, 30, 40)


def frame(arena: Arena, trails: list, player_trail: list, scale: int = 16, title: str = "") -> Image.Image:
    h, w = arena.grid.shape
    img = Image.new("RGB", (w * scale, h * scale + 18), (245, 245, 240))
    d = ImageDraw.Draw(img)
    top = 18
    for y in range(h):
        for x in range(w):
            v = arena.grid[y, x]
            if v == WALL or v == COVER:
                # y up in the arena, down in the image
                box = [x * scale, top + (h - 1 - y) * scale, (x + 1) * scale - 1, top + (h - y) * scale - 1]
                d.rectangle(box, fill=(70, 70, 70) if v == WALL else (150, 105, 60))

    def px(p):
        return p[0] * scale, top + (h - p[1]) * scale

    for i, spec in enumerate(arena.specs):
        col = COLOURS[spec.archetype]
        if spec.archetype == "guard":
            cx, cy = px(arena.post[i])
            d.rectangle([cx - 5, cy - 5, cx + 5, cy + 5], outline=col, width=2)
        if np.isfinite(arena.seen_age[i]):
            lx, ly = px(arena.last_seen[i])
            d.line([lx - 4, ly - 4, lx + 4, ly + 4], fill=col, width=2)
            d.line([lx - 4, ly + 4, lx + 4, ly - 4], fill=col, width=2)
        pts = [px(p) for p in trails[i]]
        if len(pts) > 1:
            d.line(pts, fill=tuple(int(c * 0.5 + 255 * 0.5) for c in col), width=2)
    pts = [px(p) for p in player_trail]
    if len(pts) > 1:
        d.line(pts, fill=(240, 150, 150), width=2)
    r = 0.3 * scale + 1
    for i, spec in enumerate(arena.specs):
        col = COLOURS[spec.archetype]
        cx, cy = px(arena.pos[i])
        if not arena.alive[i]:
            col = (160, 160, 160)
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
        hx, hy = arena.heading[i]
        d.line([cx, cy, cx + hx * r * 1.8, cy - hy * r * 1.8], fill=(0, 0, 0), width=2)
        if arena.visible[i]:
            d.ellipse([cx - r - 3, cy - r - 3, cx + r + 3, cy + r + 3], outline=(0, 0, 0), width=1)
    cx, cy = px(arena.player)
    d.ellipse([cx - r - 1, cy - r - 1, cx + r + 1, cy + r + 1], fill=PLAYER)
    d.text((4, 3), title, fill=(0, 0, 0))
    return img


def legend(width: int) -> Image.Image:
    img = Image.new("RGB", (width, 20), (255, 255, 255))
    d = ImageDraw.Draw(img)
    x = 6
    for name, col in list(COLOURS.items()) + [("player", PLAYER)]:
        d.ellipse([x, 5, x + 10, 15], fill=col)
        d.text((x + 14, 4), name, fill=(0, 0, 0))
        x += 24 + 7 * len(name)
    d.text((x + 6, 4), "ring = sees player, x = last seen, square = guard post", fill=(0, 0, 0))
    return img


def strip(policy, seed: int = 3, ticks: tuple[int, ...] = (0, 25, 50, 75, 100), scale: int = 16,
          player_mode: str = "wander", trail: int = 25, specs: list[AgentSpec] | None = None) -> Image.Image:
    """Play one scene (by default one agent per archetype) and render it at the given ticks."""
    arena = Arena()
    specs = specs or [AgentSpec("guard", 0.7, 0.5), AgentSpec("chase", 0.9, 0.2), AgentSpec("flee", 0.3, 0.8),
                      AgentSpec("search", 0.8, 0.5), AgentSpec("wander", 0.5, 0.5)]
    arena.reset(specs, seed=seed, player_mode=player_mode)
    if hasattr(policy, "reset"):
        policy.reset()
    hist, phist, frames = [[] for _ in specs], [], []
    for t in range(max(ticks) + 1):
        for i in range(len(specs)):
            hist[i].append(arena.pos[i].copy())
        phist.append(arena.player.copy())
        if t in ticks:
            frames.append(frame(arena, [hh[-trail:] for hh in hist], phist[-trail:], scale,
                                f"t = {t * 0.2:.0f} s"))
        arena.step(policy.act(arena))
    w, h = frames[0].size
    out = Image.new("RGB", (w * len(frames) + 4 * (len(frames) - 1), h + 20), (255, 255, 255))
    for k, f in enumerate(frames):
        out.paste(f, (k * (w + 4), 0))
    out.paste(legend(out.size[0]), (0, h))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--policy", choices=["learned", "scripted"], default="learned")
    ap.add_argument("--model", type=Path, default=Path(__file__).resolve().parents[2] / "models" / "npc-mlp" / "1.0.0")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args(argv)
    if args.policy == "learned":
        from .runtime import PolicyRunner, RunnerPolicy

        policy = RunnerPolicy(PolicyRunner(args.model))
    else:
        from .scripted import ScriptedPolicy

        policy = ScriptedPolicy()
    img = strip(policy, seed=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    img.save(args.out, optimize=True)
    print(f"wrote {args.out} {img.size}")


if __name__ == "__main__":
    main()
