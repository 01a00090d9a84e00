"""Progress bars of ``amr_lib``, with one switch to turn them all off.

``TQDM_DISABLE=1`` (tqdm's own variable) turns every bar off; the book's build and the
tests set it (``make book``, ``make test``), so rendered pages carry no bars, while at a
terminal and in JupyterLab they stay. tqdm honours the variable only where a bar is
created without an explicit ``disable`` and not in its notebook flavour, so every bar of
the package is made here, where the switch is applied explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

SWITCH = "TQDM_DISABLE"
OFF_VALUES = {"1", "true", "yes", "on"}


def bars_off() -> bool:
    """Whether the switch turns progress bars off."""
    return os.environ.get(SWITCH, "").strip().lower() in OFF_VALUES


def progress_bar(iterable: Iterable[Any] | None = None, *, enabled: bool = True,
                 **options: Any) -> tqdm:
    """``tqdm.auto.tqdm(iterable, **options)``, off when ``enabled`` is False or the switch
    says so."""
    return tqdm(iterable, disable=not enabled or bars_off(), **options)
