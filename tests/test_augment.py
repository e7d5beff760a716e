"""Random shifts and rotations (sgan.data.augment): of the labeled batch (`labeled_shift`) and of
the consistency term's second pass of the unlabeled batch (`consistency_shift`,
`consistency_rotation`)."""

from __future__ import annotations

import pytest
import torch

from sgan.data.augment import random_rotation, random_shift, rotate


def test_each_image_moves_by_its_own_offsets() -> None:
    x = torch.zeros(16, 1, 9, 9)
    x[:, 0, 4, 4] = 1.0  # one bright pixel in the middle
    g = torch.Generator().manual_seed(3)
    offsets = torch.randint(-2, 3, (2, 16), generator=torch.Generator().manual_seed(3))
    y = random_shift(x, 2, g)
    assert y.shape == x.shape
    for i in range(16):
        (where,) = y[i, 0].nonzero().tolist()
        assert where == [4 + offsets[0, i].item(), 4 + offsets[1, i].item()]
        assert y[i].sum().item() == 1.0  # moved, not blurred or lost
    assert len({tuple(p) for p in offsets.T.tolist()}) > 1  # images get different shifts


def test_pixels_coming_in_repeat_the_border_and_channels_move_together() -> None:
    x = torch.full((4, 3, 6, 6), 0.25)
    x[:, :, 2, 3] = torch.tensor([1.0, 2.0, 3.0])
    y = random_shift(x, 2, torch.Generator().manual_seed(0))
    assert (y == 0.25).sum().item() == 4 * 3 * 35  # the background stays background, nothing else
    for i in range(4):
        where = [(y[i, c] != 0.25).nonzero().tolist() for c in range(3)]
        assert where[0] == where[1] == where[2]


def test_each_shifted_image_is_a_window_of_the_padded_image() -> None:
    """Against the definition, on colour images that are not square (the gather's flat index)."""
    import torch.nn.functional as F

    x = torch.rand(6, 3, 5, 8)
    y = random_shift(x, 2, torch.Generator().manual_seed(4))
    dy, dx = torch.randint(-2, 3, (2, 6), generator=torch.Generator().manual_seed(4)).tolist()
    padded = F.pad(x, (2, 2, 2, 2), mode="replicate")
    for i in range(6):
        top, left = 2 - dy[i], 2 - dx[i]
        assert torch.equal(y[i], padded[i, :, top : top + 5, left : left + 8])


def test_no_shift_is_the_same_images_and_draws_nothing() -> None:
    x = torch.rand(5, 1, 8, 8)
    g = torch.Generator().manual_seed(1)
    before = g.get_state()
    assert random_shift(x, 0, g) is x
    assert torch.equal(g.get_state(), before)  # runs without the option train exactly as before


def test_a_shift_as_large_as_the_image_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and the image side - 1"):
        random_shift(torch.rand(2, 1, 4, 4), 4, torch.Generator())


def test_a_quarter_turn_is_rot90_and_a_half_turn_reverses_the_pixels() -> None:
    x = torch.arange(2 * 16.0).reshape(2, 1, 4, 4)
    # anticlockwise as displayed: the top row becomes the left column, read upwards
    quarter = rotate(x, torch.tensor([90.0, -90.0]))
    assert torch.allclose(quarter[0], torch.rot90(x[0], 1, (1, 2)), atol=1e-5)
    assert torch.allclose(quarter[1], torch.rot90(x[1], -1, (1, 2)), atol=1e-5)
    wide = torch.arange(12.0).reshape(1, 1, 3, 4)
    assert torch.allclose(rotate(wide, torch.tensor([180.0])), wide.flip(2, 3), atol=1e-5)
    assert torch.allclose(rotate(wide, torch.tensor([0.0])), wide, atol=1e-6)


@pytest.mark.parametrize("h, w", [(29, 29), (21, 41)])  # square, and wide: turned without shear
def test_a_rotation_turns_each_image_by_its_own_angle_within_the_limit(h: int, w: int) -> None:
    x = torch.zeros(32, 1, h, w)
    x[:, 0, h // 2, w // 2 - 10 : w // 2 + 11] = 1.0  # a horizontal bar through the centre
    y = random_rotation(x, 10, torch.Generator().manual_seed(5))
    degrees = (torch.rand(32, generator=torch.Generator().manual_seed(5)) * 2 - 1) * 10
    assert torch.equal(y, rotate(x, degrees))
    rows, cols = torch.meshgrid(torch.arange(float(h)), torch.arange(float(w)), indexing="ij")
    for i in range(32):  # the bar's slope, fitted to its pixels, is the drawn angle
        p = y[i, 0]
        cx, cy = (p * cols).sum() / p.sum(), (p * rows).sum() / p.sum()
        slope = (p * (cols - cx) * (rows - cy)).sum() / (p * (cols - cx) ** 2).sum()
        assert abs(-torch.rad2deg(torch.atan(slope)) - degrees[i]) < 1.0
        assert abs(cx - w // 2) < 0.1 and abs(cy - h // 2) < 0.1  # about the centre
    assert degrees.abs().max() <= 10 and degrees.std() > 3


def test_no_rotation_is_the_same_images_and_draws_nothing() -> None:
    x = torch.rand(5, 1, 8, 8)
    g = torch.Generator().manual_seed(1)
    before = g.get_state()
    assert random_rotation(x, 0, g) is x
    assert torch.equal(g.get_state(), before)


def _trainer(tmp_path, **options):
    from sgan.config import get_config
    from sgan.data import synthetic_split
    from sgan.engine import Trainer

    config = get_config("improved", out=str(tmp_path), steps=2, sample_interval=1, labeled_batch_size=8,
                        unlabeled_batch_size=8, fake_batch_size=8, gen_batch_size=8, **options)
    return Trainer(config, split=synthetic_split(20, 32, 10, "unit"), progress=False)


def test_the_trainer_shifts_labeled_images_only(tmp_path) -> None:
    plain, shifted = _trainer(tmp_path / "a"), _trainer(tmp_path / "b", labeled_shift=2)
    a, b = plain.next_batch(), shifted.next_batch()
    assert torch.equal(a.y_lab, b.y_lab)  # the same labeled examples, with their labels
    assert not torch.equal(a.x_lab, b.x_lab)
    padded = torch.nn.functional.pad(a.x_lab, (2, 2, 2, 2), mode="replicate")
    for original, moved in zip(padded, b.x_lab, strict=True):  # each is its own image, moved by <= 2 pixels
        assert any(torch.equal(original[:, 2 - dy: 30 - dy, 2 - dx: 30 - dx], moved)
                   for dy in range(-2, 3) for dx in range(-2, 3))
    assert torch.equal(a.x_unl, b.x_unl)
    assert all(torch.isfinite(torch.tensor(v)) for v in shifted.step(b).values())


def test_the_consistency_pass_sees_the_unlabeled_batch_moved(tmp_path) -> None:
    t = _trainer(tmp_path, consistency_weight=0.1, consistency_shift=2)
    assert t.algorithm.augment_rng is t.augment_rng  # the stream a checkpoint saves
    batch = t.next_batch()
    expected = random_shift(batch.x_unl, 2, torch.Generator().set_state(t.augment_rng.get_state()))
    assert not torch.equal(expected, batch.x_unl)
    seen = []
    hook = t.discriminator.register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0].detach().clone()))
    stats = t.step(batch)
    hook.remove()
    rows, n = seen[0], len(batch.x_unl)  # the joint pass: labeled | unlabeled | fakes | unlabeled moved
    assert torch.equal(rows[:8], batch.x_lab) and torch.equal(rows[8:8 + n], batch.x_unl)
    assert torch.equal(rows[-n:], expected)
    assert stats["consistency"] > 0


def test_the_consistency_pass_sees_the_unlabeled_batch_turned_then_moved(tmp_path) -> None:
    t = _trainer(tmp_path, consistency_weight=0.1, consistency_shift=1, consistency_rotation=15)
    batch = t.next_batch()
    g = torch.Generator().set_state(t.augment_rng.get_state())
    expected = random_shift(random_rotation(batch.x_unl, 15, g), 1, g)
    seen = []
    hook = t.discriminator.register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0].detach().clone()))
    t.step(batch)
    hook.remove()
    assert torch.equal(seen[0][-len(batch.x_unl):], expected)


@pytest.mark.parametrize("options, message", [
    (dict(labeled_shift=-1), "labeled_shift must be a number of pixels >= 0, got -1"),
    (dict(consistency_weight=0.1, consistency_shift=-2), "consistency_shift must be a number of pixels >= 0, got -2"),
    (dict(consistency_shift=2), "consistency_shift moves the consistency term's images: give it a consistency_weight"),
    (dict(consistency_weight=0.1, consistency_rotation=-5),
     r"consistency_rotation must be a number of degrees in \[0, 180\], got -5"),
    (dict(consistency_weight=0.1, consistency_rotation=270),
     r"consistency_rotation must be a number of degrees in \[0, 180\], got 270"),
    (dict(consistency_rotation=10),
     "consistency_rotation turns the consistency term's images: give it a consistency_weight"),
])
def test_impossible_shift_options_are_refused(options, message) -> None:
    from sgan.config import get_config

    with pytest.raises(ValueError, match=message):
        get_config("improved", **options)


@pytest.mark.parametrize("option", ["labeled_shift", "consistency_shift"])
def test_a_shift_larger_than_the_images_is_refused(tmp_path, option) -> None:
    with pytest.raises(ValueError, match=f"{option}=28 moves a 28x28 image off itself"):
        _trainer(tmp_path, consistency_weight=0.1, **{option: 28})


@pytest.mark.parametrize("options", [dict(labeled_shift=2), dict(consistency_weight=0.1, consistency_shift=2),
                                     dict(consistency_weight=0.1, consistency_rotation=10)])
def test_a_resumed_run_draws_the_shifts_it_would_have(tmp_path, monkeypatch, sigterm_at_step, options) -> None:
    from sgan.config import get_config
    from sgan.data import synthetic_split
    from sgan.engine import Trainer, TrainingInterrupted, resume, train

    split = synthetic_split(20, 32, 10, "unit")
    monkeypatch.setattr("sgan.engine.make_split", lambda **kw: split)

    def config(out):
        return get_config("improved", out=str(out), steps=6, sample_interval=3, labeled_batch_size=8,
                          unlabeled_batch_size=8, fake_batch_size=8, gen_batch_size=8, **options)

    straight = train(config(tmp_path / "a"), progress=False, split=split)
    t = Trainer(config(tmp_path / "b"), split=split, progress=False)
    sigterm_at_step(t, 4)
    with pytest.raises(TrainingInterrupted):
        t.fit()
    assert resume(tmp_path / "b", progress=False)["test_accuracy"] == straight["test_accuracy"]
    losses = [[line.split(",")[2:] for line in (tmp_path / d / "history.csv").read_text().splitlines()]
              for d in ("a", "b")]
    assert losses[0] == losses[1]
