"""A tiny, learnable moment-retrieval problem and model for training tests.

Each query names one of ``CLASSES`` classes (its tokens are that class's vector plus noise);
its recording holds that class's vector in the frames of one moment and noise elsewhere.
Run as a script (``python tiny_moments.py OUT_DIR``) it trains the tiny model into
``OUT_DIR``, which is how the DDP test starts it under ``torchrun``.
"""

from __future__ import annotations

import sys

import numpy as np

from amr_lib.lighthouse_jsonl import MomentAnnotation
from amr_lib.model.am_detr import AMDETRConfig
from amr_lib.model.data import MomentSplit
from amr_lib.train import TrainingConfig, train_am_detr

CLASSES = 4
DIM = 8
FRAMES = 16
HOP_S = 1.0


def tiny_split(queries: int, seed: int) -> MomentSplit:
    """``queries`` recordings of ``FRAMES`` frames, one query and one moment each."""
    rng = np.random.default_rng(seed)
    prototypes = np.eye(CLASSES, DIM) * 3.0
    frames, tokens, annotations = [], [], []
    for index in range(queries):
        label = int(rng.integers(CLASSES))
        start = int(rng.integers(0, FRAMES - 4))
        end = int(rng.integers(start + 2, FRAMES + 1))
        audio = rng.normal(0, 1, (FRAMES, DIM)).astype(np.float32)
        audio[start:end] += prototypes[label]
        frames.append(audio)
        tokens.append((prototypes[label] + rng.normal(0, 0.3, (3, DIM))).astype(np.float32))
        annotations.append(MomentAnnotation(index, f"class {label}", FRAMES * HOP_S,
                                            f"v{index}", np.array([[start, end]], float)))
    return MomentSplit.from_arrays(frames, [a.vid for a in annotations], tokens, annotations,
                                   HOP_S)


def tiny_model_config(dropout: float = 0.1) -> AMDETRConfig:
    return AMDETRConfig(audio_dim=DIM, text_dim=DIM, hidden_dim=16, heads=2, ffn_dim=32,
                        num_queries=4, dropout=dropout, input_dropout=dropout)


def ddp_training_config(epochs: int = 2) -> TrainingConfig:
    """No dropout and no rolled negatives: a 2-process run then computes exactly the
    gradients of a 1-process run with the same global batch."""
    return TrainingConfig(epochs=epochs, batch_size=8, lr=1e-3, negative_pairs=False,
                          device="cpu", eval_batch_size=64)


def train_for_ddp_test(out_dir: str) -> None:
    train_am_detr(tiny_model_config(dropout=0.0), tiny_split(32, 0), tiny_split(8, 1),
                  ddp_training_config(), out_dir, progress=False)


if __name__ == "__main__":
    train_for_ddp_test(sys.argv[1])
