"""`vit`: a small Vision Transformer (Dosovitskiy et al. 2021): tokens from strided patches (--arch-opt
patch_size=P) or from a convolutional stem (stem=conv, the recipe's choice: see VIT_RECIPE), learned positions,
pre-norm blocks, class token or mean pooling. Attention is written out (no nn.MultiheadAttention) so the ONNX graph
is plain MatMul/Softmax at any opset >= 13."""

import torch
from torch import nn

from kanjiedge.models.layers import conv_bn_act


class Attention(nn.Module):
    """Multi-head self-attention over [N,T,D]; optional additive bias [heads,T,T] (LeViT-style)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, bias=None):
        n, t, d = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)  # each [N,h,T,hd]
        att = (q @ k.transpose(-2, -1)) * self.hd ** -0.5  # [N,h,T,T]
        if bias is not None:
            att = att + bias
        out = (att.softmax(-1) @ v).transpose(1, 2).reshape(n, t, d)
        return self.proj(out)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(LN x); x + MLP(LN x)."""

    def __init__(self, dim: int, heads: int, mlp: int = 2):
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp * dim), nn.GELU(), nn.Linear(mlp * dim, dim))

    def forward(self, x, bias=None):
        x = x + self.attn(self.n1(x), bias)
        return x + self.mlp(self.n2(x))


def conv_stem(dim: int, stride: int = 4) -> nn.Sequential:
    """3x3 conv-BN-ReLU layers 1 -> 32 -> 64 (-> 128) -> dim; all but the first stride 2: S -> S/stride tokens
    (stride 4 or 8).

    Why (Xiao et al. 2021, "Early convolutions help transformers see better"): a strided-patch projection has no
    locality prior, and on a few thousand images the attention layers never learn one; the convolutions give the
    tokens local stroke features from the first step and make AdamW training stable."""
    if stride not in (4, 8):
        raise ValueError(f"vit: stem_stride must be 4 or 8, not {stride}")
    widths = [32, 64, dim] if stride == 4 else [32, 64, 128, dim]
    layers = [conv_bn_act(1, 32, 3, 1)] + [conv_bn_act(a, b, 3, 2) for a, b in zip(widths[:-1], widths[1:])]
    return nn.Sequential(*layers)


class ViT(nn.Module):
    """Tokens (conv stem or patches) + learned positions -> pre-norm blocks -> mean of tokens (or class token)."""

    def __init__(self, num_classes: int, image_size: int, patch_size: int = 4, dim: int = 192, depth: int = 6,
                 heads: int = 4, stem: str = "patch", pool: str = "cls", dropout: float = 0.0, stem_stride: int = 4):
        super().__init__()
        if stem not in ("patch", "conv") or pool not in ("cls", "mean"):
            raise ValueError(f"vit: stem must be patch|conv and pool cls|mean, not {stem!r} / {pool!r}")
        step = stem_stride if stem == "conv" else patch_size
        if image_size % step:
            raise ValueError(f"vit: image size {image_size} is not a multiple of {step}")
        tokens = (image_size // step) ** 2
        self.patch = conv_stem(dim, stem_stride) if stem == "conv" else nn.Conv2d(1, dim, patch_size, patch_size)
        self.pool = pool
        self.cls = nn.Parameter(torch.zeros(1, 1, dim)) if pool == "cls" else None
        self.pos = nn.Parameter(torch.randn(1, tokens + (pool == "cls"), dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):  # [N,1,S,S] -> [N,C]
        t = self.patch(x).flatten(2).transpose(1, 2)  # [N,T,D]
        if self.cls is not None:
            t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], 1)
        t = t + self.pos
        for blk in self.blocks:
            t = blk(t)
        t = self.norm(t)
        return self.head(self.drop(t[:, 0] if self.cls is not None else t.mean(1)))


from kanjiedge.models import register_model  # noqa: E402  (after the classes levit imports from here)
from kanjiedge.models.recipe import Recipe  # noqa: E402


VIT_RECIPE = Recipe(
    epochs=30, lr=2e-3, warmup_epochs=3, clip_grad=1.0,
    options={"stem": "conv", "stem_stride": 8, "pool": "mean", "dim": 128},
    why="small-data hybrid ViT: a conv stem to 4x4 tokens gives them the locality prior attention cannot learn from "
        "3,600 images (patches + class token at the cnn's 4e-3 / 1 warm-up epoch stayed at 3 %); mean-pooled tokens, "
        "3 warm-up epochs, half the cnn's rate and gradient clipping keep AdamW stable; 30 epochs")


@register_model(recipe=VIT_RECIPE)
def vit(num_classes, image_size, classes=None, patch_size=4, dim=192, depth=6, heads=4, stem="patch", pool="cls",
        dropout=0.0, stem_stride=4):
    """Vision Transformer.

    Args:
        patch_size: side of the strided patches (stem="patch"); must divide the image size.
        dim, depth, heads: token width, blocks, attention heads.
        stem: "patch" (Dosovitskiy et al.) or "conv" (convolutions to S/stem_stride, see `conv_stem`).
        stem_stride: 4 (8x8 tokens at 32 px) or 8 (4x4 tokens: a hybrid ViT, ~4x cheaper attention and MLPs).
        pool: "cls" (class token) or "mean" (mean of the final tokens: every token gets a gradient).
        dropout: before the classifier.
    """
    return ViT(num_classes, image_size, patch_size, dim, depth, heads, stem, pool, dropout, stem_stride)
