"""The synthetic sound classes and the rendering of one whole clip from its parameters.

``render_clip(params)`` plays a :class:`~amr_lib.corpora.synthetic.params.ClipParams`:
the class renderer makes the audible span, which is levelled, placed after the quiet
lead-in, coloured by distance (a far source is duller and more reverberant), given a faint
room-noise floor, and peak-scaled (near sources loud, far ones quiet). The result is a pure
function of the parameters, so a clip never depends on which clips were made before it.
"""

from __future__ import annotations

import numpy as np

from amr_lib.corpora.synthetic.devices import DEVICE_SOUNDS
from amr_lib.corpora.synthetic.dsp import band, reverb, samples, silence, unit, white
from amr_lib.corpora.synthetic.nature import NATURE_SOUNDS
from amr_lib.corpora.synthetic.params import ClipParams, SoundSpec

SYNTH_RATE = 16_000                 # Hz: every clip is synthesised at this rate
SOUND_SPECS: dict[str, SoundSpec] = {spec.name: spec for spec in NATURE_SOUNDS + DEVICE_SOUNDS}
SOUND_CLASSES = tuple(SOUND_SPECS)  # class names, in a fixed order

FADE_IN_S = 0.01                    # edit fades at the ends of the audible span
FADE_OUT_S = 0.05
NOISE_FLOOR_DB = -55.0              # room noise, relative to the audible span's RMS
FLOOR_LOOP_S = 1                    # the noise floor repeats a 1 s loop (inaudible, cheap)
NEAR_PEAK = (0.7, 0.95)             # peak of a near clip (a far one is quieter)
FAR_PEAK = (0.2, 0.4)
NEAR_ROOM = {"rt60_s": (0.25, 0.5), "wet": (0.05, 0.2), "damping_hz": (5000.0, 7000.0)}
FAR_ROOM = {"rt60_s": (0.7, 1.1), "wet": (0.3, 0.45), "damping_hz": (1500.0, 3000.0)}
FAR_LOWPASS_HZ = (2500.0, 4500.0)   # air absorption dulls a distant source


def spec_of(sound: str) -> SoundSpec:
    """The :class:`SoundSpec` of a class name (``KeyError`` naming it when unknown)."""
    try:
        return SOUND_SPECS[sound]
    except KeyError:
        raise KeyError(f"unknown synthetic sound class {sound!r}; known: "
                       f"{', '.join(SOUND_CLASSES)}") from None


def render_active(params: ClipParams, rng: np.random.Generator) -> np.ndarray:
    """The audible span alone, ``(params.active_s * SYNTH_RATE,)``, unit RMS, edge-faded."""
    n = params.active_s * SYNTH_RATE
    active = unit(spec_of(params.sound).render(params, n, SYNTH_RATE, rng))
    active[: samples(FADE_IN_S, SYNTH_RATE)] *= np.linspace(0.0, 1.0,
                                                            samples(FADE_IN_S, SYNTH_RATE))
    active[-samples(FADE_OUT_S, SYNTH_RATE):] *= np.linspace(1.0, 0.0,
                                                             samples(FADE_OUT_S, SYNTH_RATE))
    return active


def _room(x: np.ndarray, near: bool, rng: np.random.Generator) -> np.ndarray:
    """Distance colouring: a far source is low-passed and sits in more reverberation."""
    room = NEAR_ROOM if near else FAR_ROOM
    if not near:
        x = band(x, 0.0, rng.uniform(*FAR_LOWPASS_HZ), SYNTH_RATE)
    return reverb(x, SYNTH_RATE, rng.uniform(*room["rt60_s"]), rng.uniform(*room["wet"]),
                  rng.uniform(*room["damping_hz"]))


def render_clip(params: ClipParams) -> np.ndarray:
    """The whole clip, ``(round(params.total_s * SYNTH_RATE),)`` float32 at ``SYNTH_RATE`` Hz,
    peak in ``NEAR_PEAK`` or ``FAR_PEAK``: lead-in, audible span, tail."""
    rng = np.random.default_rng(params.noise_seed)
    active = render_active(params, rng)
    lead = params.lead_s * SYNTH_RATE
    clip = silence(max(round(params.total_s * SYNTH_RATE), lead + len(active)))
    clip[lead: lead + len(active)] = active
    clip = _room(clip, params.near, rng)
    floor = white(rng, min(len(clip), FLOOR_LOOP_S * SYNTH_RATE))
    clip += 10.0 ** (NOISE_FLOOR_DB / 20.0) * np.resize(floor, len(clip))
    target = rng.uniform(*(NEAR_PEAK if params.near else FAR_PEAK))
    return (clip * (target / np.max(np.abs(clip)))).astype(np.float32)
