"""Batched, on-device training augmentation for ink-high character images: random affine, elastic distortion and
stroke-width change, all as torch ops on the whole batch (no per-image Python loop, no CPU round trip on CUDA).

Every random draw comes from an explicit `torch.Generator`, so a batch's augmentation is a pure function of
(seed, epoch, step) and an interrupted + resumed run sees the same pixels. Evaluation never augments.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    rotate_deg: float = 8.0  # max |rotation|
    scale: float = 0.10  # scale in [1-scale, 1+scale]
    shear: float = 0.15  # max |shear| (x-shear factor)
    translate: float = 0.06  # max |shift| as a fraction of the image side
    elastic_alpha: float = 0.03  # elastic displacement amplitude, fraction of the side (0 = off)
    elastic_grid: int = 4  # the random displacement field is drawn on a grid x grid lattice, then upsampled
    stroke_p: float = 0.3  # probability per image of thickening (half) or thinning (half) the strokes

    def scaled(self, strength: float) -> "AugmentConfig":
        """Every distortion times `strength` (a recipe's aug_strength; stroke_p capped at 1). 1 = unchanged."""
        if strength == 1:
            return self
        return AugmentConfig(self.rotate_deg * strength, self.scale * strength, self.shear * strength,
                             self.translate * strength, self.elastic_alpha * strength, self.elastic_grid,
                             min(1.0, self.stroke_p * strength))


def _uniform(n: int, bound: float, gen: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=gen) * 2 - 1) * bound


def affine_grid(n: int, size: int, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Sampling grid [n,size,size,2] of a random rotation/scale/shear/shift per image."""
    ang = _uniform(n, math.radians(cfg.rotate_deg), gen)
    scale = 1 + _uniform(n, cfg.scale, gen)
    shear = _uniform(n, cfg.shear, gen)
    tx, ty = _uniform(n, 2 * cfg.translate, gen), _uniform(n, 2 * cfg.translate, gen)  # grid units span 2
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos, -sin + shear * cos, tx], 1),
                         torch.stack([sin, cos + shear * sin, ty], 1)], 1)  # [n,2,3]
    return F.affine_grid(theta, (n, 1, size, size), align_corners=False)


def elastic_offsets(n: int, size: int, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Smooth random displacement [n,size,size,2] (coarse noise, bilinear-upsampled: a cheap elastic warp)."""
    coarse = torch.randn(n, 2, cfg.elastic_grid, cfg.elastic_grid, generator=gen) * (2 * cfg.elastic_alpha)
    return F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)


def stroke_width(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Per image: thicken (3x3 max-pool), thin (3x3 min-pool) or keep, with prob stroke_p/2 each."""
    u = torch.rand(x.shape[0], generator=gen).to(x.device)[:, None, None, None]
    thick = F.max_pool2d(x, 3, 1, 1)
    thin = -F.max_pool2d(-x, 3, 1, 1)
    x = torch.where(u < cfg.stroke_p / 2, thick, x)
    return torch.where((u >= cfg.stroke_p / 2) & (u < cfg.stroke_p), thin, x)


def augment(x: torch.Tensor, gen: torch.Generator, cfg: AugmentConfig = AugmentConfig()) -> torch.Tensor:
    """Augment a batch.

    Args:
        x: float [N,1,S,S] in 0..1, ink high, on any device.
        gen: CPU generator all random draws come from (small tensors are drawn on CPU, then moved).
        cfg: augmentation strengths.

    Returns:
        float [N,1,S,S] on x's device.
    """
    n, size = x.shape[0], x.shape[-1]
    grid = affine_grid(n, size, cfg, gen)
    if cfg.elastic_alpha > 0:
        grid = grid + elastic_offsets(n, size, cfg, gen)
    x = F.grid_sample(x, grid.to(x.device, x.dtype), mode="bilinear", padding_mode="zeros", align_corners=False)
    return stroke_width(x, cfg, gen) if cfg.stroke_p > 0 else x
