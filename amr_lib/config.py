"""Where things live and which profile runs: read from the environment, checked once.

- ``AMR_PROFILE`` picks the profile every chapter runs (``quick``, the default, needs no
  data; ``real-sounds`` reads ESC-50 and urban ambience; ``paper`` is the GPU-scale run).
- ``AMR_DATA_ROOT`` points at the real data folder (``../shared/data`` in CI): ``esc50/``,
  ``urban_ambience/``, ``clotho_mini/``, ``annotations/``. Data is read there, never copied.
- A device name (``auto``, ``cpu``, ``cuda``, ``cuda:N``) becomes a torch device once, with
  a one-line error when it cannot run here (:func:`resolve_device`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

PROFILES = ("quick", "real-sounds", "paper")
# the two profiles of the sim-to-real study (amr_lib.experiments.transfer), both built
# from small corpora
TRANSFER_PROFILES = ("quick", "real-sounds")
DEFAULT_PROFILE = "quick"
DATA_ROOT_VARIABLE = "AMR_DATA_ROOT"
PROFILE_VARIABLE = "AMR_PROFILE"


def profile_name() -> str:
    """The profile named by ``AMR_PROFILE`` (default ``quick``); refuses unknown names."""
    name = os.environ.get(PROFILE_VARIABLE, DEFAULT_PROFILE).strip() or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ValueError(f"{PROFILE_VARIABLE}={name!r} is not a profile; choose one of "
                         f"{', '.join(PROFILES)}")
    return name


def data_root() -> Path:
    """The real-data folder named by ``AMR_DATA_ROOT``.

    Raises ``LookupError`` when the variable is unset and ``FileNotFoundError`` when it names
    a folder that does not exist, each saying what to do.
    """
    value = os.environ.get(DATA_ROOT_VARIABLE, "").strip()
    if not value:
        raise LookupError(f"{DATA_ROOT_VARIABLE} is not set: point it at the real data folder "
                          "(for example ../shared/data) to use real corpora")
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{DATA_ROOT_VARIABLE}={value!r}: no such folder ({root})")
    return root


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto`` -> CUDA when present, else the CPU; any other name as torch reads it.

    Raises ``ValueError`` (one line, saying what to choose) for a name torch does not know
    and for CUDA on a machine or torch build without it."""
    import torch  # here: reading the environment must not load torch

    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}: choose auto, cpu, cuda or cuda:N"
                         ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r}: this torch ({torch.__version__}) sees no "
                         "CUDA GPU; use --device cpu (or auto)")
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device {str(device)!r}: this machine has "
                         f"{torch.cuda.device_count()} CUDA GPU(s), numbered from 0")
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device {str(device)!r}: amr_lib runs on cpu or cuda")
    return resolved
