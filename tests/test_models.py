"""Every registered architecture (and every rnn --model-type) builds, trains a step, and exports to ONNX with the
same outputs in onnxruntime; checkpoints round-trip through load_model; structure codes behave."""

import io

import numpy as np
import pytest
import torch

from kanjiedge.models import count_params, create_model, list_models, load_model, recipe_for
from kanjiedge.models.rnn import MODEL_TYPES
from kanjiedge.models.structure import hier_codes, zero_shot_candidates

S = 32
CLASSES = [  # a classes.json-like list: shared components (口, 木, 日) so structure-aware models have codes
    {"char": "口", "strokes": 3, "components": []},
    {"char": "木", "strokes": 4, "components": []},
    {"char": "日", "strokes": 4, "components": []},
    {"char": "林", "strokes": 8, "components": [{"element": "木", "level": 1, "position": "left"},
                                               {"element": "木", "level": 1, "position": "right"}]},
    {"char": "呆", "strokes": 7, "components": [{"element": "口", "level": 1, "position": "top"},
                                               {"element": "木", "level": 1, "position": "bottom"}]},
    {"char": "杏", "strokes": 7, "components": [{"element": "木", "level": 1, "position": "top"},
                                               {"element": "口", "level": 1, "position": "bottom"}]},
    {"char": "明", "strokes": 8, "components": [{"element": "日", "level": 1, "position": "left"},
                                               {"element": "月", "level": 1, "position": "right"}]},
    {"char": "あ", "strokes": 3, "components": []},
    {"char": "札", "strokes": 5, "components": [{"element": "木", "level": 1, "position": "left"},
                                               {"element": "乚", "level": 1, "position": "right"}]},
    {"char": "休", "strokes": 6, "components": [{"element": "亻", "level": 1, "position": "left"},
                                               {"element": "木", "level": 1, "position": "right"}]},
]
VARIANTS = [(name, {"model_type": t} if name == "rnn" else {})
            for name in list_models() for t in (MODEL_TYPES if name == "rnn" else [None])]
# the recipes' options build other graphs (vit's conv stem and mean pooling): forward, ONNX and checkpoints too
VARIANTS += [(name, dict(recipe_for(name).options)) for name in list_models()
             if name != "rnn" and recipe_for(name).options]
VARIANTS += [("rnn", {"model_type": "basic_rnn", "order": "cells"})]  # the first basic_rnn layout still loads


def _ids(v):
    return v[0] + "".join(f"-{v}" for v in v[1].values())


@pytest.fixture(params=VARIANTS, ids=_ids)
def model(request):
    name, kw = request.param
    torch.manual_seed(0)
    return create_model(name, len(CLASSES), S, classes=CLASSES, **kw)


def test_registry_lists_all_families():
    """The issue's architectures are all registered."""
    assert {"cnn", "rnn", "radical-rnn", "hiercode", "hiercode-higita", "vit", "levit-dual", "qat"} <= set(list_models())


def test_unknown_names_and_options_are_rejected():
    with pytest.raises(ValueError, match="unknown architecture"):
        create_model("nope", 3, S)
    with pytest.raises(ValueError, match="no option"):
        create_model("cnn", 3, S, bogus=1)
    with pytest.raises(ValueError, match="model-type"):
        create_model("rnn", 3, S, model_type="nope")


def test_forward_backward(model):
    """forward gives logits [N,C]; one training step (with the auxiliary loss if any) gives finite gradients."""
    x, y = torch.rand(4, 1, S, S), torch.tensor([0, 3, 4, 6])
    model.train()
    logits, aux = model.forward_aux(x, y) if hasattr(model, "forward_aux") else (model(x), None)
    assert logits.shape == (4, len(CLASSES))
    loss = torch.nn.functional.cross_entropy(logits, y) + (aux if aux is not None else 0)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    model.eval()
    assert model(x).shape == (4, len(CLASSES))


def test_onnx_export_matches_onnxruntime(model):
    """torch.onnx.export(dynamo=False, opset 13), dynamic batch; onnxruntime logits equal torch's."""
    ort = pytest.importorskip("onnxruntime")
    model.eval()
    x = torch.rand(3, 1, S, S)
    with torch.no_grad():
        ref = model(x).numpy()
    buf = io.BytesIO()
    torch.onnx.export(model, (torch.rand(2, 1, S, S),), buf, dynamo=False, opset_version=13, input_names=["image"],
                      output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": x.numpy()})[0]
    if model.arch == "qat":
        # fake-quantized (uint8) outputs: onnxruntime's integer kernels may round a sum to the neighbouring level, a
        # step of (max - min) / 255 of the output; a few steps is agreement, a wrong scale is far beyond it
        np.testing.assert_allclose(got, ref, atol=8 * float(ref.max() - ref.min()) / 255)
        assert (got.argmax(1) == ref.argmax(1)).all()
    else:
        np.testing.assert_allclose(got, ref, atol=1e-4, rtol=1e-4)


def test_checkpoint_roundtrip(model, tmp_path):
    """A checkpoint in the ARCHITECTURE.md format rebuilds the same model via load_model (weights_only)."""
    model.eval()
    ck = {"arch": model.arch, "arch_kwargs": model.arch_kwargs, "model": model.state_dict(),
          "classes": [c["char"] for c in CLASSES], "class_info": CLASSES, "image_size": S,
          "preprocess": {"size": S, "normalize": "moment", "scale": 1 / 255, "ink": "high"}}
    torch.save(ck, tmp_path / "best.pt")
    loaded, meta = load_model(tmp_path)
    x = torch.rand(2, 1, S, S)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
    assert meta["classes"][3] == "林" and not loaded.training


def test_load_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="best.pt"):
        load_model(tmp_path)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pt"):
        load_model(tmp_path / "bad.pt")


def test_cnn_fits_the_edge_budget():
    """At 3,036 classes the default cnn stays under 1.5M parameters (int8 <= ~1.5 MB for rpi / wasm)."""
    assert count_params(create_model("cnn", 3036, S)) < 1_500_000


def test_hiercode_head_does_not_grow_with_classes():
    """Adding classes built from known components adds no learned parameters to hiercode."""
    small = create_model("hiercode", 6, S, classes=CLASSES[:6] + CLASSES[7:8])  # 口 木 日 林 呆 杏 あ
    big = create_model("hiercode", 7, S, classes=CLASSES[:5] + [CLASSES[5], CLASSES[7], {
        "char": "束", "components": [{"element": "木", "level": 1, "position": None},
                                     {"element": "口", "level": 1, "position": None}]}])
    assert count_params(small) == count_params(big)


def test_hier_codes_unique_and_zero_shot_candidates_covered():
    """Codes are unique per class; a zero-shot candidate's bits are all taught by classes kept for training."""
    codes, keys = hier_codes(CLASSES)
    assert len({tuple(r.tolist()) for r in codes}) == len(CLASSES)
    assert "木@left" in keys and "木@L1" in keys
    held = zero_shot_candidates(codes, len(CLASSES), torch.Generator().manual_seed(0))
    assert 3 in held, "every bit of 林 (木@L1, 木@left, 木@right) is also set by 札 / 休"
    kept = [i for i in range(len(CLASSES)) if i not in held]
    for h in held:
        assert bool((codes[kept][:, codes[h] > 0].sum(0) >= 1).all())


def test_qat_converts_to_int8():
    """The qat model converts to real int8 kernels whose outputs track the fake-quantized model."""
    torch.backends.quantized.engine = "qnnpack"
    m = create_model("qat", 5, S)
    m.train()
    for _ in range(3):  # let the observers see data
        m(torch.rand(8, 1, S, S))
    m.eval()
    q = m.to_int8()
    assert any("quantized" in type(mod).__module__ for mod in q.modules())
    x = torch.rand(4, 1, S, S)
    with torch.no_grad():
        ref, got = m(x), q(x)
    assert (ref - got).abs().max() < 0.2 * ref.abs().max() + 1e-3


def test_hier_codes_min_share_drops_private_bits():
    """min_share=2 keeps only bits two classes set; codes stay unique and non-empty (private `@self` bits)."""
    full, keys = hier_codes(CLASSES)
    codes, kept = hier_codes(CLASSES, min_share=2)
    assert "月@right" in keys and "月@right" not in kept  # only 明 has 月
    assert codes.shape[1] < full.shape[1] and bool((codes.sum(1) >= 1).all())
    assert len({tuple(r.tolist()) for r in codes}) == len(CLASSES)
    shared = [j for j, k in enumerate(kept) if not k.endswith("@self")]
    assert bool((codes[:, shared].sum(0) >= 2).all())


def test_hiercode_scores_classes_by_code_cosine():
    """The class logits are scale * cos(code logits, class code): a code equal to a class's code ranks it first."""
    model = create_model("hiercode", len(CLASSES), S, classes=CLASSES).eval()
    z = model.codes[[3, 6]] * 5 - 1  # predicted codes of 林 and 明
    with torch.no_grad():
        logits = model.class_logits(z)
    assert logits.argmax(1).tolist() == [3, 6]
    assert float(logits.abs().max()) <= float(model.logit_scale.exp()) + 1e-4

