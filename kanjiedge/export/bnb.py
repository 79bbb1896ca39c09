"""bitsandbytes 4-bit artifact (NF4 / FP4, optional double quantization) for the desktop-gpu target.

Weights are really stored as packed 4-bit codes (two per byte) plus per-block absmax scales: every nn.Linear becomes
`bnb.nn.Linear4bit`, and every large Conv2d a `Conv4bit` (the same Params4bit storage, dequantized to float just
before `F.conv2d`, since bitsandbytes has no 4-bit convolution). Small tensors (biases, depthwise kernels under
MIN_NUMEL weights, BatchNorm) stay float32. The state dict is saved as SafeTensors with metadata, reloaded into a
fresh model and verified against the fp32 PyTorch model here on CPU (bitsandbytes >= 0.45 runs Linear4bit on CPU).

    from kanjiedge.export.bnb import load_4bit
    model = load_4bit("artifacts/edge/desktop-gpu/model-nf4.safetensors")   # -> nn.Module, logits [N,C]
"""

import copy
import json
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kanjiedge import atomic
from kanjiedge.export import register_exporter

MIN_NUMEL = 1024  # convs with fewer weights stay float32: their 4-bit scales would cost more than they save


def _bnb():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import bitsandbytes

    return bitsandbytes


def _params4bit(weight, quant_type, double_quant, blocksize):
    """float weight -> Params4bit packed on CPU (quantization happens on the .to() call)."""
    bnb = _bnb()
    p = bnb.nn.Params4bit(weight.detach().float().contiguous().clone(), requires_grad=False, quant_type=quant_type,
                          compress_statistics=double_quant, blocksize=blocksize)
    return p.to("cpu")  # Params4bit quantizes itself when first moved to a device


class Conv4bit(nn.Module):
    """Conv2d whose weight is stored as bitsandbytes 4-bit codes; dequantized per call (shape [O,I/g,kh,kw])."""

    def __init__(self, conv: nn.Conv2d, weight4):
        super().__init__()
        self.shape = tuple(conv.weight.shape)
        self.stride, self.padding, self.dilation, self.groups = conv.stride, conv.padding, conv.dilation, conv.groups
        self.weight = weight4
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone(), requires_grad=False)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # as bnb.nn.Linear4bit does: the quant state (absmax, code, packed metadata) travels with the weight
        super()._save_to_state_dict(destination, prefix, keep_vars)
        for k, v in self.weight.quant_state.as_dict(packed=True).items():
            destination[prefix + "weight." + k] = v if keep_vars else v.detach()

    def forward(self, x):
        w = _bnb().functional.dequantize_4bit(self.weight.data, self.weight.quant_state).reshape(self.shape)
        return F.conv2d(x, w.to(x.dtype), self.bias, self.stride, self.padding, self.dilation, self.groups)


def _linear4bit(lin: nn.Linear, weight4, quant_type):
    q = _bnb().nn.Linear4bit(lin.in_features, lin.out_features, bias=lin.bias is not None,
                             compute_dtype=torch.float32, quant_type=quant_type, device="cpu")
    q.weight = weight4
    # bitsandbytes 0.50's AVX512-BF16 CPU path repacks weight.data in place on the first forward and asserts
    # out_features % 32 == 0 (3,036 classes is not); the generic dequantize + matmul path has neither problem.
    q.support_avx512bf16_for_cpu = False
    if lin.bias is not None:
        q.bias = nn.Parameter(lin.bias.detach().clone(), requires_grad=False)
    return q


def _targets(model):
    """Names of the modules that get 4-bit weights: every Linear, Conv2d with >= MIN_NUMEL weights."""
    return [n for n, m in model.named_modules()
            if isinstance(m, nn.Linear) or (isinstance(m, nn.Conv2d) and m.weight.numel() >= MIN_NUMEL)]


def _replace(model, name, new):
    parent, _, leaf = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, leaf, new)


def quantize_model(model, quant_type="nf4", double_quant=False, blocksize=64, weights=None):
    """A deep copy of `model` with 4-bit Linear/Conv weights.

    Args:
        model: fp32 model (eval).
        quant_type: "nf4" or "fp4".
        double_quant: quantize the absmax scales too.
        blocksize: weights per absmax scale.
        weights: optional {module name: Params4bit} already quantized (used when loading a saved file).

    Returns:
        (the 4-bit model in eval mode, list of quantized module names).
    """
    model = copy.deepcopy(model).eval()
    names = _targets(model)
    for name in names:
        mod = model.get_submodule(name)
        w4 = weights[name] if weights else _params4bit(mod.weight.reshape(mod.weight.shape[0], -1), quant_type,
                                                       double_quant, blocksize)
        _replace(model, name, _linear4bit(mod, w4, quant_type) if isinstance(mod, nn.Linear) else Conv4bit(mod, w4))
    return model, names


def save_4bit(qmodel, names, path, meta):
    """State dict (packed 4-bit weights + quant-state tensors) -> SafeTensors with string metadata."""
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().clone() for k, v in qmodel.state_dict().items()}
    meta = {**{k: str(v) for k, v in meta.items()}, "quantized_modules": json.dumps(names)}
    with atomic.atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)


def load_4bit(path, model=None):
    """Rebuild a 4-bit model from a file written by `save_4bit`.

    Args:
        path: the .safetensors file.
        model: an fp32 model of the same architecture to take the float layers' structure from; when None it is
            built from the file's metadata with kanjiedge.models.create_model.

    Returns:
        nn.Module (eval, CPU) producing logits [N,C].
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    state = load_file(str(path))
    if model is None:
        from kanjiedge.models import create_model

        labels = json.loads(meta["labels"])
        model = create_model(meta["arch"], len(labels), int(meta["image_size"]), **json.loads(meta["arch_kwargs"]))
    names = json.loads(meta["quantized_modules"])
    bnb = _bnb()
    weights = {}
    for n in names:
        stats = {k[len(n) + len(".weight."):]: v for k, v in state.items() if k.startswith(n + ".weight.")}
        weights[n] = bnb.nn.Params4bit.from_prequantized(state[n + ".weight"], stats, requires_grad=False,
                                                         device="cpu")
    qmodel, _ = quantize_model(model, meta["quant_type"], weights=weights)
    float_state = {k: v for k, v in state.items() if not any(k.startswith(n + ".weight") for n in names)}
    qmodel.load_state_dict(float_state, strict=False)
    return qmodel.eval()


def _state_bytes(state) -> int:
    return sum(t.numel() * t.element_size() for t in state.values())


def _verify(ctx, path, ref_model):
    """Reload `path` and compare it with the fp32 PyTorch model on the test split."""
    from kanjiedge.export.pipeline.verify import test_set, torch_logits

    x, y = test_set(ctx.data, ctx.size, ctx.max_test, classes=ctx.meta["classes"])
    ref = torch_logits(ref_model, x)
    got = torch_logits(load_4bit(path, ref_model), x)
    pred = got.argmax(1)
    return {"accuracy": float((pred == y).mean()), "fp32_accuracy": float((ref.argmax(1) == y).mean()),
            "top1_agreement_vs_torch": float((pred == ref.argmax(1)).mean()),
            "max_abs_logit_diff": float(np.abs(got - ref).max()), "n": int(len(x))}


@register_exporter("bnb")
def export_bnb(ctx):
    """Write model-<type>.safetensors for each [bnb] bnb_types entry, reload and verify it (results in ctx)."""
    p, files = ctx.profile, []
    fp32_bytes = _state_bytes(ctx.model.state_dict())
    for qt in p.bnb_types:
        qmodel, names = quantize_model(ctx.model, qt, p.bnb_double_quant, p.bnb_blocksize)
        path = Path(ctx.out) / f"model-{qt}.safetensors"
        save_4bit(qmodel, names, path, {"arch": ctx.meta.get("arch", ""), "quant_type": qt,
                                        "arch_kwargs": json.dumps(ctx.meta.get("arch_kwargs", {})),
                                        "labels": json.dumps(list(ctx.meta["classes"]), ensure_ascii=False),
                                        "image_size": ctx.size, "double_quant": p.bnb_double_quant,
                                        "blocksize": p.bnb_blocksize, "source_sha256": ctx.source_sha256})
        ctx.log(f"bitsandbytes {qt} (double_quant={p.bnb_double_quant}): {len(names)} modules 4-bit -> {path.name}")
        result = {"file": path.name, "quant_type": qt, "double_quant": p.bnb_double_quant,
                  "file_bytes": path.stat().st_size, "state_dict_bytes": _state_bytes(qmodel.state_dict()),
                  "fp32_state_dict_bytes": fp32_bytes, "quantized_modules": len(names)}
        result["size_ratio_vs_fp32"] = result["state_dict_bytes"] / fp32_bytes
        result.update(_verify(ctx, path, ctx.model))
        ctx.results[f"bnb-{qt}"] = result
        files.append(path)
    return files
