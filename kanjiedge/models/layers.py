"""Small building blocks shared by the model families (all ONNX-exportable at opset 13: no adaptive pooling
with odd output sizes, no dynamic shapes beyond the batch)."""

import torch
from torch import nn


def conv_bn_act(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """k x k conv (no bias) -> BatchNorm -> ReLU6 (ReLU6 keeps activations in a range int8 handles well)."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class SqueezeExcite(nn.Module):
    """Channel attention (Hu et al. 2018): global mean -> bottleneck MLP -> sigmoid gate per channel."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(8, channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x):  # x: [N,C,H,W]
        s = x.mean((2, 3), keepdim=True)  # [N,C,1,1]
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))


class DSBlock(nn.Module):
    """Depthwise-separable conv block (MobileNet v1 style) with optional SE: dw3x3(stride) -> pw1x1 -> SE."""

    def __init__(self, cin: int, cout: int, stride: int = 1, se: bool = True):
        super().__init__()
        self.dw = conv_bn_act(cin, cin, 3, stride, groups=cin)
        self.pw = conv_bn_act(cin, cout, 1)
        self.se = SqueezeExcite(cout) if se else nn.Identity()

    def forward(self, x):
        return self.se(self.pw(self.dw(x)))


def ds_backbone(widths, se: bool = True) -> nn.Sequential:
    """Stem conv 1->widths[0], then one stride-2 DS block per following width (+ a stride-1 refine block
    at every stage after the first). Spatial size shrinks by 2**(len(widths)-1)."""
    layers = [conv_bn_act(1, widths[0], 3, 1)]
    for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(DSBlock(cin, cout, 2, se))
        if i > 0:
            layers.append(DSBlock(cout, cout, 1, se))
    return nn.Sequential(*layers)


def flat_neck(width: int, image_size: int, stages: int, reduce: int = 64, hidden: int = 256) -> nn.Sequential:
    """Layout-keeping neck: 1x1 conv width->reduce on the [N,width,s,s] map (s = image_size / 2**stages), flatten,
    FC -> BN -> ReLU to `hidden`. Where a stroke or component sits matters; a global mean pool discards it."""
    side = image_size // 2 ** stages
    return nn.Sequential(conv_bn_act(width, reduce, 1), nn.Flatten(),
                         nn.Linear(reduce * side * side, hidden), nn.BatchNorm1d(hidden), nn.ReLU())
