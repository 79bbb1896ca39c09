"""`rnn` family (pick with `--model-type`): recurrent readers of a character image.

- basic_rnn: 4x4 grid cells in raster order as a sequence -> BiLSTM -> mean pool.
- stroke_rnn: stroke-segment features (fixed 8-direction line detectors, pooled per 4x4 cell: which stroke
  directions pass through each cell) -> BiLSTM -> additive attention pooling.
- radical_rnn: the radical-rnn architecture (CNN + spatial BiLSTM + KanjiVG component auxiliary loss).
- hybrid_cnn_rnn: DS-CNN backbone, its spatial grid as a BiLSTM sequence, global + sequence features.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from kanjiedge.models import register_model
from kanjiedge.models.layers import ds_backbone
from kanjiedge.models.radical_rnn import RadicalRNN, SpatialBiLSTM

CELL = 4  # grid cell side in pixels


def cells(x):  # [N,C,S,S] -> [N,(S/CELL)^2, C*CELL*CELL] raster order
    return F.unfold(x, CELL, stride=CELL).transpose(1, 2)


class BasicRNN(nn.Module):
    def __init__(self, num_classes: int, hidden: int = 192):
        super().__init__()
        self.proj = nn.Linear(CELL * CELL, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.LayerNorm(2 * hidden), nn.Linear(2 * hidden, num_classes))

    def forward(self, x):
        seq = torch.relu(self.proj(cells(x)))  # [N,T,H]
        return self.head(self.lstm(seq)[0].mean(1))


def direction_kernels(k: int = 5, n: int = 8) -> torch.Tensor:
    """n oriented line detectors [n,1,k,k] (zero-mean, so flat paper and flat ink give 0)."""
    r = torch.arange(k, dtype=torch.float32) - k // 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    out = []
    for i in range(n):
        a = math.pi * i / n
        dist = (xx * math.sin(a) - yy * math.cos(a)).abs()  # distance to the line through the centre
        ker = torch.exp(-dist ** 2)
        out.append(ker - ker.mean())
    return torch.stack(out)[:, None]


class StrokeRNN(nn.Module):
    def __init__(self, num_classes: int, hidden: int = 192, n_dir: int = 8):
        super().__init__()
        self.register_buffer("dirs", direction_kernels(5, n_dir))
        self.proj = nn.Linear(n_dir * CELL * CELL, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True, bidirectional=True)
        self.att = nn.Sequential(nn.Linear(2 * hidden, 64), nn.Tanh(), nn.Linear(64, 1))
        self.head = nn.Sequential(nn.LayerNorm(2 * hidden), nn.Linear(2 * hidden, num_classes))

    def forward(self, x):
        segs = torch.relu(F.conv2d(x, self.dirs, padding=2))  # [N,8,S,S] stroke-direction evidence
        seq = self.lstm(torch.relu(self.proj(cells(segs))))[0]  # [N,T,2H]
        w = torch.softmax(self.att(seq), 1)  # [N,T,1] attention over cells
        return self.head((w * seq).sum(1))


class HybridCNNRNN(nn.Module):
    def __init__(self, num_classes: int, widths=(32, 64, 128, 256), hidden: int = 128):
        super().__init__()
        self.features = ds_backbone(widths)
        self.rnn = SpatialBiLSTM(widths[-1], hidden)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(widths[-1] + 2 * hidden, num_classes))

    def forward(self, x):
        fmap = self.features(x)
        return self.head(torch.cat([fmap.mean((2, 3)), self.rnn(fmap).mean(1)], 1))


MODEL_TYPES = ("basic_rnn", "stroke_rnn", "radical_rnn", "hybrid_cnn_rnn")


@register_model
def rnn(num_classes, image_size, classes=None, model_type="hybrid_cnn_rnn"):
    """Recurrent family; `model_type` one of basic_rnn, stroke_rnn, radical_rnn, hybrid_cnn_rnn.

    Raises:
        ValueError: unknown model_type, or radical_rnn without `classes`.
    """
    if model_type not in MODEL_TYPES:
        raise ValueError(f"rnn: unknown --model-type {model_type!r}; choose from {', '.join(MODEL_TYPES)}")
    if image_size % CELL:
        raise ValueError(f"rnn: --image-size must be a multiple of {CELL}")
    if model_type == "radical_rnn":
        if not classes:
            raise ValueError("rnn --model-type radical_rnn needs the dataset's classes.json list")
        return RadicalRNN(num_classes, classes)
    return {"basic_rnn": BasicRNN, "stroke_rnn": StrokeRNN, "hybrid_cnn_rnn": HybridCNNRNN}[model_type](num_classes)
