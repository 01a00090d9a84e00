"""The transformer blocks of QD-DETR: cross-attention encoder, self-attention encoder and a
DAB-style decoder whose queries are 2-d anchors ``(center, width)`` refined layer by layer.

As in Lighthouse's QD-DETR (``build_transformer(activation="prelu")``), every transformer
layer's feed-forward network uses its own learnable PReLU (one slope, initialised at 0.25);
the MLP heads and input projections use ReLU.

All tensors are batch-first: ``(B, length, hidden)``. Masks are ``(B, length)`` booleans,
``True`` where a position is real (not padding), which is also what PyTorch's fused
``scaled_dot_product_attention`` expects; every attention goes through it (CPU and GPU
kernels). Set ``keep_weights`` on an :class:`Attention` to also store its attention map
(slower, for figures).
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from amr_lib.model.dropout import Dropout, dropout

SINE_TEMPERATURE = 10000.0      # the Transformer's sinusoid base


class Attention(nn.Module):
    """Multi-head attention with separate query/key width and value width.

    DAB-DETR's decoder concatenates content and position per head, so its queries and keys
    are twice as wide as its values: ``query_dim`` may differ from ``value_dim``.
    """

    def __init__(self, query_dim: int, value_dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        if query_dim % heads or value_dim % heads:
            raise ValueError(f"{heads} heads do not divide widths {query_dim} and {value_dim}")
        self.heads = heads
        self.dropout = dropout
        self.out = nn.Linear(value_dim, value_dim)
        self.keep_weights = False
        self.last_weights: torch.Tensor | None = None   # (B, heads, Lq, Lk) when kept

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_mask: torch.Tensor | None) -> torch.Tensor:
        """``query (B, Lq, Dq)``, ``key (B, Lk, Dq)``, ``value (B, Lk, Dv)`` (already projected),
        ``key_mask (B, Lk)`` True for real keys -> ``(B, Lq, Dv)``."""
        q, k, v = (self._split(x) for x in (query, key, value))            # (B, h, L, d)
        key_mask = hiding_mask(key_mask)
        allowed = None if key_mask is None else key_mask[:, None, None, :]  # (B, 1, 1, Lk)
        # on the CPU, fused attention with dropout falls back to explicit products anyway,
        # with PyTorch's slow dropout mask: take the explicit path with the fast one
        cpu_dropout = self.training and self.dropout > 0 and q.device.type == "cpu"
        if self.keep_weights or cpu_dropout:
            scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
            if allowed is not None:
                scores = scores.masked_fill(~allowed, float("-inf"))
            weights = scores.softmax(-1)
            if self.keep_weights:
                self.last_weights = weights.detach()
            mixed = dropout(weights, self.dropout, self.training) @ v
        else:
            mixed = F.scaled_dot_product_attention(
                q, k, v, attn_mask=allowed, dropout_p=self.dropout if self.training else 0.0)
        batch, _, length, _ = mixed.shape
        return self.out(mixed.transpose(1, 2).reshape(batch, length, -1))  # (B, Lq, Dv)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        return x.view(batch, length, self.heads, width // self.heads).transpose(1, 2)


def hiding_mask(key_mask: torch.Tensor | None) -> torch.Tensor | None:
    """``key_mask``, or ``None`` on the CPU when it hides no key (as in most batches), so
    attention skips the masking passes; the numbers are the same either way."""
    if key_mask is not None and key_mask.device.type == "cpu" and bool(key_mask.all()):
        return None
    return key_mask


class ProjectedAttention(nn.Module):
    """Standard multi-head attention: linear q/k/v projections, then :class:`Attention`."""

    def __init__(self, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(hidden, hidden) for _ in range(3))
        self.attention = Attention(hidden, hidden, heads, dropout)

    def reset_like_multihead_attention(self) -> None:
        """Initialise as QD-DETR's ``nn.MultiheadAttention`` ends up after its transformer's
        Xavier pass: q, k and v are the three row blocks of *one* Xavier-uniform
        ``(3d, d)`` in-projection (a bound of ``sqrt(6 / 4d)``, not ``sqrt(6 / 2d)`` per
        matrix), every in- and out-projection bias zero."""
        hidden = self.q.in_features
        weight = nn.init.xavier_uniform_(torch.empty(3 * hidden, hidden))
        with torch.no_grad():
            for projection, block in zip((self.q, self.k, self.v), weight.chunk(3),
                                         strict=True):
                projection.weight.copy_(block)
                projection.bias.zero_()

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_mask: torch.Tensor | None) -> torch.Tensor:
        return self.attention(self.q(query), self.k(key), self.v(value), key_mask)


ACTIVATIONS = {"prelu": nn.PReLU, "relu": nn.ReLU}


def activation(name: str) -> nn.Module:
    """A transformer FFN's activation: ``prelu`` (QD-DETR's) or ``relu`` (this book's model
    before it followed QD-DETR, kept for the fidelity ablation)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


class FeedForward(nn.Module):
    """Post-norm residual FFN: ``norm(x + drop(W2 drop(prelu(W1 x))))``."""

    def __init__(self, hidden: int, ffn: int, dropout: float, act: str = "prelu") -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden, ffn), activation(act), Dropout(dropout),
                                 nn.Linear(ffn, hidden), Dropout(dropout))
        self.norm = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x + self.net(x))


class CrossAttentionEncoderLayer(nn.Module):
    """QD-DETR's text-to-audio layer: audio frames (queries) attend to text tokens."""

    def __init__(self, hidden: int, heads: int, ffn: int, dropout: float,
                 act: str = "prelu") -> None:
        super().__init__()
        self.attention = ProjectedAttention(hidden, heads, dropout)
        self.drop = Dropout(dropout)
        self.norm = nn.LayerNorm(hidden)
        self.ffn = nn.Sequential(nn.Linear(hidden, ffn), activation(act), Dropout(dropout),
                                 nn.Linear(ffn, hidden))
        self.ffn_drop = Dropout(dropout)
        self.ffn_norm = nn.LayerNorm(hidden)

    def forward(self, audio: torch.Tensor, audio_pos: torch.Tensor, text: torch.Tensor,
                text_mask: torch.Tensor) -> torch.Tensor:
        """``audio (B, T, d)`` with positions ``audio_pos (B, T, d)``; ``text (B, L, d)``,
        ``text_mask (B, L)`` -> ``(B, T, d)``. Text has no positions (QD-DETR's default).
        As in QD-DETR, the FFN reads the normalised sum but adds to the unnormalised one."""
        mixed = audio + self.drop(self.attention(audio + audio_pos, text, text, text_mask))
        return self.ffn_norm(mixed + self.ffn_drop(self.ffn(self.norm(mixed))))


class SelfAttentionEncoderLayer(nn.Module):
    """Self-attention over ``[global token; frames]`` with positions added to queries/keys."""

    def __init__(self, hidden: int, heads: int, ffn: int, dropout: float,
                 act: str = "prelu") -> None:
        super().__init__()
        self.attention = ProjectedAttention(hidden, heads, dropout)
        self.drop = Dropout(dropout)
        self.norm = nn.LayerNorm(hidden)
        self.ffn = FeedForward(hidden, ffn, dropout, act)

    def forward(self, x: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x, pos (B, T, d)``, ``mask (B, T)`` -> ``(B, T, d)``."""
        attended = self.attention(x + pos, x + pos, x, mask)
        return self.ffn(self.norm(x + self.drop(attended)))


class AnchorDecoderLayer(nn.Module):
    """Conditional-DETR decoder layer: self-attention among the K moment queries, then
    cross-attention to the frames where each head compares ``[content; position]`` pairs, so
    an anchor's sine embedding steers where it looks."""

    def __init__(self, hidden: int, heads: int, ffn: int, dropout: float,
                 first: bool, act: str = "prelu") -> None:
        super().__init__()
        self.first = first      # only the first layer adds positions to the content part
        linear = lambda: nn.Linear(hidden, hidden)  # noqa: E731
        self.self_q_content, self.self_q_pos = linear(), linear()
        self.self_k_content, self.self_k_pos, self.self_v = linear(), linear(), linear()
        self.self_attention = Attention(hidden, hidden, heads, dropout)
        self.cross_q_content, self.cross_q_sine = linear(), linear()
        self.cross_q_pos = linear() if first else None
        self.cross_k_content, self.cross_k_pos, self.cross_v = linear(), linear(), linear()
        self.cross_attention = Attention(2 * hidden, hidden, heads, dropout)
        self.heads = heads
        self.drop1, self.drop2 = Dropout(dropout), Dropout(dropout)
        self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.ffn = FeedForward(hidden, ffn, dropout, act)

    def forward(self, queries: torch.Tensor, query_pos: torch.Tensor,
                query_sine: torch.Tensor, memory: torch.Tensor, memory_pos: torch.Tensor,
                memory_mask: torch.Tensor) -> torch.Tensor:
        """``queries, query_pos, query_sine (B, K, d)``; ``memory, memory_pos (B, T, d)``,
        ``memory_mask (B, T)`` -> ``(B, K, d)``."""
        q = self.self_q_content(queries) + self.self_q_pos(query_pos)
        k = self.self_k_content(queries) + self.self_k_pos(query_pos)
        attended = self.self_attention(q, k, self.self_v(queries), None)
        queries = self.norm1(queries + self.drop1(attended))

        q_content = self.cross_q_content(queries)
        k_content = self.cross_k_content(memory)
        k_pos = self.cross_k_pos(memory_pos)
        if self.first:
            q_content = q_content + self.cross_q_pos(query_pos)
            k_content = k_content + k_pos
        q = self._per_head_concat(q_content, self.cross_q_sine(query_sine))   # (B, K, 2d)
        k = self._per_head_concat(k_content, k_pos)                           # (B, T, 2d)
        attended = self.cross_attention(q, k, self.cross_v(memory), memory_mask)
        queries = self.norm2(queries + self.drop2(attended))
        return self.ffn(queries)

    def _per_head_concat(self, content: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        batch, length, width = content.shape
        parts = (content.view(batch, length, self.heads, width // self.heads),
                 position.view(batch, length, self.heads, width // self.heads))
        return torch.cat(parts, dim=-1).view(batch, length, 2 * width)


class AnchorDecoder(nn.Module):
    """QD-DETR's decoder: K queries with 2-d anchors ``(center, width)``, refined per layer.

    Each layer reads its anchors through their sine embedding (query position, width-modulated
    cross-attention). After each layer but the last, a refinement head of its own
    (QD-DETR's ``bbox_embed``, MLP(d, d, 2, 3)) moves the anchors:
    ``next = sigmoid(logit(anchors) + refine(state))``. The next layer *reads* the refined
    anchors detached, but its spans are predicted relative to the *attached* ones, so the
    refinement head learns through the next layer's span loss. The output head that turns
    states into spans lives on the model (QD-DETR's ``span_embed``); it is a different module.

    With ``own_head=False`` (this book's model before it followed QD-DETR, kept for the
    fidelity ablation) there is no refinement head: the model's span head, shared by every
    layer, predicts a layer's spans from its normalised state, and those spans, detached,
    are the next layer's anchors (DAB-DETR's shared refinement).
    """

    def __init__(self, hidden: int, heads: int, ffn: int, dropout: float, layers: int,
                 act: str = "prelu", own_head: bool = True) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            AnchorDecoderLayer(hidden, heads, ffn, dropout, first=index == 0, act=act)
            for index in range(layers))
        self.norm = nn.LayerNorm(hidden)
        self.anchor_to_query = MLP(hidden, hidden, hidden, 2)   # sine(anchor) -> query pos
        self.query_scale = MLP(hidden, hidden, hidden, 2)       # content-dependent pos scale
        self.width_modulation = MLP(hidden, hidden, 1, 2)       # attention width by content
        self.refine = MLP(hidden, hidden, 2, 3) if own_head else None   # moves the anchors
        if self.refine is not None:
            # QD-DETR zeroes this head's last layer, then its transformer-wide Xavier init
            # (applied by the model after construction) redraws the weight: the bias stays 0
            nn.init.zeros_(self.refine.layers[-1].weight)
            nn.init.zeros_(self.refine.layers[-1].bias)

    def forward(self, anchors: torch.Tensor, memory: torch.Tensor, memory_pos: torch.Tensor,
                memory_mask: torch.Tensor, span_head: nn.Module | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``anchors (B, K, 2)`` initial (center, width) in (0, 1), attached to their
        parameters; ``memory, memory_pos (B, T, d)``; ``memory_mask (B, T)``;
        ``span_head``: the model's output span head (needed without a head of its own).

        Returns ``states (layers, B, K, d)`` (normalised) and ``references (layers, B, K, 2)``:
        the anchors each layer's spans are predicted relative to.
        """
        batch, _, hidden = memory.shape
        queries = memory.new_zeros(batch, anchors.shape[1], hidden)
        reading = anchors                     # what the layer reads (detached after layer 0)
        states, references = [], [anchors]
        for index, layer in enumerate(self.layers):
            sine = anchor_embedding(reading, hidden).to(memory)                 # (B, K, d)
            query_pos = self.anchor_to_query(sine)
            scale = 1.0 if index == 0 else self.query_scale(queries)
            width = self.width_modulation(queries).sigmoid()                    # (B, K, 1)
            # the anchor's sine embedding, sharpened or widened by the width ratio (DAB-DETR)
            sine = sine * scale * (width / reading[..., 1:].clamp(min=1e-3))
            queries = layer(queries, query_pos, sine, memory, memory_pos, memory_mask)
            states.append(queries)
            if index < len(self.layers) - 1:
                if self.refine is not None:
                    refined = (inverse_sigmoid(reading) + self.refine(queries)).sigmoid()
                    references.append(refined)
                    reading = refined.detach()
                else:       # this layer's output spans, detached, are the next anchors
                    if span_head is None:
                        raise ValueError("a decoder without a refinement head needs the "
                                         "model's span head")
                    spans = (inverse_sigmoid(reading) + span_head(self.norm(queries)))
                    reading = spans.sigmoid().detach()
                    references.append(reading)
        return self.norm(torch.stack(states)), torch.stack(references)


class MLP(nn.Module):
    """``layers`` linear layers with ReLU between them (DETR's box/span head)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, layers: int) -> None:
        super().__init__()
        widths = [in_dim] + [hidden] * (layers - 1) + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index, layer in enumerate(self.layers):
            x = layer(x) if index == len(self.layers) - 1 else F.relu(layer(x))
        return x


def sine_embedding(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """``(...,)`` positions in [0, 1] -> ``(..., dim)`` sinusoids (scaled by 2 pi first, as
    DETR's normalised position embedding does); ``dim`` must be even."""
    frequencies = SINE_TEMPERATURE ** (2 * (torch.arange(dim // 2, device=positions.device)
                                            .float()) / dim)                 # (dim/2,)
    angles = positions[..., None].float() * (2 * math.pi) / frequencies      # (..., dim/2)
    return torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(-2)


def frame_positions(mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Sine positions of frames: ``mask (B, T)`` -> ``(B, T, dim)``. Each recording's real
    frames are numbered 1..T_b and normalised by T_b, so padding never shifts them."""
    index = mask.float().cumsum(1)                                            # (B, T)
    length = index[:, -1:].clamp(min=1)
    return sine_embedding(index / length, dim).to(torch.get_default_dtype())


def anchor_embedding(anchors: torch.Tensor, hidden: int) -> torch.Tensor:
    """``(..., 2)`` anchors ``(center, width)`` in [0, 1] -> ``(..., hidden)``: half the
    channels encode the center, half the width (DAB-DETR)."""
    return torch.cat((sine_embedding(anchors[..., 0], hidden // 2),
                      sine_embedding(anchors[..., 1], hidden // 2)), dim=-1)


def inverse_sigmoid(x: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    x = x.clamp(0, 1)
    return torch.log(x.clamp(min=eps) / (1 - x).clamp(min=eps))
