"""Audio Moment DETR: QD-DETR on sliding-window audio features.

Data path for a batch of ``B`` (recording, query) pairs::

    audio (B, T, Da) --L2 norm, + [t/T, (t+1)/T]--> input projection --> (B, T, d)
    text  (B, L, Dt) --L2 norm----------------------> input projection --> (B, L, d)
    cross-attention encoder: frames attend to the text tokens               (B, T, d)
    self-attention encoder over [global; frames] with sine positions        (B, 1+T, d)
    saliency: <W1 frame_t, W2 global> / sqrt(d)                             (B, T)
    decoder: K learned anchors (center, width), moved after each layer by
             a refinement head of its own                                   (B, K, d)
    heads: class logits (B, K, 2) [foreground, background]; spans (B, K, 2) cxw in [0, 1],
           each layer's relative to the anchors it was given (QD-DETR's span_embed)

The output dict (see :meth:`AMDETR.forward`) follows DETR's contract; the weights of the
losses live in the trainer. ``AMDETRConfig.paper()`` is the configuration of the paper.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from amr_lib.model.dropout import Dropout
from amr_lib.model.transformer import (
    MLP,
    AnchorDecoder,
    Attention,
    CrossAttentionEncoderLayer,
    ProjectedAttention,
    SelfAttentionEncoderLayer,
    frame_positions,
    inverse_sigmoid,
)

TEMPORAL_ENDPOINTS = 2          # [t/T, (t+1)/T] appended to every audio frame
ARCHITECTURE_VERSION = 2        # bump when the same config builds a different network


# the fidelity switches of AMDETRConfig, QD-DETR's value first
FIDELITY_SWITCHES = {"activation": ("prelu", "relu"), "refinement": ("own-head", "shared-head"),
                     "init": ("qd-detr", "earlier")}


@dataclass(frozen=True)
class AMDETRConfig:
    """Every size and switch of the model; ablations are values here, not copied modules."""

    audio_dim: int = 256            # audio feature width (contrastive 256, LAION-CLAP 512)
    text_dim: int = 384             # width of the token states (MiniLM: 384, CLAP: 768)
    hidden_dim: int = 256
    num_queries: int = 10           # K moment queries (anchors)
    cross_layers: int = 2           # text-to-audio cross-attention encoder layers
    encoder_layers: int = 2         # self-attention encoder layers
    decoder_layers: int = 2
    heads: int = 8
    ffn_dim: int = 1024
    dropout: float = 0.1            # inside the transformer
    input_dropout: float = 0.5      # in the input projections
    input_layers: int = 2           # LayerNorm-Dropout-Linear blocks per input projection
    temporal_endpoints: bool = True  # append [t/T, (t+1)/T] to the audio features
    span_head_layers: int = 3       # MLP(d, d, 2, 3)
    # the fidelity ablation: this book's model before it followed QD-DETR (before_fidelity)
    activation: str = "prelu"       # transformer FFNs: prelu (QD-DETR) | relu (before)
    refinement: str = "own-head"    # anchors moved by: own-head (QD-DETR) | shared-head
    init: str = "qd-detr"           # qd-detr | earlier (Xavier on fewer blocks, torch's
                                    # default attention init)
    # beyond the paper: a presence logit from the encoder's global token ("is the sound
    # there at all?"), built after every other module so their initial weights stay
    presence_head: bool = False

    def __post_init__(self) -> None:
        sizes = [getattr(self, f.name) for f in fields(self) if f.type == "int"]
        if min(sizes) < 1:
            raise ValueError(f"every size must be a positive integer: {self}")
        if self.hidden_dim % self.heads or self.hidden_dim % 4:
            raise ValueError(f"hidden_dim {self.hidden_dim} must be divisible by heads "
                             f"({self.heads}) and by 4 (sine anchor embedding)")
        for name in ("dropout", "input_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        for name, allowed in FIDELITY_SWITCHES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got "
                                 f"{getattr(self, name)!r}")

    @classmethod
    def paper(cls, audio_dim: int = 768, text_dim: int = 768) -> AMDETRConfig:
        """The paper's configuration (Lighthouse's QD-DETR): d=256, 8 heads, FFN 1024,
        2+2 encoder layers, 2 decoder layers (Section V-A), and QD-DETR's K=10 moments (the
        paper leaves K open). Default input widths are those of the
        paper's features, MS-CLAP 2023 as Lighthouse extracts them: 768-wide audio
        embeddings taken before CLAP's projection and 768-wide token states. Training sets
        the widths from the data (our LAION-CLAP backend gives 512 and 768)."""
        return cls(audio_dim=audio_dim, text_dim=text_dim)

    @classmethod
    def quick(cls, audio_dim: int = 256, text_dim: int = 384) -> AMDETRConfig:
        """The CPU-sized model of the quick profile: the paper's layout at width 128."""
        return cls(audio_dim=audio_dim, text_dim=text_dim, hidden_dim=128, heads=4,
                   ffn_dim=512)

    def with_inputs(self, audio_dim: int, text_dim: int) -> AMDETRConfig:
        return replace(self, audio_dim=audio_dim, text_dim=text_dim)

    def before_fidelity(self) -> AMDETRConfig:
        """This configuration as the book built it before following QD-DETR (commit
        f5bef3e): ReLU in the transformer FFNs, anchors moved by the shared span head
        (detached), Xavier on the encoders and decoder layers only, with torch's default
        attention init. The dropout stream and the negative pairs stay today's."""
        return replace(self, activation="relu", refinement="shared-head", init="earlier")

    def to_json(self) -> dict[str, Any]:
        """Every field; the fidelity switches and the presence head only where they differ
        from the paper's model, so a configuration, and the runs keyed on it, read as
        before those options existed."""
        values = asdict(self)
        for name, allowed in FIDELITY_SWITCHES.items():
            if values[name] == allowed[0]:
                del values[name]
        if not self.presence_head:
            del values["presence_head"]
        return values

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> AMDETRConfig:
        return cls(**values)


def input_projection(in_dim: int, hidden: int, layers: int, dropout: float) -> nn.Sequential:
    """QD-DETR's input projection: ``layers`` x (LayerNorm, Dropout, Linear), ReLU between."""
    blocks: list[nn.Module] = []
    for index in range(layers):
        width = in_dim if index == 0 else hidden
        blocks += [nn.LayerNorm(width), Dropout(dropout), nn.Linear(width, hidden)]
        if index < layers - 1:
            blocks.append(nn.ReLU())
    return nn.Sequential(*blocks)


class AMDETR(nn.Module):
    """QD-DETR for audio (see the module docstring)."""

    def __init__(self, config: AMDETRConfig) -> None:
        super().__init__()
        self.config = config
        c, d = config, config.hidden_dim
        extra = TEMPORAL_ENDPOINTS if c.temporal_endpoints else 0
        self.audio_projection = input_projection(c.audio_dim + extra, d, c.input_layers,
                                                 c.input_dropout)
        self.text_projection = input_projection(c.text_dim, d, c.input_layers, c.input_dropout)
        self.global_token = nn.Parameter(torch.randn(d))
        self.global_position = nn.Parameter(torch.randn(d))
        self.cross_encoder = nn.ModuleList(
            CrossAttentionEncoderLayer(d, c.heads, c.ffn_dim, c.dropout, c.activation)
            for _ in range(c.cross_layers))
        self.encoder = nn.ModuleList(
            SelfAttentionEncoderLayer(d, c.heads, c.ffn_dim, c.dropout, c.activation)
            for _ in range(c.encoder_layers))
        self.saliency_frames = nn.Linear(d, d)
        self.saliency_global = nn.Linear(d, d)
        # learned anchors, stored before the sigmoid (DAB-DETR)
        self.anchors = nn.Parameter(torch.randn(c.num_queries, 2))
        self.decoder = AnchorDecoder(d, c.heads, c.ffn_dim, c.dropout, c.decoder_layers,
                                     c.activation, own_head=c.refinement == "own-head")
        # output heads, shared by every decoder layer: spans relative to the layer's
        # reference anchors (QD-DETR's span_embed) and 2-way class logits
        self.span_head = MLP(d, d, 2, c.span_head_layers)
        self.class_head = nn.Linear(d, 2)
        self._initialise()
        if c.presence_head:     # after every other draw: the rest initialises as without it
            self.presence = nn.Linear(d, 1)

    def _initialise(self) -> None:
        """QD-DETR's transformer init, or the book's earlier one (``init="earlier"``)."""
        if self.config.init == "earlier":   # Xavier on the layers only, torch's attention
            for block in (self.cross_encoder, self.encoder, self.decoder.layers):
                for parameter in block.parameters():
                    if parameter.dim() > 1:
                        nn.init.xavier_uniform_(parameter)
            return
        for block in (self.cross_encoder, self.encoder, self.decoder):
            for parameter in block.parameters():      # QD-DETR's transformer init
                if parameter.dim() > 1:
                    nn.init.xavier_uniform_(parameter)
            for module in block.modules():            # what its attention modules do
                if isinstance(module, ProjectedAttention):    # torch's multi-head attention
                    module.reset_like_multihead_attention()
                if isinstance(module, Attention):             # both kinds: out bias 0
                    nn.init.zeros_(module.out.bias)

    def forward(self, audio: torch.Tensor, audio_mask: torch.Tensor, tokens: torch.Tensor,
                token_mask: torch.Tensor, negative_pairs: bool = False) -> dict[str, Any]:
        """Predict moments for each (recording, query) pair.

        Inputs: ``audio (B, T, audio_dim)`` frame features, ``audio_mask (B, T)`` True on
        real frames; ``tokens (B, L, text_dim)`` and ``token_mask (B, L)`` likewise. Raw
        features: this method L2-normalises them. With ``negative_pairs`` (training), every
        recording is also paired with the next query's text (QD-DETR's negatives: the
        projected texts rolled by one within the batch) and the encoders score it; the
        decoder never sees those pairs, because only the saliency loss uses them.

        Returns a dict:
          ``pred_logits (B, K, 2)``: class logits, index 0 = foreground;
          ``pred_spans (B, K, 2)``: normalised (center, width) in [0, 1] of the frame axis;
          ``saliency_scores (B, T)``: per-frame relevance (padding frames hold junk);
          ``saliency_scores_neg (B, T)``: the same for the negative pairs, if asked for;
          ``presence_logits (B,)``: with a presence head, the logit that the query's sound
          is in the recording at all;
          ``aux_outputs``: list of ``{"pred_logits", "pred_spans"}`` of earlier decoder layers.
        """
        batch = audio.shape[0]
        audio_mask, token_mask = audio_mask.bool(), token_mask.bool()
        frames, text = self.project(audio, audio_mask, tokens)
        if negative_pairs:      # one encoder pass over the 2B pairs: positives, then negatives
            frames, audio_mask, text, token_mask = with_negative_pairs(
                frames, audio_mask, text, token_mask)
        memory, saliency, global_state = self.encode(frames, audio_mask, text, token_mask)
        out = self.decode(memory[:batch], audio_mask[:batch])
        out["saliency_scores"] = saliency[:batch]
        if self.config.presence_head:
            out["presence_logits"] = self.presence(global_state[:batch]).squeeze(-1)
        if negative_pairs:
            out["saliency_scores_neg"] = saliency[batch:]
        return out

    def project(self, audio: torch.Tensor, audio_mask: torch.Tensor, tokens: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Input projections: ``(frames (B, T, d), text (B, L, d))`` from raw features."""
        x = F.normalize(audio, dim=-1)
        if self.config.temporal_endpoints:
            x = torch.cat((x, temporal_endpoints(audio_mask).to(x)), dim=-1)
        return (self.audio_projection(x),                                       # (B, T, d)
                self.text_projection(F.normalize(tokens, dim=-1)))             # (B, L, d)

    def encode(self, frames: torch.Tensor, audio_mask: torch.Tensor, text: torch.Tensor,
               token_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encoders on projected inputs: ``(memory (B, T, d), saliency (B, T), global
        state (B, d))``."""
        batch = frames.shape[0]
        x = frames
        positions = frame_positions(audio_mask, x.shape[-1]).to(x)              # (B, T, d)
        for layer in self.cross_encoder:       # frames only: the global token joins after
            x = layer(x, positions, text, token_mask)
        x = torch.cat((self.global_token.expand(batch, 1, -1), x), dim=1)       # (B, 1+T, d)
        positions = torch.cat((self.global_position.expand(batch, 1, -1), positions), dim=1)
        mask = torch.cat((audio_mask.new_ones(batch, 1), audio_mask), dim=1)    # (B, 1+T)
        for layer in self.encoder:
            x = layer(x, positions, mask)
        global_state, memory = x[:, 0], x[:, 1:]
        saliency = (self.saliency_frames(memory) * self.saliency_global(global_state)[:, None]
                    ).sum(-1) / self.config.hidden_dim ** 0.5                   # (B, T)
        return memory, saliency, global_state

    def decode(self, memory: torch.Tensor, audio_mask: torch.Tensor) -> dict[str, Any]:
        """Decoder and heads on the encoder's ``memory (B, T, d)``."""
        batch, _, hidden = memory.shape
        memory_pos = frame_positions(audio_mask, hidden).to(memory)
        anchors = self.anchors.sigmoid().expand(batch, -1, -1)                 # (B, K, 2)
        states, references = self.decoder(anchors, memory, memory_pos, audio_mask,
                                          self.span_head)
        # all layers at once: (layers, B, K, 2)
        spans = (inverse_sigmoid(references) + self.span_head(states)).sigmoid()
        logits = self.class_head(states)
        layers_out = [{"pred_logits": logits[i], "pred_spans": spans[i]}
                      for i in range(len(states))]
        out = dict(layers_out[-1])
        out["aux_outputs"] = layers_out[:-1]
        return out


def with_negative_pairs(frames: torch.Tensor, audio_mask: torch.Tensor, text: torch.Tensor,
                        token_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Projected inputs of B pairs -> those of 2B: the B true pairs, then QD-DETR's
    negatives, recording i with query i + 1 (the last with the first). ``frames (B, T, d)``,
    ``audio_mask (B, T)``, ``text (B, L, d)``, ``token_mask (B, L)``, each doubled on dim 0."""
    return (frames.repeat(2, 1, 1), audio_mask.repeat(2, 1),
            torch.cat((text, text.roll(-1, 0))), torch.cat((token_mask, token_mask.roll(-1, 0))))


def temporal_endpoints(mask: torch.Tensor) -> torch.Tensor:
    """``mask (B, T)`` -> ``(B, T, 2)``: ``[t/T_b, (t+1)/T_b]`` for each real frame t (zeros
    on padding), so each frame knows where it sits in its recording."""
    mask = mask.float()
    length = mask.sum(1, keepdim=True).clamp(min=1)                           # (B, 1)
    start = torch.arange(mask.shape[1], device=mask.device).float()[None] / length
    return torch.stack((start, start + 1 / length), dim=-1) * mask[..., None]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
