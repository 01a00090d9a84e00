"""Atomic file writes: a file appears complete at its path or not at all.

Every writer in the project (JSONL, WAV, feature files, checkpoints, cache entries) writes
to a temporary file in the target's folder and renames it into place, so a crash or an
error never leaves half a file where a reader would find it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | Path, write: Callable[[Path], None], suffix: str = ".tmp") -> None:
    """Call ``write(temporary)`` and rename the result to ``path`` (parents are created).

    ``suffix`` ends the temporary name, for writers that infer the format from it (WAV,
    ``.npy``). On any error the temporary file is removed and the error re-raised.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=suffix)
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
