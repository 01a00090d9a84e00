"""amr_lib: language-based audio moment retrieval (Munakata et al., ICASSP 2025).

>>> from amr_lib import Retriever
>>> Retriever.from_checkpoint("runs/real-sounds/best.ckpt").retrieve("street.flac", "a dog barks")

Packages follow the data flow, each importing only from the ones before it:
``corpora`` -> ``simulation`` -> ``features`` -> ``model`` (with ``train``) and
``baseline`` -> ``presence``, ``retrieve`` and ``sed`` -> ``runs`` -> ``experiments`` ->
``viz``, ``book``, ``demo`` and ``cli``; ``config``, ``storage``, ``audio``, ``spans``,
``lighthouse_jsonl`` and ``metrics`` serve them all. The README's layout table lists every
module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Moment", "Retriever", "__version__"]

if TYPE_CHECKING:
    from amr_lib.retrieve import Moment, Retriever


def __getattr__(name: str):
    # on first use: `import amr_lib.metrics` (and `amr evaluate`) must not load torch
    if name in ("Moment", "Retriever"):
        from amr_lib import retrieve

        return getattr(retrieve, name)
    raise AttributeError(f"module 'amr_lib' has no attribute {name!r}")
