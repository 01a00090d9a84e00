"""The tiny learnable moment-retrieval problem of :mod:`amr_lib.numerics` for training
tests. Run as a script (``python tiny_moments.py OUT_DIR``) it trains the tiny model into
``OUT_DIR``, which is how the DDP test starts it under ``torchrun``.
"""

from __future__ import annotations

import sys

from amr_lib.numerics import tiny_model_config, tiny_split
from amr_lib.train import TrainingConfig, train_am_detr

__all__ = ["ddp_training_config", "tiny_model_config", "tiny_split"]


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
