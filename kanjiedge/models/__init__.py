"""Architecture registry (timm-style): `@register_model` on one factory per architecture, `create_model(name)`
to build one, `load_model(path)` to rebuild a trained model from its self-describing checkpoint.

Every model takes float32 `[N,1,S,S]` (uint8 image / 255, ink high) and its `forward` returns logits `[N,C]`, so
export / evaluate treat all models alike. Models with auxiliary training losses also provide
`forward_aux(x, y) -> (logits, aux_loss)`; the engine calls that during training only.
Each registration may carry a `Recipe` (kanjiedge.models.recipe): the training defaults that work for that
architecture, used by `kanjiedge train ARCH` when no flag overrides them (`recipe_for`, `model_variants`).
This module does not train or export; see kanjiedge.train and kanjiedge.export.
"""

import importlib
import inspect
import pkgutil
from pathlib import Path

import torch

from kanjiedge.errors import InputError
from kanjiedge.models.recipe import Recipe

_REGISTRY = {}  # name -> factory(num_classes, image_size, classes=None, **kw) -> nn.Module
_RECIPES = {}  # name -> Recipe, or {model_type: Recipe} for a family with variants (rnn)
_HELPERS = {"layers", "structure", "recipe"}  # modules in this package that hold no architectures
_loaded = False


def register_model(fn=None, *, name=None, recipe=None):
    """Decorator: register `fn(num_classes, image_size, classes=None, **kw) -> nn.Module` under `name`.

    Args:
        fn: the factory. Its name with `_` replaced by `-` is the default registry name.
        name: explicit registry name (e.g. "hiercode-higita").
        recipe: its default training `Recipe`, or {model_type: Recipe} for a family whose factory takes
            `model_type` (each variant trains differently). None: the engine defaults (`Recipe()`).
    """
    def wrap(f):
        key = name or f.__name__.replace("_", "-")
        if key in _REGISTRY and _REGISTRY[key] is not f:
            raise ValueError(f"model {key!r} registered twice")
        _REGISTRY[key] = f
        _RECIPES[key] = recipe or Recipe()
        return f

    return wrap(fn) if fn is not None else wrap


def _load_families():
    global _loaded
    if not _loaded:
        # one module per family, found by file name (tinygrad-style): adding a family = adding a file
        for mod in pkgutil.iter_modules(__path__):
            if mod.name not in _HELPERS:
                importlib.import_module(f"kanjiedge.models.{mod.name}")
        _loaded = True


def list_models() -> list[str]:
    """Names of all registered architectures, sorted."""
    _load_families()
    return sorted(_REGISTRY)


def model_options(name: str) -> set[str]:
    """Keyword options the factory of `name` accepts besides num_classes / image_size / classes."""
    _load_families()
    params = inspect.signature(_REGISTRY[name]).parameters
    return {p for p in params if p not in ("num_classes", "image_size", "classes")}


def model_variants(name: str) -> list[str | None]:
    """The `model_type`s of a family registered with one recipe per variant (rnn), else [None]."""
    _load_families()
    rec = _RECIPES[name]
    return list(rec) if isinstance(rec, dict) else [None]


def recipe_for(name: str, model_type: str | None = None) -> Recipe:
    """The default training recipe of `name` (and `model_type`, default: the factory's own default).

    Raises:
        ValueError: unknown name or model_type.
    """
    _load_families()
    if name not in _REGISTRY:
        raise ValueError(f"unknown architecture {name!r}; choose from {', '.join(list_models())}")
    rec = _RECIPES[name]
    if not isinstance(rec, dict):
        return rec
    mtype = model_type or inspect.signature(_REGISTRY[name]).parameters["model_type"].default
    if mtype not in rec:
        raise ValueError(f"{name}: unknown --model-type {mtype!r}; choose from {', '.join(rec)}")
    return rec[mtype]


def create_model(name: str, num_classes: int, image_size: int, classes=None, **kw) -> torch.nn.Module:
    """Build a registered architecture.

    Args:
        name: registry name (see `list_models()`).
        num_classes: output width C of the logits `[N, C]`.
        image_size: input side S of `[N, 1, S, S]`.
        classes: the dataset's classes.json list (dicts with "char", "components", ...); needed by the
            structure-aware models (radical-rnn, hiercode*), ignored by the others.
        **kw: architecture options (e.g. `model_type` for rnn, `patch_size` for vit).

    Returns:
        the model (train mode), with `.arch` and `.arch_kwargs` set so a checkpoint can rebuild it.

    Raises:
        ValueError: unknown name or option.
    """
    _load_families()
    if name not in _REGISTRY:
        raise InputError(f"unknown architecture {name!r}; choose from {', '.join(list_models())}")
    unknown = set(kw) - model_options(name)
    if unknown:
        raise InputError(f"architecture {name!r} has no option(s) {sorted(unknown)}")
    try:
        model = _REGISTRY[name](num_classes=num_classes, image_size=image_size, classes=classes, **kw)
    except ValueError as e:  # the architecture rejects an option value (image size, model type): the user's choice
        raise InputError(str(e)) from None
    model.arch, model.arch_kwargs = name, dict(kw)
    return model


def count_params(model: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def resolve_checkpoint(path) -> Path:
    """A model folder -> its best.pt (else last.pt); a .pt file -> itself.

    Raises:
        FileNotFoundError: nothing usable at `path`.
    """
    path = Path(path)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"{path}: no best.pt or last.pt in this model folder (train it first)")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    return path


def read_checkpoint(path) -> dict:
    """Load a checkpoint dict safely (`weights_only=True`, CPU tensors)."""
    path = resolve_checkpoint(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors, truncated files: one line naming the file
        raise InputError(f"{path}: not a readable kanjiedge checkpoint ({type(e).__name__}: {e})") from None
    missing = {"arch", "model", "classes", "image_size"} - set(ckpt)
    if missing:
        raise InputError(f"{path}: checkpoint lacks {sorted(missing)}")
    return ckpt


def model_from_checkpoint(ckpt: dict) -> torch.nn.Module:
    """Rebuild the model a checkpoint dict describes and load its weights (eval mode)."""
    model = create_model(ckpt["arch"], len(ckpt["classes"]), ckpt["image_size"],
                         classes=ckpt.get("class_info"), **ckpt.get("arch_kwargs", {}))
    model.load_state_dict(ckpt["model"])
    return model.eval()


def load_model(path):
    """Rebuild a trained model from a model folder (uses best.pt) or a .pt checkpoint.

    Args:
        path: `artifacts/models/<arch>/` or a checkpoint file.

    Returns:
        (model in eval mode, meta) where meta is the checkpoint dict without the training state (keys arch,
        arch_kwargs, classes, image_size, preprocess, metrics, dataset, epoch, path, ...).

    Raises:
        FileNotFoundError, ValueError: no / unreadable checkpoint.
    """
    ckpt = read_checkpoint(path)
    model = model_from_checkpoint(ckpt)
    drop = {"model", "optimizer", "scheduler", "scaler", "rng", "ema"}
    meta = {k: v for k, v in ckpt.items() if k not in drop}
    meta["path"] = str(resolve_checkpoint(path))
    return model, meta
