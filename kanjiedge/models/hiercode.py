"""`hiercode` / `hiercode-higita`: classify by predicting a hierarchical component code.

Each class has a fixed multi-hot code over (component element x depth) and (element x position) bits built from
its KanjiVG tree (kanjiedge.models.structure). The network predicts K code logits z; the class logits are the
Bernoulli log-likelihood of each class code under z, which up to a class-independent term is `codes @ z`
(codes: a fixed [C,K] buffer, not a learned per-class head). The learned part grows with the component vocabulary,
not with the classes, and a class never trained on still gets a score from the bits other classes taught: zero-shot.

`hiercode-higita` adds image-structure alignment (after HiGITA) at three granularities: stroke (stroke-count
prediction), component (the code bits) and character (a contrastive match between the image embedding and an
embedding of the class's code, computed from the code alone so it too works for unseen classes).
"""

import torch
import torch.nn.functional as F
from torch import nn

from kanjiedge.models import register_model
from kanjiedge.models.layers import ds_backbone
from kanjiedge.models.structure import hier_codes, zero_shot_candidates

MAX_STROKES = 32  # stroke-count classes 0..31 (more is clipped)


class HierCode(nn.Module):
    """DS-CNN backbone -> K code logits -> class logits = scale * codes @ z."""

    def __init__(self, classes: list, widths=(32, 64, 128, 256), code_weight: float = 1.0):
        super().__init__()
        codes, self.code_keys = hier_codes(classes)
        self.register_buffer("codes", codes)  # [C,K] fixed
        self.features = ds_backbone(widths)
        self.code_head = nn.Sequential(nn.Dropout(0.1), nn.Linear(widths[-1], codes.shape[1]))
        self.scale = nn.Parameter(torch.tensor(1.0))
        self.code_weight = code_weight

    def embed(self, x):  # [N,1,S,S] -> [N,D]
        return self.features(x).mean((2, 3))

    def code_logits(self, x):  # -> [N,K]
        return self.code_head(self.embed(x))

    def class_logits(self, z, feat=None):  # z [N,K] -> [N,C]
        return self.scale * (z @ self.codes.t())

    def forward(self, x):  # -> logits [N,C]
        feat = self.embed(x)
        return self.class_logits(self.code_head(feat), feat)

    def forward_aux(self, x, y):
        """(logits [N,C], code BCE loss) for training."""
        feat = self.embed(x)
        z = self.code_head(feat)
        aux = F.binary_cross_entropy_with_logits(z.float(), self.codes[y])
        return self.class_logits(z, feat), self.code_weight * aux

    def holdout_candidates(self, n: int, gen: torch.Generator) -> list[int]:
        """Classes whose every code bit is also set by trained classes (recognisable zero-shot)."""
        return zero_shot_candidates(self.codes.cpu(), n, gen)


class HierCodeHiGITA(HierCode):
    """HierCode + stroke-count head + contrastive image/code-structure alignment (character level)."""

    def __init__(self, classes: list, widths=(32, 64, 128, 256), dim: int = 128, align_weight: float = 0.5):
        super().__init__(classes, widths)
        k = self.codes.shape[1]
        self.struct = nn.Sequential(nn.Linear(k, dim), nn.ReLU(), nn.Linear(dim, dim))  # code -> structure emb
        self.img_proj = nn.Linear(widths[-1], dim)
        self.stroke_head = nn.Linear(widths[-1], MAX_STROKES)
        self.tau = nn.Parameter(torch.tensor(2.3))  # log inverse temperature (~10)
        self.register_buffer("strokes", torch.tensor([min(c.get("strokes", 0), MAX_STROKES - 1) for c in classes]))
        self.align_weight = align_weight

    def class_logits(self, z, feat=None):
        img = F.normalize(self.img_proj(feat), dim=1)  # [N,D]
        cls = F.normalize(self.struct(self.codes), dim=1)  # [C,D]
        return self.scale * (z @ self.codes.t()) + self.tau.exp() * img @ cls.t()

    def forward_aux(self, x, y):
        feat = self.embed(x)
        z = self.code_head(feat)
        code_loss = F.binary_cross_entropy_with_logits(z.float(), self.codes[y])
        stroke_loss = F.cross_entropy(self.stroke_head(feat).float(), self.strokes[y])
        return self.class_logits(z, feat), code_loss + self.align_weight * stroke_loss


def _need(classes, name):
    if not classes:
        raise ValueError(f"{name} needs the dataset's classes.json list (classes=...)")
    return classes


@register_model
def hiercode(num_classes, image_size, classes=None, widths=(32, 64, 128, 256)):
    """Hierarchical-code classifier (zero-shot capable). `classes`: the classes.json list (required)."""
    return HierCode(_need(classes, "hiercode"), tuple(widths))


@register_model(name="hiercode-higita")
def hiercode_higita(num_classes, image_size, classes=None, widths=(32, 64, 128, 256), dim=128):
    """HierCode with stroke / component / character image-structure alignment. `classes` required."""
    return HierCodeHiGITA(_need(classes, "hiercode-higita"), tuple(widths), dim)
