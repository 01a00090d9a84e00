"""Where things live and which profile runs: read from the environment, checked once.

- ``AMR_PROFILE`` picks the profile every chapter runs (``quick``, the default, needs no
  data; ``real-sounds`` reads ESC-50 and urban ambience; ``paper`` is the GPU-scale run).
- ``AMR_DATA_ROOT`` points at the real data folder (``../shared/data`` in CI): ``esc50/``,
  ``urban_ambience/``, ``clotho_mini/``, ``annotations/``. Data is read there, never copied.
"""

from __future__ import annotations

import os
from pathlib import Path

PROFILES = ("quick", "real-sounds", "paper")
# the two profiles of the sim-to-real study (amr_lib.transfer), both built from small corpora
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
