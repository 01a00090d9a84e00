"""Content-addressed artifact cache shared by chapters, the CLI and later runs.

An artifact is named by a SHA-256 of the canonical JSON of everything that made it (the
"key": corpus fingerprints, configs, versions), so a changed input never returns a stale
result. Writes are atomic (temporary file + rename) and guarded by a file lock, so two
notebooks filling the same entry at once build it once and never see half a file. A file
that cannot be read back (corrupted, truncated) is rebuilt, with a warning.

The root is ``AMR_CACHE_DIR`` if set, else ``~/.cache/amr_lib``.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from amr_lib.storage.atomic import atomic_write

CACHE_VARIABLE = "AMR_CACHE_DIR"


def default_cache_root() -> Path:
    value = os.environ.get(CACHE_VARIABLE, "").strip()
    return Path(value).expanduser() if value else Path.home() / ".cache" / "amr_lib"


def content_key(material: Any) -> str:
    """SHA-256 hex digest of ``material`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 (hex) of the bytes of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactCache:
    """Files under ``root/kind/<key>.<suffix>``, each built once per distinct key."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_root()

    def path(self, kind: str, material: Any, suffix: str) -> Path:
        return self.root / kind / f"{content_key(material)[:32]}{suffix}"

    def get_or_build(self, kind: str, material: Any, build: Callable[[], Any],
                     save: Callable[[Any, Path], None], load: Callable[[Path], Any],
                     suffix: str) -> Any:
        """Load the artifact for ``material``, building and saving it first if needed.

        ``save(value, path)`` writes to the (temporary) path it is given; ``load(path)``
        reads it back and raises on a damaged file.
        """
        target = self.path(kind, material, suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(target) + ".lock"):
            if target.exists():
                try:
                    return load(target)
                except Exception as damage:  # any unreadable file is rebuilt, not trusted
                    warnings.warn(f"cache entry {target} is unreadable ({damage}); rebuilding",
                                  stacklevel=2)
                    target.unlink()
            value = build()
            atomic_write(target, lambda temporary: save(value, temporary), suffix=suffix)
            return value

    def get_or_build_json(self, kind: str, material: Any, build: Callable[[], Any]) -> Any:
        """JSON artifacts: the cached value is what ``build()`` returned, round-tripped."""
        def save(value: Any, path: Path) -> None:
            path.write_text(json.dumps({"key": material, "value": value}, default=str),
                            encoding="utf-8")

        def load(path: Path) -> Any:
            return json.loads(path.read_text(encoding="utf-8"))["value"]

        def build_normalised() -> Any:  # same value whether built now or read back later
            return json.loads(json.dumps(build(), default=str))

        return self.get_or_build(kind, material, build_normalised, save, load, ".json")

    def get_or_build_arrays(self, kind: str, material: Any,
                            build: Callable[[], dict[str, np.ndarray]]
                            ) -> dict[str, np.ndarray]:
        """Named arrays, stored as one ``.npz`` (no pickles)."""
        def save(arrays: dict[str, np.ndarray], path: Path) -> None:
            with open(path, "wb") as handle:      # a handle: np.savez would add ".npz"
                np.savez(handle, **arrays)

        def load(path: Path) -> dict[str, np.ndarray]:
            with np.load(path, allow_pickle=False) as stored:
                return {name: stored[name] for name in stored.files}

        return self.get_or_build(kind, material, build, save, load, ".npz")
