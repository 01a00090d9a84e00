"""Small vectorised DSP building blocks for the procedural sound corpora.

Everything works on 1-D float arrays ``(n,)`` at a sample rate ``sr`` in Hz (long signals in
float32, ``SAMPLE_DTYPE``; short templates may be float64); times are in
seconds and frequencies in Hz. No function loops over samples in Python: oscillators read a
wavetable, envelopes are closed-form, recursive filters run in :func:`scipy.signal.lfilter`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

SAMPLE_DTYPE = np.float32         # long signals: half the memory traffic of float64
TABLE_SIZE = 4096                 # wavetable length (power of two, for masking)
HARMONIC_CEILING = 0.45           # highest harmonic kept, as a fraction of the sample rate
BAND_EDGE_GUARD = 0.95            # band edges are kept below this fraction of Nyquist
MIN_BAND_HZ = 20.0                # lowest band edge a filter accepts
COMB_DELAYS_S = (0.0297, 0.0371, 0.0437)   # Schroeder-style parallel comb delays, seconds
ALLPASS_DELAYS_S = (0.0050, 0.0017)        # ... followed by all-pass diffusers, seconds
ALLPASS_GAIN = 0.7
RT60_DECAY_DB = 60.0              # RT60: time for the reverb to fall by 60 dB
EDGE_MARGIN_S = (0.02, 0.12)      # first event starts, last event ends, this far from the edges
TAPER_S = 0.03                    # fade at the end of event templates, seconds
CONTROL_RATE_HZ = 1000            # envelopes and pitch tracks are computed at this rate


def samples(duration_s: float, sr: int) -> int:
    """Number of samples in ``duration_s`` seconds at ``sr`` Hz (rounded, at least 1)."""
    return max(1, round(duration_s * sr))


def lerp(low: float, high: float, u: float) -> float:
    """The point ``u`` in [0, 1] of the way from ``low`` to ``high``."""
    return low + (high - low) * u


def silence(n: int) -> np.ndarray:
    """``(n,)`` zeros of ``SAMPLE_DTYPE``, to add events into."""
    return np.zeros(n, dtype=SAMPLE_DTYPE)


def white(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n,)`` Gaussian white noise, unit variance, ``SAMPLE_DTYPE``."""
    return rng.standard_normal(n, dtype=SAMPLE_DTYPE)


def _lfilter(b: Sequence[float], a: Sequence[float], x: np.ndarray) -> np.ndarray:
    """:func:`scipy.signal.lfilter` keeping float32 input in float32."""
    dtype = np.float32 if x.dtype == np.float32 else np.float64
    return lfilter(np.asarray(b, dtype=dtype), np.asarray(a, dtype=dtype), x)


def unit(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to unit RMS (silence stays silence)."""
    level = np.sqrt(np.dot(x, x) / max(len(x), 1))
    return x / level if level > 0 else x


def brown(rng: np.random.Generator, n: int, pole: float = 0.995) -> np.ndarray:
    """``(n,)`` low-frequency rumble: white noise through a one-pole integrator, unit RMS."""
    out = _lfilter([1.0 - pole], [1.0, -pole], white(rng, n))
    return out / (np.std(out) + 1e-12)


def band(x: np.ndarray, low_hz: float, high_hz: float, sr: int, order: int = 2) -> np.ndarray:
    """Butterworth filter keeping ``low_hz``..``high_hz``; ``low_hz <= 0`` means low-pass and a
    ``high_hz`` at or above Nyquist means high-pass. ``(n,) -> (n,)``."""
    top = BAND_EDGE_GUARD * sr / 2
    low_hz, high_hz = max(low_hz, 0.0), min(high_hz, top)
    if low_hz < MIN_BAND_HZ:
        sos = butter(order, max(high_hz, MIN_BAND_HZ), "lowpass", fs=sr, output="sos")
    elif high_hz >= top:
        sos = butter(order, min(low_hz, top * BAND_EDGE_GUARD), "highpass", fs=sr, output="sos")
    else:
        high_hz = max(high_hz, low_hz * 1.05)
        sos = butter(order, [low_hz, high_hz], "bandpass", fs=sr, output="sos")
    return sosfilt(sos.astype(x.dtype) if x.dtype == np.float32 else sos, x)


def resonator(x: np.ndarray, freq_hz: float, bandwidth_hz: float, sr: int) -> np.ndarray:
    """Two-pole resonance at ``freq_hz`` with -3 dB width ``bandwidth_hz``, unit peak gain."""
    b, a = _resonator_coefficients(freq_hz, bandwidth_hz, sr)
    return _lfilter(b, a, x)


def _resonator_coefficients(freq_hz: float, bandwidth_hz: float,
                            sr: int) -> tuple[np.ndarray, np.ndarray]:
    """``(b, a)`` of a two-pole resonance at ``freq_hz``, ``bandwidth_hz`` wide, unit peak."""
    radius = np.exp(-np.pi * bandwidth_hz / sr)
    theta = 2 * np.pi * min(freq_hz, BAND_EDGE_GUARD * sr / 2) / sr
    gain = (1 - radius) * np.sqrt(1 - 2 * radius * np.cos(2 * theta) + radius**2)
    return np.array([gain]), np.array([1.0, -2 * radius * np.cos(theta), radius**2])


def resonator_pair(x: np.ndarray, first: tuple[float, float, float],
                   second: tuple[float, float, float], sr: int) -> np.ndarray:
    """Two resonators ``(freq_hz, bandwidth_hz, gain)`` in parallel, run as one fourth-order
    filter (one pass over ``x`` instead of two). ``(n,) -> (n,)``."""
    b1, a1 = _resonator_coefficients(first[0], first[1], sr)
    b2, a2 = _resonator_coefficients(second[0], second[1], sr)
    b = np.polyadd(first[2] * np.polymul(b1, a2), second[2] * np.polymul(b2, a1))
    return _lfilter(b, np.polymul(a1, a2), x)


def one_pole(x: np.ndarray, tau_s: float, sr: int) -> np.ndarray:
    """Leaky integrator (exponential smoothing) with time constant ``tau_s``, unit DC gain."""
    pole = np.exp(-1.0 / max(tau_s * sr, 1.0))
    return _lfilter([1.0 - pole], [1.0, -pole], x)


@lru_cache(maxsize=256)
def _wavetable(harmonics: tuple[float, ...]) -> np.ndarray:
    """One period ``(TABLE_SIZE,)`` of a sum of sine harmonics, peak 1, ``SAMPLE_DTYPE``."""
    phase = np.arange(TABLE_SIZE) / TABLE_SIZE
    table = sum(a * np.sin(2 * np.pi * (k + 1) * phase) for k, a in enumerate(harmonics))
    table = np.asarray(table, dtype=np.float64)
    return (table / (np.max(np.abs(table)) + 1e-12)).astype(SAMPLE_DTYPE)


def tone(freq_hz: float | np.ndarray, n: int, sr: int,
         harmonics: Sequence[float] = (1.0,), phase: float = 0.0) -> np.ndarray:
    """``(n,)`` harmonic oscillator following ``freq_hz`` (a constant or an ``(n,)`` track).

    ``harmonics`` are the amplitudes of partials 1, 2, 3, ...; partials above
    ``HARMONIC_CEILING * sr`` are dropped for the whole call so nothing aliases.
    """
    freq = np.asarray(freq_hz, dtype=np.float64)
    top = max(float(np.max(freq)), 1.0)
    usable = max(1, int(HARMONIC_CEILING * sr / top))
    table = _wavetable(tuple(float(a) for a in harmonics[:usable]))
    if freq.ndim == 0:                                      # constant pitch: no running sum
        position = np.arange(1, n + 1) * (float(freq) * TABLE_SIZE / sr)
    else:
        position = np.cumsum(np.broadcast_to(freq, (n,))) * (TABLE_SIZE / sr)
    position += phase * TABLE_SIZE
    return table[position.astype(np.int64) & (TABLE_SIZE - 1)]


def rolloff(count: int, slope: float) -> tuple[float, ...]:
    """Harmonic amplitudes ``k ** -slope`` for k = 1..count (bright for small ``slope``)."""
    return tuple(float(k) ** -slope for k in range(1, count + 1))


def glide(points: Sequence[float], n: int) -> np.ndarray:
    """``(n,)`` piecewise-linear track through ``points`` spaced evenly over ``n`` samples."""
    return np.interp(np.linspace(0.0, 1.0, n), np.linspace(0.0, 1.0, len(points)), points)


def decay(n: int, sr: int, tau_s: float, attack_s: float = 0.002) -> np.ndarray:
    """``(n,)`` percussive envelope: linear attack over ``attack_s``, exponential decay."""
    t = np.arange(n) / sr
    return np.minimum(t / max(attack_s, 1.0 / sr), 1.0) * np.exp(-t / tau_s)


def gate(n: int, sr: int, attack_s: float, release_s: float) -> np.ndarray:
    """``(n,)`` sustained envelope: linear ramps of ``attack_s`` and ``release_s``, flat between."""
    t = np.arange(n) / sr
    rise = np.minimum(t / max(attack_s, 1.0 / sr), 1.0)
    fall = np.minimum((n / sr - t) / max(release_s, 1.0 / sr), 1.0)
    return np.minimum(rise, fall)


def hold(track: np.ndarray, n: int, hop: int) -> np.ndarray:
    """Expand a control track (one value per ``hop`` samples) to ``(n,)`` audio samples."""
    return np.repeat(track.astype(SAMPLE_DTYPE), hop)[:n]


def control_hop(sr: int) -> int:
    """Samples per control value at ``CONTROL_RATE_HZ`` (16 at 16 kHz)."""
    return max(1, sr // CONTROL_RATE_HZ)


def wobble_control(steps: int, control_hz: float, rate_hz: float,
                   rng: np.random.Generator) -> np.ndarray:
    """``(steps,)`` smooth random track in [0, 1] at ``control_hz`` values a second: random
    values ``rate_hz`` times a second joined by cosine interpolation."""
    position = np.arange(steps) * (rate_hz / control_hz)
    values = rng.random(int(position[-1]) + 2)
    index = position.astype(np.int64)
    frac = 0.5 - 0.5 * np.cos(np.pi * (position - index))
    return values[index] * (1 - frac) + values[index + 1] * frac


def wobble(n: int, sr: int, rate_hz: float, rng: np.random.Generator) -> np.ndarray:
    """``(n,)`` smooth random track in [0, 1] changing about ``rate_hz`` times a second
    (computed at the control rate, then held)."""
    hop = control_hop(sr)
    return hold(wobble_control(-(-n // hop), sr / hop, rate_hz, rng), n, hop)


def edge_lift(n: int, rate_hz: float, hold_s: float = 1.0) -> np.ndarray:
    """``(n,)`` floor for a level track at ``rate_hz`` values a second: 1 within ``hold_s``
    of either end, falling linearly to 0 over the next ``hold_s``. ``np.maximum(track,
    edge_lift(...))`` keeps a fluctuating sound at full level in its first and last second."""
    t = np.arange(n) / rate_hz
    from_edge = np.minimum(t, t[-1] - t)
    return np.clip(2.0 - from_edge / hold_s, 0.0, 1.0)


def db_range(track: np.ndarray, depth_db: float) -> np.ndarray:
    """Map a [0, 1] track to amplitudes from ``-depth_db`` dB (at 0) to 0 dB (at 1)."""
    return 10.0 ** (depth_db * (track - 1.0) / 20.0)


def fade(x: np.ndarray, sr: int, in_s: float, out_s: float) -> np.ndarray:
    """Copy of ``x`` with linear fades of ``in_s`` and ``out_s`` seconds at its ends."""
    return x * gate(len(x), sr, in_s, out_s)


def taper(x: np.ndarray, sr: int, release_s: float = TAPER_S) -> np.ndarray:
    """``x`` with its last ``release_s`` faded to zero (an event template that is cut while
    still ringing would click)."""
    k = min(len(x), samples(release_s, sr))
    out = x.copy()
    out[len(x) - k:] *= np.linspace(1.0, 0.0, k)
    return out


def sparse_impulses(n: int, sr: int, rate_hz: float, rng: np.random.Generator,
                    spread: float = 1.0) -> np.ndarray:
    """``(n,)`` Poisson impulse train, ``rate_hz`` impulses a second with random heights
    (log-normal with ``spread``); used to excite clicks, drops and claps."""
    count = rng.poisson(rate_hz * n / sr)
    out = silence(n)
    np.add.at(out, rng.integers(0, n, count), rng.lognormal(0.0, spread, count))
    return out


def noise_bursts(impulses: np.ndarray, sr: int, tau_s: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Noise gated by exponentially decaying envelopes started at each impulse, ``(n,)``."""
    envelope = _lfilter([1.0], [1.0, -np.exp(-1.0 / (tau_s * sr))], impulses)
    return envelope * white(rng, len(impulses))


def edge_span(duration_s: float, rng: np.random.Generator) -> tuple[float, float]:
    """``(first_onset_s, last_end_s)``: events fill the span up to small random margins."""
    return rng.uniform(*EDGE_MARGIN_S), duration_s - rng.uniform(*EDGE_MARGIN_S)


def spread_groups(duration_s: float, group_s: float, gap_s: tuple[float, float],
                  rng: np.random.Generator) -> np.ndarray:
    """Onsets (s) of groups ``group_s`` long separated by gaps drawn from ``gap_s``.

    The first group starts just after 0 and the last one ends just before ``duration_s``
    (the gaps are rescaled to fit), so the sound is audible at both edges of its span.
    """
    first, last_end = edge_span(duration_s, rng)
    room = last_end - first
    mean_gap = sum(gap_s) / 2
    count = max(1, int((room + mean_gap) // (group_s + mean_gap)))
    if count == 1 and room >= 2 * group_s:
        count = 2                  # two groups with a short gap beat one that leaves a hole
    if count == 1:
        return np.array([first])
    gaps = rng.uniform(*gap_s, count - 1)
    gaps *= max(room - count * group_s, 0.0) / gaps.sum()
    return first + np.concatenate([[0.0], np.cumsum(gaps + group_s)])


def regular_onsets(duration_s: float, period_s: float, jitter: float,
                   rng: np.random.Generator, event_s: float = 0.05) -> np.ndarray:
    """Onsets (s) about every ``period_s`` (relative ``jitter``) from just after 0 until an
    event ``event_s`` long ends just before ``duration_s``; the grid is stretched slightly
    so both edges of the span hold an event."""
    first, last_end = edge_span(duration_s, rng)
    last = max(first, last_end - event_s)
    count = max(1, round((last - first) / period_s) + 1)
    if count == 1:
        return np.array([first])
    onsets = np.linspace(first, last, count)
    step = (last - first) / (count - 1)
    onsets[1:-1] += rng.uniform(-jitter, jitter, count - 2) * step
    return onsets


def bouts(duration_s: float, count: int, step_s: float, event_s: float,
          gap_s: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Onsets (s) of repeated bouts of ``count`` events ``step_s`` apart (e.g. three knocks,
    a pause, three knocks ...). When the span holds only one bout, its events are spread
    over the whole span instead (the step grows or shrinks), so both edges are audible."""
    room = duration_s - 2 * EDGE_MARGIN_S[1]
    if count > 1 and 2 * ((count - 1) * step_s + event_s) > room:
        step_s = max((room - event_s) / (count - 1), event_s)
    starts = spread_groups(duration_s, (count - 1) * step_s + event_s, gap_s, rng)
    return (starts[:, None] + np.arange(count)[None, :] * step_s).ravel()  # (bouts * count,)


def add_events(out: np.ndarray, templates: Sequence[np.ndarray], onsets_s: np.ndarray,
               sr: int, gains: np.ndarray | None = None) -> np.ndarray:
    """Add ``templates`` (cycled) into ``out`` at ``onsets_s``; events are cut at the end."""
    gains = np.ones(len(onsets_s)) if gains is None else gains
    for i, onset in enumerate(onsets_s):
        start = int(onset * sr)
        if start >= len(out):
            continue
        template = templates[i % len(templates)]
        stop = min(len(out), start + len(template))
        out[start:stop] += gains[i] * template[: stop - start]
    return out


def _delay_filter(x: np.ndarray, delay: int, b: Sequence[float],
                  a: Sequence[float]) -> np.ndarray:
    """Run a filter in powers of ``z**-delay`` (a comb or all-pass): reshape to
    ``(blocks, delay)`` and filter along the block axis, which is the same recursion without
    a Python loop. Runs in float32 (twice as fast; a reverb tail needs no more precision)."""
    n = len(x)
    blocks = -(-n // delay)
    padded = np.zeros(blocks * delay, dtype=np.float32)
    padded[:n] = x
    out = lfilter(np.asarray(b, dtype=np.float32), np.asarray(a, dtype=np.float32),
                  padded.reshape(blocks, delay), axis=0)  # (blocks, delay)
    return out.reshape(-1)[:n]


def reverb(x: np.ndarray, sr: int, rt60_s: float, wet: float, damping_hz: float) -> np.ndarray:
    """Dry signal plus a diffuse tail: parallel feedback combs tuned to ``rt60_s`` and two
    all-pass diffusers (Schroeder's layout), low-passed at ``damping_hz``; ``wet`` is the
    tail's level relative to the dry signal. ``(n,) -> (n,)``.
    """
    tail = np.zeros(len(x), dtype=np.float32)
    for delay_s in COMB_DELAYS_S:
        delay = max(1, round(delay_s * sr))
        feedback = 10.0 ** (-RT60_DECAY_DB / 20.0 * delay_s / rt60_s)
        norm = np.sqrt(1.0 - feedback**2)
        tail += norm * _delay_filter(x, delay, [0.0, 1.0], [1.0, -feedback])
    for delay_s in ALLPASS_DELAYS_S:                 # diffuse the combs' discrete echoes
        delay = max(1, round(delay_s * sr))
        tail = _delay_filter(tail, delay, [-ALLPASS_GAIN, 1.0], [1.0, -ALLPASS_GAIN])
    tail = band(tail, 0.0, damping_hz, sr, order=1)
    return x + wet * tail / np.sqrt(len(COMB_DELAYS_S))
