"""Zero-shot pieces of hiercode: the seen-calibrated unseen-class bias, component-frequency balancing of the
code bits, and checkpoints from before the bias still loading."""

import pytest
import torch

from kanjiedge.models import create_model
from kanjiedge.models.hiercode import bit_weights
from kanjiedge.models.zeroshot import unseen_bias, unseen_margins
from test_models import CLASSES, S


def _logits():
    """4 seen images of classes 0..3 (class 4 unseen); margins over the unseen class 0.5, 1, 2, 3; row 3 wrong."""
    lg = torch.zeros(4, 5)
    lg[torch.arange(4), torch.arange(4)] = torch.tensor([5.0, 5.0, 5.0, 1.0])
    lg[:, 4] = torch.tensor([4.5, 4.0, 3.0, 2.0])
    lg[3, 0] = 3.0  # row 3 (class 3) is already wrong: it never counts against the tolerance
    return lg, torch.arange(4), torch.tensor([False] * 4 + [True])


def test_unseen_margins_only_rows_already_right():
    lg, y, unseen = _logits()
    assert unseen_margins(lg, y, unseen).tolist() == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("tol,gamma,lost", [(0.0, 0.5, 0), (0.25, 1.0, 1), (0.5, 2.0, 2), (1.0, 2.0, 3)])
def test_unseen_bias_costs_at_most_tolerance(tol, gamma, lost):
    """gamma is the largest bias that turns at most floor(tol * N) seen rows wrong (ties stay right)."""
    lg, y, unseen = _logits()
    got = unseen_bias(lg, y, unseen, tol)
    assert got == gamma
    right_before = (lg.argmax(1) == y).sum()
    right_after = ((lg + unseen.float() * got).argmax(1) == y).sum()
    assert int(right_before - right_after) <= max(lost, int(tol * 4))


def test_unseen_bias_refuses_unseen_rows_and_is_zero_without_unseen():
    lg, y, unseen = _logits()
    with pytest.raises(ValueError):
        unseen_bias(lg, torch.tensor([0, 1, 2, 4]), unseen, 0.1)
    assert unseen_bias(lg, y, torch.zeros(5, dtype=torch.bool), 0.1) == 0.0


def test_calibrate_unseen_biases_only_unseen_classes_in_forward():
    torch.manual_seed(0)
    model = create_model("hiercode", len(CLASSES), S, classes=CLASSES, seen_tolerance=0.5).eval()
    x = torch.rand(3, 1, S, S)
    with torch.no_grad():
        before = model(x)
    unseen = torch.zeros(len(CLASSES), dtype=torch.bool)
    unseen[[3, 9]] = True
    lg = torch.randn(8, len(CLASSES)) * 3
    gamma = model.calibrate_unseen(lg, torch.tensor([0, 1, 2, 4, 5, 6, 7, 8]), unseen)
    with torch.no_grad():
        diff = model(x) - before
    assert gamma >= 0 and torch.allclose(diff[:, unseen], torch.full((3, 2), gamma))
    assert bool((diff[:, ~unseen] == 0).all())


def test_checkpoint_without_class_bias_loads():
    model = create_model("hiercode", len(CLASSES), S, classes=CLASSES)
    old = {k: v for k, v in model.state_dict().items() if k != "class_bias"}
    fresh = create_model("hiercode", len(CLASSES), S, classes=CLASSES)
    fresh.load_state_dict(old)  # strict: the missing bias is filled with zeros
    assert bool((fresh.class_bias == 0).all())


def test_bit_weights_favour_rare_bits_and_change_the_scores():
    """idf weighting: a bit many classes set weighs less than a bit few set; balance=0 leaves the codes alone."""
    codes = torch.tensor([[1.0, 1, 0], [1, 0, 1], [1, 0, 0], [1, 0, 0]])
    w = bit_weights(codes, 1.0)
    assert w[0] < w[1] == w[2] and torch.isclose(w.mean(), torch.tensor(1.0))
    assert bool((bit_weights(codes, 0.0) == 1).all())
    plain = create_model("hiercode", len(CLASSES), S, classes=CLASSES).eval()
    bal = create_model("hiercode", len(CLASSES), S, classes=CLASSES, balance=1.0).eval()
    z = torch.randn(2, plain.codes.shape[1])
    assert not torch.allclose(plain.class_logits(z), bal.class_logits(z))
