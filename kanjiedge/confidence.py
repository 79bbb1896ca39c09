"""When the drawing page may name a winner: a threshold on the softmax top-1 probability, calibrated on held-out
writers so that the answers the page presents as sure are right at least `target` of the time.

    calibrate(top1_prob, correct, target=0.99)      -> {"threshold": ..., what it was calibrated on ...}
    calibrate_on_dataset(model.onnx, dataset, ...)  -> the same, measured on the dataset's validation split

The calibration picks the lowest threshold whose accepted answers (top-1 probability >= threshold) reach the target
precision on the validation split: as many answers as possible are shown as sure, and those that are keep the
promised precision on writers the model never trained on. The threshold never goes below `floor` (default 0.5):
below 50 % the model itself says another character is at least as likely, whatever the validation writers did.
A validation split drawn like the training data is easier than a person with a mouse, so the page's threshold is
a lower bound of caution, and the report says what it was calibrated on.
"""

import numpy as np

from kanjiedge.errors import UserError

TARGET_PRECISION = 0.99
FLOOR = 0.5


def calibrate(top1_prob, correct, target=TARGET_PRECISION, floor=FLOOR):
    """Threshold on the top-1 probability at which the precision of accepted answers reaches `target`.

    Args:
        top1_prob: float array [N], softmax probability of each sample's top-1 class.
        correct: bool array [N], whether that top-1 class is the true one.
        target: precision the accepted (shown as sure) answers must reach.
        floor: lowest threshold allowed.

    Returns:
        dict: threshold (>= floor), calibrated (before the floor; 1.0 when no threshold reaches the target),
        target_precision, floor, samples, accuracy (all samples), coverage and precision at the threshold.
    """
    p, ok = np.asarray(top1_prob, np.float64), np.asarray(correct, bool)
    if p.shape != ok.shape or p.ndim != 1 or len(p) == 0:
        raise ValueError(f"calibrate: need two equal-length non-empty 1-d arrays, got {p.shape} and {ok.shape}")
    order = np.argsort(-p, kind="stable")
    precision = np.cumsum(ok[order]) / np.arange(1, len(p) + 1)  # of the k most confident answers
    reach = np.flatnonzero(precision >= target)
    calibrated = float(p[order][reach[-1]]) if len(reach) else 1.0
    threshold = max(calibrated, floor)
    accepted = p >= threshold
    return {"threshold": round(threshold, 6), "calibrated": round(calibrated, 6), "target_precision": target,
            "floor": floor, "samples": int(len(p)), "accuracy": round(float(ok.mean()), 6),
            "coverage": round(float(accepted.mean()), 6),
            "precision": round(float(ok[accepted].mean()), 6) if accepted.any() else None}


def softmax_top1(logits):
    """(top-1 probability, top-1 index) per row of float logits [N,C]."""
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(1, keepdims=True))
    probs = z / z.sum(1, keepdims=True)
    return probs.max(1), probs.argmax(1)


def _split_images(data, split, size):
    """uint8 [n,S,S] images of a split at the model's input size (resized as training does when sizes differ)."""
    idx = np.asarray(data.split_indices(split), np.int64)
    if len(idx) == 0:
        raise UserError(f"{data.path}: the {split} split is empty: nothing to calibrate the page's threshold on")
    if data.images.shape[1] == size:
        return np.asarray(data.images[idx]), idx
    from kanjiedge.preprocess import resize_u8  # torch: only when the sizes differ

    return resize_u8(data.images, idx, size).numpy()[:, 0], idx


def calibrate_on_dataset(model_onnx, data, labels, size, split="val", target=TARGET_PRECISION, floor=FLOOR,
                         batch=256):
    """Run `model_onnx` (onnxruntime CPU, the reference the wasm target is verified against) on a dataset split and
    calibrate the threshold; the result also says which data and split it came from.

    Args:
        model_onnx: ONNX classifier (input float32 [N,1,S,S] ink high / 255).
        data: kanjiedge.dataset.Dataset.
        labels: the model's class characters (index = class); compared by character with the dataset's classes.
        size: the model's input side S.
    """
    import onnxruntime as ort

    from kanjiedge import dataname

    images, idx = _split_images(data, split, size)
    sess = ort.InferenceSession(str(model_onnx), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    logits = np.concatenate([sess.run(None, {name: images[i:i + batch, None].astype(np.float32) / 255})[0]
                             for i in range(0, len(images), batch)])
    prob, pred = softmax_top1(logits)
    truth = np.array([data.classes[c]["char"] for c in data.labels[idx]])
    result = calibrate(prob, np.asarray(labels)[pred] == truth, target, floor)
    result.update(split=split, data=dataname.of_dataset(data.path, split), runtime="onnxruntime (CPU)")
    return result


def uncalibrated(threshold=FLOOR):
    """The page's setting when no dataset is given: a fixed threshold, said to be uncalibrated."""
    return {"threshold": float(threshold), "calibrated": None, "data": None,
            "note": "not calibrated (no dataset given); a top-1 below this probability is shown as unsure"}
