"""`qat`: quantization-aware training (torch.ao eager mode) of a depthwise-separable CNN, yielding a genuinely int8
model. The registered model is the *prepared* network: conv+BN+ReLU fused, fake-quantize on weights (per channel,
int8) and activations (uint8), so training sees int8 rounding. After training:

- `model.to_int8()` -> torch.ao `convert`ed model with real int8 kernels (quantized::conv2d ...), CPU only.
- ONNX: exporting the prepared model (what `kanjiedge edge` does with every model) turns each fake-quantize into a
  QuantizeLinear/DequantizeLinear pair (opset >= 13 for per-channel): an int8 QDQ graph with the scales QAT
  learned, that onnxruntime runs with int8 kernels (float32 input/output). No post-training calibration needed.
No squeeze-excite here: its multiply has no fused int8 form in eager mode.
"""

import copy

import torch
from torch import nn
from torch.ao import quantization as tq

from kanjiedge.models import register_model
from kanjiedge.models.recipe import Recipe


def cbr(cin, cout, k=3, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU())


class QuantDSCNN(nn.Module):
    """Float DS-CNN with QuantStub/DeQuantStub at the ends (the network `prepare_qat` instruments)."""

    def __init__(self, num_classes: int, image_size: int, widths=(32, 64, 128, 256), reduce=64, hidden=256):
        super().__init__()
        layers = [cbr(1, widths[0])]
        for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:])):
            layers += [cbr(cin, cin, 3, 2, cin), cbr(cin, cout, 1)]
            if i > 0:
                layers += [cbr(cout, cout, 3, 1, cout), cbr(cout, cout, 1)]
        layers.append(cbr(widths[-1], reduce, 1))  # layout-keeping neck, as in `cnn`: a global mean pool
        self.features = nn.Sequential(*layers)       # discards where strokes sit and learns far slower
        side = image_size // 2 ** (len(widths) - 1)
        self.fc = nn.Sequential(nn.Linear(reduce * side * side, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, num_classes)
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()

    def forward(self, x):
        x = self.features(self.quant(x)).flatten(1)
        return self.dequant(self.head(self.fc(x)))

    def fuse(self):
        for block in self.features:
            tq.fuse_modules_qat(block, ["0", "1", "2"], inplace=True)
        tq.fuse_modules_qat(self.fc, ["0", "1"], inplace=True)
        return self


def qat_qconfig() -> tq.QConfig:
    """uint8 activations (0..255, per tensor), int8 symmetric per-channel weights: the ranges ONNX QDQ allows.
    Plain FakeQuantize (not torch's default fused variant, which has no ONNX export)."""
    act = tq.FakeQuantize.with_args(observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                                    dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    weight = tq.FakeQuantize.with_args(observer=tq.MovingAveragePerChannelMinMaxObserver, quant_min=-128,
                                       quant_max=127, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    return tq.QConfig(activation=act, weight=weight)


class QATModel(nn.Module):
    """Wraps the prepared network; observers run only in train mode, so eval / export see frozen scales.

    Delayed fake quantization: the first `float_steps` training steps run in float (observers already collecting
    ranges), then weights and activations are fake-quantized. Quantizing from the first step kept the loss at
    ln(C) for whole epochs; a float start then QAT is the usual recipe. The step count is a buffer, so a resumed run
    continues exactly where it stopped. Eval and export always see the fake-quantized (int8) network.
    """

    def __init__(self, num_classes: int, image_size: int, widths=(32, 64, 128, 256), backend: str = "qnnpack",
                 float_steps: int = 500):
        super().__init__()
        net = QuantDSCNN(num_classes, image_size, widths).fuse()
        net.qconfig = qat_qconfig()
        self.net = tq.prepare_qat(net.train())
        self.backend, self.float_steps = backend, float_steps
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))  # training steps seen
        self._fake_quant = None  # the fake-quant state last applied to self.net
        with torch.no_grad():  # size the per-channel observers (an untrained model must still run / export)
            self.net(torch.zeros(2, 1, image_size, image_size))

    def train(self, mode: bool = True):
        super().train(mode)
        self.net.apply(tq.enable_observer if mode else tq.disable_observer)
        return self

    def _set_fake_quant(self, on: bool):
        if on is not self._fake_quant:
            self.net.apply(tq.enable_fake_quant if on else tq.disable_fake_quant)
            self._fake_quant = on

    def forward(self, x):  # [N,1,S,S] -> logits [N,C] (fake-quantized float once past float_steps, and in eval)
        if self.training and not torch.jit.is_tracing():
            self.steps += 1
            self._set_fake_quant(bool(self.steps > self.float_steps))
        else:
            self._set_fake_quant(True)
        return self.net(x)

    def to_int8(self) -> nn.Module:
        """A converted copy with real int8 weights and kernels (run on CPU with the same backend engine)."""
        torch.backends.quantized.engine = self.backend
        return tq.convert(copy.deepcopy(self.net).cpu().eval())


QAT_RECIPE = Recipe(
    epochs=30, why="fake quantization adds rounding noise to every step: float for the first 500 steps, then "
                   "more epochs than cnn to recover (84 % after 12 epochs and still rising; 98.3 % after 30)")


@register_model(recipe=QAT_RECIPE)
def qat(num_classes, image_size, classes=None, widths=(32, 64, 128, 256), backend="qnnpack", float_steps=500):
    """Quantization-aware DS-CNN (int8 via `to_int8()` or as a QDQ ONNX graph); `float_steps` float warm-up steps."""
    return QATModel(num_classes, image_size, tuple(widths), backend, float_steps)
