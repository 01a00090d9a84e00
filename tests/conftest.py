"""Shared fixtures: the repository root and the real-data folder."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from pathlib import Path

import matplotlib
import pytest

from amr_lib import config, profiles
from amr_lib.features import encoders
from amr_lib.features.contrastive_training import TrainConfig

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


# A profile whose whole chain (contrastive encoder, features, AM-DETR) takes seconds; the
# experiment tests share one cache for it, so a run one of them made is reused by another.
TINY_EXPERIMENT = replace(profiles.Profile.quick(), retrieval=profiles.RetrievalSetup(
    encoder="contrastive", train_segments=10, valid_segments=4, test_segments=4,
    model="quick", epochs=2))
TINY_ENCODER_TRAINING = TrainConfig(epochs=1, batch_size=16, crops_per_clip=1,
                                    valid_split=None)


@pytest.fixture(scope="session")
def tiny_experiment_cache(tmp_path_factory) -> Path:
    """The cache root shared by the tests that run experiments on ``TINY_EXPERIMENT``."""
    return tmp_path_factory.mktemp("tiny_experiment")


def use_tiny_experiment(patch: pytest.MonkeyPatch, root: Path) -> None:
    """Every profile name loads ``TINY_EXPERIMENT``, cached under ``root``, with a
    contrastive encoder trained for one short epoch."""
    use_tiny_profile(patch, root, TINY_EXPERIMENT)
    patch.setattr(encoders, "TrainConfig",
                  lambda device="cpu": replace(TINY_ENCODER_TRAINING, device=device))


def run_tiny_experiment(experiment: str, out: Path, root: Path) -> Path:
    """``amr experiment EXPERIMENT --profile quick --out OUT --device cpu`` on
    ``TINY_EXPERIMENT`` (cached under ``root``); returns ``out``."""
    from amr_lib.cli import main

    with pytest.MonkeyPatch.context() as patch:
        use_tiny_experiment(patch, root)
        assert main(["experiment", experiment, "--profile", "quick", "--out", str(out),
                     "--device", "cpu"]) == 0
    return out


# Debian's Chromium, driven by Playwright in the browser tests (CI installs it)
CHROMIUM = Path(os.environ.get("AMR_CHROMIUM", "/usr/bin/chromium"))


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
