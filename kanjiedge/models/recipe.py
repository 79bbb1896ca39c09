"""`Recipe`: the training defaults an architecture carries in its registration, so `kanjiedge train ARCH` (and
`make train ARCH=x`) with no options trains that architecture the way that works for it. Explicit command-line
flags override single fields; `--arch-opt KEY=VALUE` overrides single architecture options.

Why per architecture: one set of engine defaults (10 epochs, lr 4e-3, 1 warm-up epoch) suits the convolutional
models and left a ViT and a plain pixel-LSTM near chance on the 300-class benchmark (BENCHMARKS.md). Attention and
recurrence need lower peak rates, longer warm-up and longer schedules on a few thousand images.
"""

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Recipe:
    """Default training options of one architecture (or one `--model-type` of a family).

    Attributes:
        epochs: training epochs.
        lr: peak learning rate (AdamW).
        warmup_epochs: linear warm-up length, capped at 10 % of the run (short test runs stay mostly cosine).
        batch: global batch size.
        weight_decay: AdamW decay on weight matrices (never on biases / norm scales).
        aug_strength: multiplier on kanjiedge.augment's default distortions (0 = off, 1 = the cnn's).
        label_smoothing: cross-entropy label smoothing.
        clip_grad: max global gradient norm (0 = no clipping); recurrent models need it early on.
        options: architecture options passed to the factory (e.g. {"stem": "conv"}).
        why: one sentence on why these values, shown by `kanjiedge train --list`.
    """

    epochs: int = 10
    lr: float = 4e-3
    warmup_epochs: float = 1.0
    batch: int = 128
    weight_decay: float = 0.05
    aug_strength: float = 1.0
    label_smoothing: float = 0.1
    clip_grad: float = 0.0
    options: dict = field(default_factory=dict)
    why: str = "the engine defaults: a DS-CNN converges in 10 epochs at lr 4e-3"

    def __post_init__(self):
        if self.epochs < 1 or self.batch < 1 or self.lr <= 0 or self.warmup_epochs < 0 or self.aug_strength < 0:
            raise ValueError(f"bad recipe {self}")

    def summary(self) -> str:
        """One line: the numeric fields and the options (what `train --list` prints)."""
        d = {k: v for k, v in asdict(self).items() if k not in ("options", "why")}
        text = " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in d.items())
        return text + (" " + " ".join(f"{k}={v}" for k, v in self.options.items()) if self.options else "")
