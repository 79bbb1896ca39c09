"""`TrainConfig`: every option of one training run, frozen, built once from the command line and the
architecture's recipe (kanjiedge.models.recipe). The loop, data and checkpoint modules read it instead of an
argparse Namespace, so no function can change an option half-way and every value has one documented source:
an explicit flag wins, then the architecture's recipe, then the engine default.
"""

import json
from dataclasses import asdict, dataclass, field

from kanjiedge.errors import UserError
from kanjiedge.models import model_options, recipe_for
from kanjiedge.models.recipe import Recipe

# flag name -> Recipe field it overrides (flags left at None take the recipe's value)
RECIPE_FLAGS = {"epochs": "epochs", "lr": "lr", "warmup_epochs": "warmup_epochs", "batch_size": "batch",
                "weight_decay": "weight_decay", "aug_strength": "aug_strength", "label_smoothing": "label_smoothing",
                "clip_grad": "clip_grad"}
_ENGINE = Recipe()  # the engine defaults live in one place: Recipe's field defaults


@dataclass(frozen=True)
class TrainConfig:
    """One run's options (see `kanjiedge train --help` for each)."""

    arch: str
    data: str = "artifacts/dataset/synth-etl9g"
    out: str = ""
    epochs: int = _ENGINE.epochs
    batch_size: int = _ENGINE.batch
    lr: float = _ENGINE.lr
    warmup_epochs: float = _ENGINE.warmup_epochs
    optimizer: str = "adamw"
    scheduler: str = "cosine"
    weight_decay: float = _ENGINE.weight_decay
    label_smoothing: float = _ENGINE.label_smoothing
    aug_strength: float = _ENGINE.aug_strength
    clip_grad: float = _ENGINE.clip_grad
    image_size: int = 32
    sample_limit: int = 0
    arch_kwargs: dict = field(default_factory=dict)
    holdout_classes: int = 0
    seed: int = 0
    resume_from: str | None = None
    no_resume: bool = False
    resume_anyway: bool = False
    no_checkpoint: bool = False
    keep_last_n: int = 2
    patience: int = 0
    device: str = "auto"
    threads: int = 0
    stop_after: int = 0
    recipe: str = ""  # where the defaults came from, e.g. "rnn/basic_rnn"

    @property
    def augment(self) -> bool:
        return self.aug_strength > 0

    def record(self) -> dict:
        """The scalar options, as stored in checkpoints (`train_args`) and shown on the model card."""
        return {k: v for k, v in asdict(self).items()
                if isinstance(v, (int, float, str, bool, type(None))) and k != "stop_after"}


def parse_arch_opts(items: list[str]) -> dict:
    """--arch-opt KEY=VALUE items -> {key: JSON value (or the raw string when it is not JSON)}."""
    kw = {}
    for item in items:
        key, _, val = item.partition("=")
        try:
            kw[key] = json.loads(val)
        except json.JSONDecodeError:
            kw[key] = val
    return kw


def arch_kwargs(arch: str, recipe_options: dict, model_type: str | None, items: list[str]) -> dict:
    """Architecture options: the recipe's, then --arch-opt, then --model-type.

    Raises:
        UserError: an option the architecture does not take.
    """
    kw = {**recipe_options, **parse_arch_opts(items)}
    if model_type:
        kw["model_type"] = model_type
    unknown = set(kw) - model_options(arch)
    if unknown:
        raise UserError(f"architecture {arch!r} has no option(s) {sorted(unknown)}")
    return kw


def from_args(args) -> TrainConfig:
    """The frozen config of a parsed `kanjiedge train` command line (flags over the architecture's recipe)."""
    try:
        rec = recipe_for(args.arch, args.model_type)
    except ValueError as e:
        raise UserError(str(e)) from None
    picked = {flag: getattr(args, flag) if getattr(args, flag) is not None else getattr(rec, fld)
              for flag, fld in RECIPE_FLAGS.items()}
    if args.no_augment:
        picked["aug_strength"] = 0.0
    passthrough = ("data", "optimizer", "scheduler", "image_size", "sample_limit", "holdout_classes", "seed",
                   "resume_from", "no_resume", "resume_anyway", "no_checkpoint", "keep_last_n", "patience", "device", "threads",
                   "stop_after")
    return TrainConfig(arch=args.arch, out=args.out or f"artifacts/models/{args.arch}",
                       arch_kwargs=arch_kwargs(args.arch, rec.options, args.model_type, args.arch_opt),
                       recipe=args.arch + (f"/{args.model_type}" if args.model_type else ""),
                       **picked, **{k: getattr(args, k) for k in passthrough})
