"""Procedural "walking tour" recordings: layered city and park ambience that drifts slowly.

A walk is a :class:`WalkPlan`: a sequence of scene visits (street, park, market, station,
residential) and a few quiet *distractors*, far-away sounds of foreground classes (a dog
barking down the road, a distant siren, passing footsteps) rendered with the clip
generators. Six ambience layers (traffic, crowd murmur, wind, machinery hum, birds,
clatter) are synthesised for the whole recording; each scene sets their levels, and the
levels cross-fade over tens of seconds between scenes and wander by a few dB within one,
as if the walker moved from place to place. Everything is at ``SYNTH_RATE``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from amr_lib.corpora.synthetic.dsp import (
    add_events,
    band,
    brown,
    control_hop,
    hold,
    noise_bursts,
    resonator,
    rolloff,
    samples,
    silence,
    sparse_impulses,
    tone,
    unit,
    white,
    wobble,
    wobble_control,
)
from amr_lib.corpora.synthetic.nature import birdsong, speech_babble
from amr_lib.corpora.synthetic.params import ClipParams, sample_params
from amr_lib.corpora.synthetic.sounds import SYNTH_RATE, render_clip, spec_of

LAYERS = ("traffic", "crowd", "wind", "hum", "birds", "clatter")
# Level of each layer in each scene, dB (0 = the layer at unit RMS); the first entry is the
# scene's overall level, so some places are louder than others.
SCENE_MIX_DB: dict[str, tuple[float, dict[str, float]]] = {
    "street": (0.0, {"traffic": 0, "crowd": -8, "wind": -14, "hum": -20, "birds": -30,
                     "clatter": -22}),
    "park": (-8.0, {"traffic": -16, "crowd": -18, "wind": -6, "hum": -40, "birds": -3,
                    "clatter": -40}),
    "market": (-2.0, {"traffic": -12, "crowd": 0, "wind": -20, "hum": -22, "birds": -30,
                      "clatter": -10}),
    "station": (-4.0, {"traffic": -14, "crowd": -4, "wind": -40, "hum": -3, "birds": -40,
                       "clatter": -12}),
    "residential": (-10.0, {"traffic": -10, "crowd": -22, "wind": -8, "hum": -24, "birds": -10,
                            "clatter": -30}),
}
SCENES = tuple(SCENE_MIX_DB)
# Foreground-like sounds that may be heard far away in each scene.
SCENE_DISTRACTORS: dict[str, tuple[str, ...]] = {
    "street": ("siren", "car_horn", "footsteps", "speech_babble", "motorcycle"),
    "park": ("dog_bark", "birdsong", "footsteps", "bicycle_bell", "human_whistling"),
    "market": ("speech_babble", "footsteps", "bicycle_bell", "car_horn", "applause"),
    "station": ("footsteps", "beeping_alarm", "whistle", "speech_babble", "train_passing"),
    "residential": ("dog_bark", "church_bell", "door_knock", "car_engine", "hammering"),
}
VISIT_S = (40.0, 100.0)            # time spent in one scene, seconds
CROSSFADE_S = 20.0                 # scene changes fade over about this long
DRIFT_DB = 5.0                     # slow wandering of each layer's level (peak to trough)
DRIFT_RATE_HZ = 1.0 / 25.0         # ... changing about every 25 s
DISTRACTOR_RATE_HZ = 1.5 / 60.0    # far-away foreground-like sounds: 1.5 a minute
DISTRACTOR_S = (2, 8)              # their audible length, whole seconds
DISTRACTOR_DB = (-14.0, -6.0)      # their level relative to the ambience around them
GAIN_STEP_S = 1.0                  # layer levels are planned once a second
MAINS_HZ = (50.0, 60.0)            # machinery hum fundamentals
RECORDING_RMS_DB = -28.0           # whole recordings are scaled to this RMS (dB full scale)
LIMITER_KNEE = 0.7                 # samples above this are soft-limited below 1


@dataclass(frozen=True)
class SceneVisit:
    """The walker is in ``scene`` from ``start_s`` to ``end_s`` (seconds)."""

    scene: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Distractor:
    """A far-away foreground-like sound starting at ``start_s``, ``level_db`` relative to the
    ambience around it; its params say what it is."""

    start_s: float
    level_db: float
    params: ClipParams


@dataclass(frozen=True)
class WalkPlan:
    """Everything that decides one recording: its scenes, distractors and noise seed."""

    duration_s: float
    visits: tuple[SceneVisit, ...]
    distractors: tuple[Distractor, ...]
    noise_seed: int

    def scene_at(self, time_s: float) -> str:
        """The scene the walker is in at ``time_s``."""
        for visit in self.visits:
            if visit.start_s <= time_s < visit.end_s:
                return visit.scene
        return self.visits[-1].scene


def plan_walk(duration_s: float, rng: np.random.Generator) -> WalkPlan:
    """Draw a walk of ``duration_s`` seconds: scene visits, then distractors."""
    visits, start = [], 0.0
    scene = SCENES[int(rng.integers(len(SCENES)))]
    while start < duration_s:
        end = min(duration_s, start + rng.uniform(*VISIT_S))
        visits.append(SceneVisit(scene, start, end))
        scene = [s for s in SCENES if s != scene][int(rng.integers(len(SCENES) - 1))]
        start = end
    plan = WalkPlan(duration_s, tuple(visits), (), int(rng.integers(0, 2**31 - 1)))
    distractors = []
    for start_s in np.sort(rng.uniform(0.0, duration_s, rng.poisson(
            DISTRACTOR_RATE_HZ * duration_s))):
        choices = SCENE_DISTRACTORS[plan.scene_at(float(start_s))]
        active = int(rng.integers(DISTRACTOR_S[0], DISTRACTOR_S[1] + 1))
        if start_s + active > duration_s:
            continue
        sound = spec_of(choices[int(rng.integers(len(choices)))])
        params = sample_params(sound, rng, active_s=active, near=False, quiet_edges=False)
        level_db = round(float(rng.uniform(*DISTRACTOR_DB)), 2)
        distractors.append(Distractor(round(float(start_s), 3), level_db, params))
    return dataclasses.replace(plan, distractors=tuple(distractors))


def layer_levels_db(plan: WalkPlan, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each layer's level in dB once per ``GAIN_STEP_S``: ``{layer: (steps,)}``. Scene mixes
    are cross-faded linearly in dB over ``CROSSFADE_S`` (a walker's slow transition from one
    place to the next), plus a slow random drift of up to ``DRIFT_DB``."""
    steps = int(np.ceil(plan.duration_s / GAIN_STEP_S)) + 1
    scenes = [plan.scene_at(i * GAIN_STEP_S) for i in range(steps)]
    window = np.ones(max(1, round(CROSSFADE_S / GAIN_STEP_S)))
    half = len(window) // 2
    levels = {}
    for layer in LAYERS:
        scene_db = np.array([SCENE_MIX_DB[s][0] + SCENE_MIX_DB[s][1][layer] for s in scenes])
        padded = np.pad(scene_db, half, mode="edge")
        smooth = np.convolve(padded, window / window.sum(), mode="same")[half: half + steps]
        drift = DRIFT_DB * (wobble_control(steps, 1.0 / GAIN_STEP_S, DRIFT_RATE_HZ, rng) - 0.5)
        levels[layer] = smooth + drift
    return levels


def _car_pass(sr: int, rng: np.random.Generator) -> np.ndarray:
    """One car driving past: tyre roar and engine rising and falling over a few seconds."""
    m = samples(rng.uniform(4.0, 9.0), sr)
    t = np.linspace(-1.0, 1.0, m)
    roar = unit(band(white(rng, m), 150.0, rng.uniform(1200.0, 2500.0), sr))
    engine = band(tone(rng.uniform(25.0, 45.0) * (1.04 - 0.08 * (t > 0)), m, sr,
                       rolloff(30, 0.9)), 0.0, 800.0, sr)
    return (roar + 0.5 * unit(engine)) * np.exp(-((t * rng.uniform(2.0, 3.0)) ** 2))


def _traffic(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Low city rumble with cars passing at random times."""
    duration = n / sr
    templates = [_car_pass(sr, rng) for _ in range(5)]
    onsets = np.sort(rng.uniform(0.0, duration, int(duration * rng.uniform(0.08, 0.2))))
    cars = add_events(silence(n), templates, onsets, sr, rng.uniform(0.3, 1.0, len(onsets)))
    return unit(unit(band(brown(rng, n), 0.0, 250.0, sr)) + unit(cars))


def _crowd(n: int, sr: int, rng: np.random.Generator, voices: ClipParams) -> np.ndarray:
    """Crowd murmur: several indistinct talkers over speech-shaped noise."""
    talk = unit(speech_babble(voices, n, sr, rng))
    hubbub = unit(resonator(white(rng, n), 500.0, 600.0, sr)) * (
        0.6 + 0.4 * wobble(n, sr, 4.0, rng))
    return unit(talk + 0.7 * hubbub)


def _wind(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Soft wind: low band noise swelling in slow gusts."""
    return unit(band(white(rng, n), 60.0, 600.0, sr) * (0.4 + wobble(n, sr, 0.2, rng)))


def _hum(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Machinery and ventilation: mains hum harmonics, fan rumble and a faint motor whine."""
    mains = MAINS_HZ[int(rng.integers(len(MAINS_HZ)))]
    fan = unit(band(white(rng, n), 80.0, 600.0, sr))
    whine = tone(rng.uniform(300.0, 800.0), n, sr, (1.0, 0.3))
    return unit(tone(mains, n, sr, rolloff(8, 1.0)) + fan + 0.2 * whine)


def _clatter(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Market clatter: crates, cutlery and carts knocking now and then."""
    hits = noise_bursts(sparse_impulses(n, sr, rng.uniform(1.5, 4.0), rng, 0.3), sr, 0.004, rng)
    return unit(sum(unit(resonator(hits, f, 0.1 * f, sr)) for f in rng.uniform(300.0, 3000.0, 2))
                + unit(band(hits, 2000.0, 7000.0, sr)))


def render_layers(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each ambience layer over the whole walk, ``{layer: (n,)}`` at unit RMS."""
    people = sample_params(spec_of("speech_babble"), rng, active_s=1)
    birds = sample_params(spec_of("birdsong"), rng, active_s=1)
    return {
        "traffic": _traffic(n, SYNTH_RATE, rng),
        "crowd": _crowd(n, SYNTH_RATE, rng, dataclasses.replace(people,
                                                                 variant="several voices")),
        "wind": _wind(n, SYNTH_RATE, rng),
        "hum": _hum(n, SYNTH_RATE, rng),
        "birds": unit(birdsong(birds, n, SYNTH_RATE, rng)),
        "clatter": _clatter(n, SYNTH_RATE, rng),
    }


def render_walk(plan: WalkPlan) -> np.ndarray:
    """The recording of ``plan``: ``(round(duration_s * SYNTH_RATE),)`` float32 at
    ``SYNTH_RATE`` Hz, RMS ``RECORDING_RMS_DB`` dBFS, peaks soft-limited below 1."""
    rng = np.random.default_rng(plan.noise_seed)
    n = round(plan.duration_s * SYNTH_RATE)
    hop = control_hop(SYNTH_RATE)
    control = np.arange(-(-n // hop)) * (hop / SYNTH_RATE / GAIN_STEP_S)   # in gain steps
    mix = silence(n)
    levels = layer_levels_db(plan, rng)
    for layer, audio in render_layers(n, rng).items():
        steps = np.arange(len(levels[layer]))
        gain = 10 ** (np.interp(control, steps, levels[layer]) / 20)
        mix += audio * hold(gain, n, hop)
    for event in plan.distractors:
        sound = render_clip(event.params)
        start = round(event.start_s * SYNTH_RATE)
        stop = min(n, start + len(sound))
        local = np.sqrt(np.mean(np.square(mix[start:stop])))
        level = 10 ** (event.level_db / 20) * local
        mix[start:stop] += level * unit(sound)[: stop - start]
    return soft_limit(unit(mix) * 10 ** (RECORDING_RMS_DB / 20)).astype(np.float32)


def soft_limit(x: np.ndarray, knee: float = LIMITER_KNEE) -> np.ndarray:
    """``(n,) -> (n,)``: samples up to ``knee`` pass unchanged, louder ones are bent by a
    tanh curve that approaches 1, so the peak stays below 1 without rescaling everything."""
    loud = np.abs(x) > knee
    excess = (np.abs(x[loud]) - knee) / (1 - knee)
    x[loud] = np.sign(x[loud]) * (knee + (1 - knee) * np.tanh(excess))
    return x
