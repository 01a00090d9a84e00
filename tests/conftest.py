"""Shared fixtures: the repository root and the real-data folder."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

from amr_lib import config, profiles

matplotlib.use("Agg")  # tests draw figures without a screen


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """``AMR_DATA_ROOT`` (CI sets it). Skips only when unset; a wrong path fails loudly."""
    try:
        return config.data_root()
    except LookupError as unset:
        pytest.skip(f"real-data test: {unset}")


@pytest.fixture(scope="session")
def released_annotations(data_root: Path) -> Path:
    folder = data_root / "annotations"
    assert folder.is_dir(), f"{folder} is missing from AMR_DATA_ROOT"
    return folder


def use_tiny_profile(patch: pytest.MonkeyPatch, root: Path, profile: profiles.Profile) -> None:
    """Every profile name loads ``profile``; the cache lives under ``root``; no hub."""
    patch.setenv("AMR_CACHE_DIR", str(root / "cache"))
    patch.setenv("HF_HUB_OFFLINE", "1")
    patch.setattr(profiles, "load_profile", lambda name=None: profile)
