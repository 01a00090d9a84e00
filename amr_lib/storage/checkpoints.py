"""Checkpoint files: written atomically, read with ``torch.load(weights_only=True)``.

A checkpoint is a dict of plain types and tensors with a ``format`` name and a ``version``;
:func:`read_checkpoint` refuses anything else with an error naming the file, so a damaged,
foreign or outdated file never half-loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from amr_lib.storage.atomic import atomic_write


def write_checkpoint(path: str | Path, checkpoint: dict[str, Any]) -> None:
    """Save ``checkpoint`` to ``path`` atomically (a crash leaves the old file or none)."""
    atomic_write(path, lambda temporary: torch.save(checkpoint, temporary))


def read_checkpoint(path: str | Path, expected_format: str, version: int) -> dict[str, Any]:
    """The dict saved at ``path``, checked to be ``expected_format`` at ``version``.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming ``path`` for
    a damaged file, another kind of checkpoint or another version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as damage:  # torch raises many kinds for a damaged or foreign file
        # torch's message advises retrying with weights_only=False, which would run
        # whatever code the file carries: name the kind of failure, never pass that on
        raise ValueError(f"{path}: not a checkpoint written by amr (damaged, truncated or "
                         f"holding more than weights: {type(damage).__name__})") from None
    if not (isinstance(checkpoint, dict) and checkpoint.get("format") == expected_format):
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else None
        raise ValueError(f"{path}: not a checkpoint written by amr as {expected_format} "
                         f"(format {found!r})")
    if checkpoint.get("version") != version:
        raise ValueError(f"{path}: checkpoint version {checkpoint.get('version')!r}, this code "
                         f"reads version {version}")
    return checkpoint


def cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of ``module``'s weights."""
    return {name: tensor.detach().cpu().clone() for name, tensor in module.state_dict().items()}
