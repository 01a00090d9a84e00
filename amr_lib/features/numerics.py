"""What this machine computes for features: a fingerprint of the numbers themselves.

Two machines that run the same code can still disagree in the last bits (vector kernels,
BLAS code paths, thread splits), and training turns last bits into different models. So a
cache key or a committed result names the *numbers* a machine makes, not a version
constant: :func:`feature_numerics` hashes the log-mel front end and the contrastive
encoder's windows of a fixed clip, two contrastive training steps of a fixed batch, and
the text encoder's states of a fixed query. A refactor that moves no number keeps it; a
change of any number (init, loss, front end, kernels) changes it.
"""

from __future__ import annotations

import hashlib
from functools import cache

import numpy as np
import torch

from amr_lib.features.contrastive import (
    AudioEncoderConfig,
    embed_windows,
    symmetric_info_nce,
    untrained_model,
)
from amr_lib.features.contrastive_training import crop_length_frames
from amr_lib.features.text import TextEncoder
from amr_lib.features.windows import WindowConfig

PROBE_SECONDS = 3.0          # the fixed clip: a tone and seeded noise
PROBE_QUERY = "a dog barks twice while rain falls"
PROBE_BATCH = 4              # contrastive crops of the probe's training steps
PROBE_STEPS = 2


def probe_clip(sample_rate: int) -> np.ndarray:
    """``(PROBE_SECONDS * sample_rate,)`` float32: a 440 Hz tone in seeded white noise."""
    times = np.arange(round(PROBE_SECONDS * sample_rate)) / sample_rate
    noise = np.random.default_rng(0).standard_normal(len(times))
    return (0.3 * np.sin(2 * np.pi * 440.0 * times) + 0.1 * noise).astype(np.float32)


@cache
def feature_numerics() -> str:
    """:func:`compute_feature_numerics`, once per process."""
    return compute_feature_numerics()


def compute_feature_numerics(text_encoder: TextEncoder | None = None) -> str:
    """16 hex digits of SHA-256 over the probe's numbers (see the module docstring). Leaves
    torch's global random state as it found it."""
    digest = hashlib.sha256()
    config = AudioEncoderConfig()
    rate = config.sample_rate
    with torch.random.fork_rng():
        model = untrained_model(config, seed=0)
        digest.update(embed_windows(model, probe_clip(rate), rate,
                                    WindowConfig(1.0, 1.0)).tobytes())
        text = text_encoder or TextEncoder()
        sentences = text.sentence_embeddings([PROBE_QUERY])
        digest.update(text.token_states([PROBE_QUERY])[0].tobytes() + sentences.tobytes())
        torch.manual_seed(0)
        crops = torch.randn(PROBE_BATCH, config.logmel.n_mels,
                            crop_length_frames(config))
        captions = torch.from_numpy(np.repeat(sentences, PROBE_BATCH, axis=0))
        captions = captions + 0.1 * torch.randn(captions.shape)
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        for _ in range(PROBE_STEPS):
            loss = symmetric_info_nce(*model(crops, captions), model.logit_scale)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            model.clamp_logit_scale()
        for name, tensor in sorted(model.state_dict().items()):
            digest.update(name.encode() + tensor.detach().numpy().tobytes())
    return digest.hexdigest()[:16]
