"""`vit`: a small Vision Transformer (Dosovitskiy et al. 2021): patch embedding (--arch-opt patch_size=P), class
token, learned positions, pre-norm blocks. Attention is written out (no nn.MultiheadAttention) so the ONNX graph
is plain MatMul/Softmax at any opset >= 13."""

import torch
from torch import nn


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


class ViT(nn.Module):
    def __init__(self, num_classes: int, image_size: int, patch_size: int = 4, dim: int = 192, depth: int = 6,
                 heads: int = 4):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"vit: image size {image_size} is not a multiple of patch_size {patch_size}")
        tokens = (image_size // patch_size) ** 2
        self.patch = nn.Conv2d(1, dim, patch_size, patch_size)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):  # [N,1,S,S] -> [N,C]
        t = self.patch(x).flatten(2).transpose(1, 2)  # [N,T,D]
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], 1) + self.pos
        for blk in self.blocks:
            t = blk(t)
        return self.head(self.norm(t[:, 0]))


from kanjiedge.models import register_model  # noqa: E402  (after the classes levit imports from here)


@register_model
def vit(num_classes, image_size, classes=None, patch_size=4, dim=192, depth=6, heads=4):
    """Vision Transformer; `patch_size` must divide the image size."""
    return ViT(num_classes, image_size, patch_size, dim, depth, heads)
