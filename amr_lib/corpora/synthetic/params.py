"""What one synthetic clip is: its sound class and the parameters drawn for it.

A :class:`ClipParams` is drawn once per clip from a per-clip random generator. The renderer
plays exactly these parameters and the captions describe exactly these parameters, so a
caption's count, pitch, speed and distance words always match the audio.

Durations follow the released Clotho-Moment event lengths: the audible (trimmed) span is
drawn from their histogram, and some clips get a quiet lead-in and tail around it that the
trimming rule removes again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

# Events of each whole length 1..30 s in the released Clotho-Moment test annotations
# (6,649 events; mean 19.6 s, deciles 13, 15, 17, 18, 19, 21, 23, 25, 27 s).
CLOTHO_MOMENT_LENGTH_COUNTS = (
    8, 14, 12, 41, 51, 19, 27, 66, 95, 88, 75, 89, 197, 198, 443,
    460, 456, 545, 477, 413, 369, 359, 317, 375, 373, 283, 312, 245, 231, 11,
)
PLACEMENT_SEGMENT_S = 60.0   # Algorithm 1's segment and mean gap, for the placement bias
PLACEMENT_MEAN_GAP_S = 30.0
MAX_CLIP_S = 30.0            # untrimmed clips never exceed this
NEAR_PROBABILITY = 0.6       # share of clips recorded close by (the rest far away)
LEAD_IN_PROBABILITY = 0.35   # share of clips with a quiet lead-in before the sound
MAX_LEAD_S = 2               # longest quiet lead-in, whole seconds
TAIL_PROBABILITY = 0.5       # share of clips with a quiet tail after the sound
MAX_TAIL_S = 1.8             # longest quiet tail, seconds


@dataclass(frozen=True)
class ClipParams:
    """Everything that decides one clip's audio and captions.

    ``pitch`` is ``"low"``/``"high"``, ``speed`` is ``"slow"``/``"fast"`` and ``count`` is the
    number of events per group (knocks per bout, barks per bout ...), each only for classes
    that use it (``""`` or 0 otherwise). The ``*_u`` values in [0, 1] place the clip inside
    its category's range (e.g. where in the "high" pitch range), so no two clips are alike.
    ``active_s`` is the audible span in whole seconds, ``lead_s``/``tail_s`` the quiet time
    around it, and ``noise_seed`` seeds the renderer's noise.
    """

    sound: str
    variant: str
    near: bool
    pitch: str
    speed: str
    count: int
    pitch_u: float
    speed_u: float
    timbre_u: float
    active_s: int
    lead_s: int
    tail_s: float
    noise_seed: int

    @property
    def high(self) -> bool:
        return self.pitch == "high"

    @property
    def fast(self) -> bool:
        return self.speed == "fast"

    @property
    def total_s(self) -> float:
        """Untrimmed clip length in seconds."""
        return self.lead_s + self.active_s + self.tail_s

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Renderer = Callable[[ClipParams, int, int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class SoundSpec:
    """One sound class: its name, its renderer and the controls it exposes.

    ``render(params, n, sr, rng)`` returns the audible span, ``(n,)`` samples at ``sr`` Hz.
    ``count`` is the inclusive range of events per group, ``variants`` the kinds of the
    sound (e.g. a siren's "wail" and "yelp"); ``("",)`` means one kind.
    """

    name: str
    render: Renderer
    pitch: bool = False
    speed: bool = False
    count: tuple[int, int] | None = None
    variants: tuple[str, ...] = ("",)


def sample_active_s(rng: np.random.Generator) -> int:
    """An audible-span length in whole seconds, from the Clotho-Moment histogram.

    The histogram counts *placed* events, and Algorithm 1 places short clips more often
    than long ones: the first clip of a segment fits when its gap is below ``60 - length``,
    with probability ``1 - exp(-(60 - length) / 30)``. Dividing by that probability draws
    the clip pool that, once placed, gives event lengths close to the released ones.
    """
    lengths = np.arange(1, len(CLOTHO_MOMENT_LENGTH_COUNTS) + 1, dtype=np.float64)
    first_fit = 1.0 - np.exp(-(PLACEMENT_SEGMENT_S - lengths) / PLACEMENT_MEAN_GAP_S)
    weights = np.asarray(CLOTHO_MOMENT_LENGTH_COUNTS, dtype=np.float64) / first_fit
    return int(rng.choice(lengths.astype(int), p=weights / weights.sum()))


def sample_params(spec: SoundSpec, rng: np.random.Generator,
                  active_s: int | None = None, near: bool | None = None,
                  quiet_edges: bool = True) -> ClipParams:
    """Draw a clip of class ``spec``; ``active_s``/``near`` fix those choices when given and
    ``quiet_edges=False`` leaves out the lead-in and tail."""
    active = sample_active_s(rng) if active_s is None else active_s
    room = MAX_CLIP_S - active
    lead = 0
    if quiet_edges and rng.random() < LEAD_IN_PROBABILITY and room >= 1:
        lead = int(rng.integers(1, min(MAX_LEAD_S, int(room)) + 1))
    tail = 0.0
    if quiet_edges and rng.random() < TAIL_PROBABILITY:
        tail = round(float(rng.uniform(0.0, min(MAX_TAIL_S, room - lead))), 3)
    count = int(rng.integers(spec.count[0], spec.count[1] + 1)) if spec.count else 0
    return ClipParams(
        sound=spec.name,
        variant=str(rng.choice(spec.variants)),
        near=bool(rng.random() < NEAR_PROBABILITY) if near is None else near,
        pitch=str(rng.choice(("low", "high"))) if spec.pitch else "",
        speed=str(rng.choice(("slow", "fast"))) if spec.speed else "",
        count=count,
        pitch_u=float(rng.random()),
        speed_u=float(rng.random()),
        timbre_u=float(rng.random()),
        active_s=active,
        lead_s=lead,
        tail_s=tail,
        noise_seed=int(rng.integers(0, 2**31 - 1)),
    )


def scaled(flag: bool, if_false: tuple[float, float], if_true: tuple[float, float],
           u: float) -> float:
    """The value ``u`` in [0, 1] of the way through ``if_true`` when ``flag``, else through
    ``if_false`` (e.g. a pitch inside the "high" or the "low" range)."""
    low, high = if_true if flag else if_false
    return low + (high - low) * u
