"""`hiercode` / `hiercode-higita`: classify by predicting a hierarchical component code.

Each class has a fixed multi-hot code over (component element x depth) and (element x position) bits built from
its KanjiVG tree (kanjiedge.models.structure; `min_share=2` drops the bits only one class sets, 3,387 -> ~2,050
bits at ETL9G, but measured worse: see below). The network predicts K code logits z and scores every class by the cosine
between z and the class's code, times a learned scale (CLIP-style `logit_scale`):

    logits[n, c] = exp(logit_scale) * <z_n / |z_n|, code_c / |code_c|>

The codes are a fixed [C,K] buffer, not a learned per-class head, so the learned part grows with the component
vocabulary, not with the classes, and a class never trained on still gets a score from the bits other classes
taught: zero-shot. The code-head bias starts at the log-odds of the mean bit frequency (the code starts sparse).
Why not the raw Bernoulli log-likelihood `codes @ z`: its scale grows with the number of bits per class (up to
22 at ETL9G); the cosine keeps logits bounded and the learned scale sets the temperature.
Measured on a 600-class subset, 60 held out, 6 epochs (seen / unseen test top-1): cosine, all bits 96 % / 16 %;
`min_share=2` 96 % / 7 %; `min_share=2` plus a multi-label BCE on z (`code_weight=0.1`, per set bit) 75 % / 2 %,
(`code_weight=1`) 58 % / 0 %. So the BCE is opt-in (`code_weight`) and all bits are kept by default.

Zero-shot runs (`--holdout-classes`): trained only on seen classes, the model ranks them above every unseen class
(9 in 10 errors on unseen images name a seen class), so after training the trainer adds one bias to the unseen
classes' logits, chosen on seen validation images only (kanjiedge.models.zeroshot, `seen_tolerance`; the buffer
`class_bias` travels with the checkpoint and exports). Full synthetic ETL9G, 300 held out, 8 epochs: unseen top-1
60.3 -> 72.5 % for seen 98.4 -> 97.7 % (BENCHMARKS.md). Weighting code bits by component rarity (`balance`, idf)
measured worse (unseen 52.0 % raw), so it is off by default.

`hiercode-higita` adds image-structure alignment (after HiGITA) at three granularities: stroke (stroke-count
prediction), component (the code bits) and character (a contrastive match between the image embedding and an
embedding of the class's code, computed from the code alone so it too works for unseen classes).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from kanjiedge.models import register_model
from kanjiedge.models.recipe import Recipe
from kanjiedge.models.layers import ds_backbone, flat_neck
from kanjiedge.models.structure import hier_codes, zero_shot_candidates
from kanjiedge.models.zeroshot import unseen_bias

MAX_STROKES = 32  # stroke-count classes 0..31 (more is clipped)
MAX_LOG_SCALE = math.log(100.0)  # CLIP's clamp: keeps the softmax temperature sane


def bit_weights(codes: torch.Tensor, balance: float) -> torch.Tensor:
    """Per-bit weight idf**balance, idf = log(1 + C / classes setting the bit) (0 = all ones).

    Why: a bit set by hundreds of classes (口 at depth 1) says little about which class it is, a rarer shared
    bit says much; with plain multi-hot codes both count the same in the cosine, so an unseen class is confused
    with any class sharing its common components.
    """
    if not balance:
        return torch.ones(codes.shape[1])
    idf = torch.log1p(len(codes) / codes.sum(0).clamp(min=1))
    return (idf / idf.mean()) ** balance


class HierCode(nn.Module):
    """DS-CNN backbone -> layout-keeping neck -> K code logits z -> class logits = scale * cos(z, codes)."""

    def __init__(self, classes: list, image_size: int, widths=(32, 64, 128, 256), min_share: int = 1,
                 code_weight: float = 0.0, hidden: int = 256, balance: float = 0.0, seen_tolerance: float = 0.0):
        super().__init__()
        codes, self.code_keys = hier_codes(classes, min_share)
        self.register_buffer("codes", codes)  # [C,K] fixed multi-hot
        self.register_buffer("bit_weight", bit_weights(codes, balance), persistent=False)  # [K] component-frequency balancing
        self.features = ds_backbone(widths)
        self.neck = flat_neck(widths[-1], image_size, len(widths) - 1, hidden=hidden)
        self.code_head = nn.Sequential(nn.Dropout(0.1), nn.Linear(hidden, codes.shape[1]))
        bits = codes.sum(1).mean().item()  # mean set bits per class
        nn.init.constant_(self.code_head[1].bias, math.log(bits / max(codes.shape[1] - bits, 1.0)))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(20.0)))  # fixed codes: start confident
        self.code_weight = code_weight / bits
        self.register_buffer("class_bias", torch.zeros(len(codes)))  # [C] set by calibrate_unseen, else 0
        self.seen_tolerance = seen_tolerance

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Checkpoints from before class_bias load with a zero bias."""
        state_dict.setdefault(prefix + "class_bias", torch.zeros_like(self.class_bias))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def calibrate_unseen(self, logits, labels, unseen) -> float:
        """Set class_bias to gamma on the unseen classes (kanjiedge.models.zeroshot), from seen validation
        logits [N,C] taken with a zero bias; returns gamma. No-op (0) when seen_tolerance is 0."""
        gamma = unseen_bias(logits, labels, unseen, self.seen_tolerance) if self.seen_tolerance else 0.0
        self.class_bias.copy_(unseen.to(self.class_bias).float() * gamma)
        return gamma

    def embed(self, x):  # [N,1,S,S] -> [N,hidden]
        return self.neck(self.features(x))

    def code_logits(self, x):  # -> [N,K]
        return self.code_head(self.embed(x))

    def class_logits(self, z, feat=None):  # z [N,K] -> [N,C]
        unit = F.normalize(self.codes * self.bit_weight, dim=1)  # [C,K]
        return self.logit_scale.clamp(max=MAX_LOG_SCALE).exp() * F.normalize(z, dim=1) @ unit.t()

    def forward(self, x):  # -> logits [N,C] (+ the zero-shot calibration bias; training uses forward_aux)
        feat = self.embed(x)
        return self.class_logits(self.code_head(feat), feat) + self.class_bias

    def code_loss(self, z, y):
        """Multi-label BCE of z [N,K] against the codes of labels y, summed over bits, mean over the batch."""
        if not self.code_weight:
            return z.new_zeros(())
        bce = F.binary_cross_entropy_with_logits(z.float(), self.codes[y], reduction="none")
        return self.code_weight * bce.sum(1).mean()

    def forward_aux(self, x, y):
        """(logits [N,C], code BCE loss) for training."""
        feat = self.embed(x)
        z = self.code_head(feat)
        return self.class_logits(z, feat), self.code_loss(z, y)

    def holdout_candidates(self, n: int, gen: torch.Generator) -> list[int]:
        """Classes whose every code bit is also set by trained classes (recognisable zero-shot)."""
        return zero_shot_candidates(self.codes.cpu(), n, gen)


class HierCodeHiGITA(HierCode):
    """HierCode + stroke-count head + contrastive image/code-structure alignment (character level)."""

    def __init__(self, classes: list, image_size: int, widths=(32, 64, 128, 256), min_share: int = 1,
                 dim: int = 128, align_weight: float = 0.5):
        super().__init__(classes, image_size, widths, min_share)
        k, hidden = self.codes.shape[1], self.code_head[1].in_features
        self.struct = nn.Sequential(nn.Linear(k, dim), nn.ReLU(), nn.Linear(dim, dim))  # code -> structure emb
        self.img_proj = nn.Linear(hidden, dim)
        self.stroke_head = nn.Linear(hidden, MAX_STROKES)
        self.tau = nn.Parameter(torch.tensor(2.3))  # log inverse temperature (~10)
        self.register_buffer("strokes", torch.tensor([min(c.get("strokes", 0), MAX_STROKES - 1) for c in classes]))
        self.align_weight = align_weight

    def class_logits(self, z, feat=None):
        img = F.normalize(self.img_proj(feat), dim=1)  # [N,D]
        cls = F.normalize(self.struct(self.codes), dim=1)  # [C,D]
        return super().class_logits(z) + self.tau.clamp(max=MAX_LOG_SCALE).exp() * img @ cls.t()

    def forward_aux(self, x, y):
        feat = self.embed(x)
        z = self.code_head(feat)
        stroke_loss = F.cross_entropy(self.stroke_head(feat).float(), self.strokes[y])
        return self.class_logits(z, feat), self.code_loss(z, y) + self.align_weight * stroke_loss


def _need(classes, name, image_size, widths):
    if not classes:
        raise ValueError(f"{name} needs the dataset's classes.json list (classes=...)")
    if image_size % 2 ** (len(widths) - 1):
        raise ValueError(f"{name}: image size {image_size} must be a multiple of {2 ** (len(widths) - 1)}")
    return classes


HIERCODE_RECIPE = Recipe(
    epochs=20, options={"seen_tolerance": 0.005},
    why="the cosine-to-fixed-code head learns the component bits more slowly than a free classifier; "
        "90 % after 12 epochs at the cnn's defaults was still rising; 99.8 % after 20; zero-shot runs bias "
        "unseen classes up to a 0.5 pt seen-validation cost (half the 1 pt allowed)")
HIGITA_RECIPE = Recipe(epochs=15, why="like hiercode, the alignment heads helping: 98.8 % after 12 epochs, "
                                      "99.7 % after 15")


@register_model(recipe=HIERCODE_RECIPE)
def hiercode(num_classes, image_size, classes=None, widths=(32, 64, 128, 256), min_share=1, code_weight=0.0,
             balance=0.0, seen_tolerance=0.0):
    """Hierarchical-code classifier (zero-shot capable).

    Args:
        num_classes: classes C (must equal len(classes)).
        image_size: input side S (a multiple of 2**(len(widths)-1)).
        classes: the classes.json list (required: the codes come from its component trees).
        widths: backbone channel widths.
        min_share: keep only code bits set by at least this many classes (1 = all bits).
        code_weight: weight of the multi-label code loss (per set bit) next to the class cross-entropy.
        balance: exponent of the component-frequency (idf) weight of each code bit in the cosine (0 = off).
        seen_tolerance: in zero-shot runs, the share of seen validation images the unseen-class bias may cost
            (kanjiedge.models.zeroshot; 0 = no bias).
    """
    return HierCode(_need(classes, "hiercode", image_size, widths), image_size, tuple(widths), int(min_share),
                    float(code_weight), balance=float(balance), seen_tolerance=float(seen_tolerance))


@register_model(name="hiercode-higita", recipe=HIGITA_RECIPE)
def hiercode_higita(num_classes, image_size, classes=None, widths=(32, 64, 128, 256), min_share=1, dim=128):
    """HierCode with stroke / component / character image-structure alignment. `classes` required."""
    return HierCodeHiGITA(_need(classes, "hiercode-higita", image_size, widths), image_size, tuple(widths),
                          int(min_share), dim)
