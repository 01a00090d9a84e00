"""The numerics fingerprint: which numbers this machine and this code compute.

:func:`fingerprint` hashes :func:`~amr_lib.features.numerics.feature_numerics` (front end,
contrastive encoder, text encoder) with the weights and predictions of AM-DETR after two
epochs of a fixed tiny problem (:func:`tiny_split`: init, dropout stream, matching, loss,
AdamW, clipping, checkpoint round trip). Every cache key of a trained artefact and every
committed result's provenance carries it, so

- a refactor that changes no number keeps the caches and the committed results valid;
- a change of any number (an init, the dropout stream, a loss term) or a machine whose
  kernels round differently gets a new fingerprint: its caches are rebuilt, and a chapter
  knows that its live run cannot reproduce a committed seed bit for bit.

``amr fingerprint`` prints it with :func:`describe`'s description of the machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from amr_lib.features.numerics import feature_numerics
from amr_lib.lighthouse_jsonl import MomentAnnotation
from amr_lib.model.am_detr import AMDETRConfig
from amr_lib.model.data import MomentSplit
from amr_lib.train import TrainingConfig, predict_split, train_am_detr

CLASSES, DIM, FRAMES, HOP_S = 4, 8, 16, 1.0       # the tiny problem's size


def tiny_split(queries: int, seed: int) -> MomentSplit:
    """A tiny learnable problem: ``queries`` recordings of ``FRAMES`` frames, one query and
    one moment each. A query names one of ``CLASSES`` classes (its tokens are that class's
    vector plus noise); its recording holds the vector in the moment's frames, noise
    elsewhere."""
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


@cache
def fingerprint() -> str:
    """:func:`compute_fingerprint`, once per process."""
    return compute_fingerprint()


def compute_fingerprint() -> str:
    """16 hex digits (see the module docstring). Runs on the CPU in about a second and
    leaves torch's global random state as it found it."""
    digest = hashlib.sha256(feature_numerics().encode())
    config = TrainingConfig(epochs=2, batch_size=8, lr=1e-3, device="cpu",
                            eval_batch_size=64)
    with torch.random.fork_rng(), tempfile.TemporaryDirectory() as folder:
        # in this process alone, also under torchrun: every rank computes the same probe
        result = train_am_detr(tiny_model_config(), tiny_split(24, 0), tiny_split(8, 1),
                               config, Path(folder), progress=False, distributed=False)
        for name, tensor in sorted(result.model.state_dict().items()):
            digest.update(name.encode() + tensor.detach().numpy().tobytes())
        for prediction in predict_split(result.model, tiny_split(8, 2)):
            digest.update(np.asarray(prediction.pred_relevant_windows).tobytes())
    return digest.hexdigest()[:16]


def describe() -> dict[str, Any]:
    """The fingerprint and what usually decides it: the CPU, the vector instructions torch's
    kernels use, torch's threads and the library versions."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"fingerprint": fingerprint(), "cpu": cpu,
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "numpy": np.__version__}
