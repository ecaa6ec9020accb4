"""The flow-matching material model (generators/textures/flow.py; measured in
benchmarks/materials_families.py, not served): its sampler is deterministic by seed, its samples
tile by construction, and its train entry point runs. Tiny untrained models only (cheap)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gamegen.generators.textures import flow, layout  # noqa: E402


def tiny(cond: int = 0, seed: int = 0) -> "flow.FlowUNet":
    """An untrained net with every weight random (the zero-initialised output would make v = 0)."""
    torch.manual_seed(seed)
    net = flow.FlowUNet(cond=cond, widths=(8, 16, 16), emb=16)
    with torch.no_grad():
        for p in net.parameters():
            if p.abs().sum() == 0:
                p.normal_(0, 0.1)
    return net.eval()


def test_sampler_same_seed_same_bytes_other_seed_differs():
    torch.set_num_threads(1)
    net = tiny()
    a = flow.sample(net, "brick", 7, 32, steps=4)
    b = flow.sample(net, "brick", 7, 32, steps=4)
    for x, y in zip(a, b):
        assert x.tobytes() == y.tobytes()
    c = flow.sample(net, "brick", 8, 32, steps=4)
    assert np.abs(a[0] - c[0]).mean() > 1e-3
    d = flow.sample(net, "wood", 7, 32, steps=4)       # the class changes the sample
    assert np.abs(a[0] - d[0]).mean() > 1e-4
    alb, hgt, rough = a
    assert alb.shape == (32, 32, 3) and hgt.shape == rough.shape == (32, 32)
    assert alb.min() >= 0 and alb.max() <= 1


@pytest.mark.parametrize("cond", [0, len(flow.COARSE)])
def test_network_commutes_with_wraparound_shifts(cond):
    """Circular padding everywhere: shifting the input on the torus (by a multiple of the 8 px
    the net downsamples by) shifts the output exactly, so a sample from periodic noise is periodic."""
    net = tiny(cond)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 5, 48, 48, generator=g)
    c = torch.randn(1, cond, 48, 48, generator=g) if cond else None
    t, cls = torch.tensor([0.3]), torch.tensor([2])
    with torch.no_grad():
        y = net(x, t, cls, c)
        ys = net(torch.roll(x, (16, 24), (2, 3)), t, cls, torch.roll(c, (16, 24), (2, 3)) if cond else None)
    assert torch.allclose(torch.roll(y, (16, 24), (2, 3)), ys, atol=1e-5)


def test_layout_variant_draws_the_seeds_layout():
    net = tiny(len(flow.COARSE))
    c = flow.cond_planes("wood", 5, 32)
    assert c.shape == (1, len(flow.COARSE), 32, 32)
    lay = layout.layout("wood", np.random.default_rng([5, 0]), 32)
    np.testing.assert_array_equal(c[0], lay[list(flow.COARSE)])
    a = flow.sample(net, "wood", 5, 32, steps=2)
    b = flow.sample(net, "wood", 5, 32, steps=2, cond=c)
    assert a[0].tobytes() == b[0].tobytes()


@pytest.mark.parametrize("kw, match", [({"size": 40}, "size 40 must be a multiple of 16"),
                                       ({"steps": 0}, "steps 0 must be at least 1"),
                                       ({"name": "cheese"}, "unknown material 'cheese'; known: brick")])
def test_sampler_rejects_bad_input_by_name(kw, match):
    args = {"name": "brick", "seed": 1, "size": 32, "steps": 2, **kw}
    with pytest.raises(ValueError, match=match):
        flow.sample(tiny(), **args)


def test_train_entry_point_runs_and_checkpoint_samples(tmp_path):
    out = tmp_path / "f.pt"
    flow.main(["train", "--out", str(out), "--steps", "2", "--batch", "2", "--per-class", "1",
               "--widths", "8", "16", "16", "--snapshots", "1"])
    assert (tmp_path / "f-1.pt").exists()
    ck = torch.load(out, map_location="cpu", weights_only=False)
    assert ck["training"]["steps"] == 2 and ck["training"]["command"].startswith("python -m gamegen")
    net = flow.load(out)
    alb, _, _ = flow.sample(net, "metal", 1, 32, steps=2)
    assert alb.shape == (32, 32, 3)
    more = tmp_path / "g.pt"
    flow.main(["train", "--out", str(more), "--steps", "1", "--batch", "2", "--per-class", "1",
               "--widths", "8", "16", "16", "--init", str(out)])
    ck2 = torch.load(more, map_location="cpu", weights_only=False)
    assert ck2["training"]["steps"] == 3 and ck2["training"]["continued_from"] == ck["training"]["command"]
    with pytest.raises(ValueError, match="differs from"):
        flow.main(["train", "--out", str(more), "--steps", "1", "--per-class", "1", "--init", str(out)])
