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


def cbr(cin, cout, k=3, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU())


class QuantDSCNN(nn.Module):
    """Float DS-CNN with QuantStub/DeQuantStub at the ends (the network `prepare_qat` instruments)."""

    def __init__(self, num_classes: int, widths=(32, 64, 128, 256)):
        super().__init__()
        layers = [cbr(1, widths[0])]
        for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:])):
            layers += [cbr(cin, cin, 3, 2, cin), cbr(cin, cout, 1)]
            if i > 0:
                layers += [cbr(cout, cout, 3, 1, cout), cbr(cout, cout, 1)]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(widths[-1], num_classes)
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()

    def forward(self, x):
        x = self.pool(self.features(self.quant(x))).flatten(1)
        return self.dequant(self.head(x))

    def fuse(self):
        for block in self.features:
            tq.fuse_modules_qat(block, ["0", "1", "2"], inplace=True)
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
    """Wraps the prepared network; observers run only in train mode, so eval / export see frozen scales."""

    def __init__(self, num_classes: int, image_size: int, widths=(32, 64, 128, 256), backend: str = "qnnpack"):
        super().__init__()
        net = QuantDSCNN(num_classes, widths).fuse()
        net.qconfig = qat_qconfig()
        self.net = tq.prepare_qat(net.train())
        self.backend = backend
        with torch.no_grad():  # size the per-channel observers (an untrained model must still run / export)
            self.net(torch.zeros(2, 1, image_size, image_size))

    def train(self, mode: bool = True):
        super().train(mode)
        self.net.apply(tq.enable_observer if mode else tq.disable_observer)
        return self

    def forward(self, x):  # [N,1,S,S] -> logits [N,C] (fake-quantized float)
        return self.net(x)

    def to_int8(self) -> nn.Module:
        """A converted copy with real int8 weights and kernels (run on CPU with the same backend engine)."""
        torch.backends.quantized.engine = self.backend
        return tq.convert(copy.deepcopy(self.net).cpu().eval())


@register_model
def qat(num_classes, image_size, classes=None, widths=(32, 64, 128, 256), backend="qnnpack"):
    """Quantization-aware DS-CNN (int8 via `to_int8()` or as a QDQ ONNX graph)."""
    return QATModel(num_classes, image_size, tuple(widths), backend)
