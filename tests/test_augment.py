"""kanjiedge.augment: draws are a pure function of the generator (resume depends on it), zero strength is the
identity, each distortion does what it says (shift moves ink, thickening adds ink, thinning removes it), and a
recipe's aug_strength scales every distortion."""

import torch

from kanjiedge.augment import AugmentConfig, augment, stroke_width

S = 32
OFF = AugmentConfig().scaled(0)


def strokes(n: int = 4) -> torch.Tensor:
    """n images with a 3-px cross in the middle (ink 1 on paper 0)."""
    x = torch.zeros(n, 1, S, S)
    x[:, :, 14:17, 6:26] = 1
    x[:, :, 6:26, 14:17] = 1
    return x


def test_same_generator_same_pixels_other_seed_other_pixels():
    x = strokes()
    a = augment(x, torch.Generator().manual_seed(7))
    b = augment(x, torch.Generator().manual_seed(7))
    c = augment(x, torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert (a - c).abs().sum() > 1
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1 + 1e-6


def test_zero_strength_is_identity():
    x = strokes()
    torch.testing.assert_close(augment(x, torch.Generator().manual_seed(0), OFF), x, atol=1e-5, rtol=0)


def test_translation_moves_the_ink():
    """A pure shift moves each image's ink centroid by up to translate * S pixels, and not all by zero."""
    cfg = AugmentConfig(0, 0, 0, 0.1, 0, 4, 0)
    x = strokes(16)
    y = augment(x, torch.Generator().manual_seed(1), cfg)
    cols = torch.arange(S, dtype=torch.float32)

    def cx(img):
        return (img.sum((1, 2)) * cols).sum(-1) / img.sum((1, 2, 3))

    shift = (cx(y) - cx(x)).abs()
    assert shift.max() > 0.5 and shift.max() <= 0.1 * S + 0.5


def test_stroke_width_thickens_or_thins():
    """With stroke_p=1 every image is thickened (more ink) or thinned (less ink), about half each."""
    cfg = AugmentConfig(stroke_p=1.0)
    x = strokes(64)
    y = stroke_width(x, cfg, torch.Generator().manual_seed(3))
    ink, ink0 = y.sum((1, 2, 3)), x.sum((1, 2, 3))
    thick, thin = (ink > ink0).sum().item(), (ink < ink0).sum().item()
    assert thick + thin == 64 and 16 < thick < 48


def test_strength_scales_every_distortion():
    base = AugmentConfig()
    double = base.scaled(2)
    assert double.rotate_deg == 2 * base.rotate_deg and double.translate == 2 * base.translate
    assert double.elastic_alpha == 2 * base.elastic_alpha and double.stroke_p == min(1.0, 2 * base.stroke_p)
    assert base.scaled(1) is base and OFF.rotate_deg == OFF.stroke_p == OFF.elastic_alpha == 0
