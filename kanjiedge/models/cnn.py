"""`cnn`: depthwise-separable CNN with squeeze-excitation, the default architecture.

Widths 1 -> 32 -> 64 -> 128 -> 256 (a 512 stage is optional via `widths`). The classifier head dominates the size:
at 3,036 classes a 256-wide head is 777k weights, the backbone ~0.2M, so the int8 model stays under ~1.1 MB.
"""

from torch import nn

from kanjiedge.models import register_model
from kanjiedge.models.layers import ds_backbone


class DSCNN(nn.Module):
    """Backbone `ds_backbone(widths)` -> global average pool -> dropout -> linear classifier."""

    def __init__(self, num_classes: int, widths=(32, 64, 128, 256), dropout: float = 0.2, se: bool = True):
        super().__init__()
        self.features = ds_backbone(widths, se)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(widths[-1], num_classes)

    def embed(self, x):  # [N,1,S,S] -> [N,widths[-1]]
        return self.features(x).mean((2, 3))

    def forward(self, x):  # -> logits [N,C]
        return self.head(self.drop(self.embed(x)))


@register_model
def cnn(num_classes, image_size, classes=None, widths=(32, 64, 128, 256), dropout=0.2):
    """Depthwise-separable CNN + SE.

    Args:
        num_classes: classes C.
        image_size: input side S (any S divisible by 8 works; pooling is global).
        classes: unused.
        widths: channel widths; stage i>0 halves the resolution.
        dropout: dropout before the classifier.
    """
    return DSCNN(num_classes, tuple(widths), dropout)
