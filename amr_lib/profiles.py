"""Named profiles: which corpora and settings every chapter runs with.

``AMR_PROFILE`` picks one (see :mod:`amr_lib.config`):

- ``quick`` (default): the embedded synthetic clips over synthetic walking tours; no data.
- ``real-sounds``: ESC-50 clips over the real urban ambience under ``AMR_DATA_ROOT``;
  the recordings last just under a minute, so segments are 30 s (see
  :meth:`~amr_lib.simulation.algorithm.SimulationConfig.real_sounds`).
- ``paper``: Clotho v2.1 over Walking Tours audio, the released generator's settings;
  expects ``AMR_DATA_ROOT/clotho`` (Clotho v2.1 layout) and ``AMR_DATA_ROOT/walking_tours``
  (the tours' audio tracks as WAV or FLAC).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from amr_lib import config
from amr_lib.corpora import CorpusSpec
from amr_lib.simulation.algorithm import SimulationConfig
from amr_lib.storage.cache import content_key

ARCHITECTURES = ("qd-detr", "before-fidelity")


@dataclass(frozen=True)
class RetrievalSetup:
    """How a profile turns simulated splits into a trained AM-DETR (plain values only, so
    reading a profile never imports torch; :mod:`amr_lib.runs.chain` builds the objects).

    ``*_segments`` cap the background segments simulated per split (``None``: all of them);
    ``model`` names an :class:`~amr_lib.model.am_detr.AMDETRConfig` preset. ``train_scale``
    sets how much simulated training data AM-DETR sees, relative to the training split: a
    share in (0, 1) keeps that share of its recordings; an integer k > 1 adds k - 1 more
    simulations of the same split (same backgrounds and clips, new placements and gains).
    """

    encoder: str = "contrastive"          # contrastive | contrastive-untrained | clap
    window_s: float = 1.0
    hop_s: float = 1.0
    train_segments: int | None = None
    valid_segments: int | None = None
    test_segments: int | None = None
    model: str = "paper"                  # AMDETRConfig preset: quick | paper
    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-4
    train_scale: float = 1.0
    patience: int | None = None           # early stop (epochs without a gain > min_delta)
    schedule: str = "constant"            # the learning rate's (see TrainingConfig)
    min_delta: float = 0.0                # valid mAP points a better epoch must add
    architecture: str = "qd-detr"         # qd-detr | before-fidelity (the fidelity ablation,
                                          # AMDETRConfig.before_fidelity)

    def __post_init__(self) -> None:
        scale = self.train_scale
        if not (0 < scale <= 1 or (scale > 1 and float(scale).is_integer())):
            raise ValueError(f"train_scale must be in (0, 1] or a whole number, got {scale}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got "
                             f"{self.architecture!r}")

    def segments(self, split: str) -> int | None:
        return {"train": self.train_segments, "valid": self.valid_segments,
                "test": self.test_segments}[split]

    @classmethod
    def quick(cls) -> RetrievalSetup:
        """Sized to train in minutes on 2 CPU cores (see Chapter 4): the quick model at lr
        6e-4 falling along a half cosine over an 80-epoch cap, until validation average mAP
        has not gained more than 0.5 points for 10 epochs. At a constant 3e-4 two seeds of
        three were still gaining at epoch 80 (their best epochs 79 and 80); the faster rate
        learns sooner and the falling one lets a run settle before the cap."""
        return cls(train_segments=1000, valid_segments=160, test_segments=320, model="quick",
                   epochs=80, lr=6e-4, schedule="cosine", patience=10, min_delta=0.5)

    @classmethod
    def real_sounds(cls) -> RetrievalSetup:
        """Quick's schedule, cap and patience with the recipe the real-sounds search chose
        on validation: the paper's model size (width 256, Section V-A) at lr 3e-4 rather
        than its 1e-4, on the training split once. ESC-50's 2000 clips give far
        fewer training queries than quick's 1000 segments, and the wider model reads them
        better than the quick one."""
        return replace(cls.quick(), model="paper", lr=3e-4)


@dataclass(frozen=True)
class Profile:
    """One consistent set of choices for the whole book."""

    name: str
    clip_corpus: CorpusSpec
    background_corpus: CorpusSpec
    simulation: SimulationConfig
    seed: int = 0
    retrieval: RetrievalSetup = RetrievalSetup()

    @classmethod
    def quick(cls) -> Profile:
        return cls("quick", CorpusSpec("synthetic"), CorpusSpec("synthetic"),
                   SimulationConfig(), retrieval=RetrievalSetup.quick())

    @classmethod
    def real_sounds(cls) -> Profile:
        return cls("real-sounds", CorpusSpec("esc50"), CorpusSpec("folder"),
                   SimulationConfig.real_sounds(), retrieval=RetrievalSetup.real_sounds())

    @classmethod
    def paper(cls) -> Profile:
        root = config.data_root()
        return cls("paper", CorpusSpec("clotho", str(root / "clotho")),
                   CorpusSpec("folder", str(root / "walking_tours")),
                   SimulationConfig.paper(), retrieval=RetrievalSetup(encoder="clap"))


def profile_key(profile: Profile) -> str:
    """16 hex digits of the profile's whole definition (corpora, simulation, retrieval
    recipe): a committed result made under another definition cannot be repeated live, even
    under the same numerics fingerprint. The architecture is part of it only where it is not
    QD-DETR's, so the keys of profiles made before that option existed stand."""
    definition = asdict(profile)
    if profile.retrieval.architecture == ARCHITECTURES[0]:
        del definition["retrieval"]["architecture"]
    return content_key(definition)[:16]


def load_profile(name: str | None = None) -> Profile:
    """The profile called ``name``, or the one ``AMR_PROFILE`` names (default ``quick``)."""
    name = name or config.profile_name()
    builders = {"quick": Profile.quick, "real-sounds": Profile.real_sounds,
                "paper": Profile.paper}
    if name not in builders:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(builders)}")
    return builders[name]()
