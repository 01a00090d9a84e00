"""Procedural sounds of vehicles, bells, alarms, tools, household objects and drums.

Renderers follow :data:`~amr_lib.corpora.synthetic.params.Renderer`:
``render(params, n, sr, rng) -> (n,)`` float at ``sr`` Hz, any level, sound filling the
whole span (first event just after its start, last one just before its end).
"""

from __future__ import annotations

import numpy as np

from amr_lib.corpora.synthetic.dsp import (
    add_events,
    band,
    bouts,
    brown,
    db_range,
    decay,
    gate,
    glide,
    lerp,
    noise_bursts,
    regular_onsets,
    resonator,
    rolloff,
    samples,
    silence,
    spread_groups,
    taper,
    tone,
    unit,
    white,
    wobble,
)
from amr_lib.corpora.synthetic.params import ClipParams, SoundSpec, scaled

# Church-bell partials (hum, prime, tierce, quint, nominal, ...): frequency ratio to the
# prime, relative amplitude and decay time in seconds.
BELL_PARTIALS = ((0.5, 0.6, 2.5), (1.0, 1.0, 1.8), (1.19, 0.7, 1.2), (1.5, 0.4, 0.9),
                 (2.0, 0.6, 0.8), (2.52, 0.35, 0.5), (3.0, 0.25, 0.4), (4.1, 0.15, 0.25))
SMALL_BELL_RATIOS = (1.0, 1.48, 2.1, 2.9)      # a bicycle bell's bright inharmonic partials
ALARM_BELL_RATIOS = (1.0, 2.3, 3.9)
MAJOR_THIRD = 2 ** (4 / 12)
PARTIAL_CEILING = 0.45                         # drop partials above this fraction of sr
BOUT_GAP_S = (1.5, 4.0)                        # pause between bouts of knocks, honks ...


def _strike(ratios_amps_taus: tuple[tuple[float, float, float], ...], f0: float,
            length_s: float, sr: int) -> np.ndarray:
    """A struck metal object: decaying sine partials ``(ratio, amplitude, decay_s)``."""
    n = samples(length_s, sr)
    t = np.arange(n) / sr
    out = silence(n)
    for ratio, amp, tau in ratios_amps_taus:
        if ratio * f0 < PARTIAL_CEILING * sr:
            out += amp * np.sin(2 * np.pi * ratio * f0 * t) * np.exp(-t / tau)
    return taper(out * np.minimum(t / 0.001, 1.0), sr)


def siren(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """An emergency siren sweeping between two pitches: a slow wail or a fast yelp."""
    low = scaled(p.high, (500.0, 700.0), (750.0, 950.0), p.pitch_u)
    high = low * lerp(1.9, 2.3, p.timbre_u)
    t = np.arange(n) / sr
    if p.variant == "wail":
        shape = 0.5 - 0.5 * np.cos(2 * np.pi * t / rng.uniform(3.5, 6.0) + rng.uniform(0, 3))
    else:
        shape = (t / rng.uniform(0.25, 0.45)) % 1.0
    return band(tone(low + (high - low) * shape, n, sr, rolloff(8, 1.0)), 400.0, 5000.0, sr)


def church_bell(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A church bell tolling: long-ringing inharmonic strikes; speed sets the tolling rate."""
    prime = scaled(p.high, (180.0, 300.0), (420.0, 700.0), p.pitch_u)
    length = min(n / sr, 3.5)
    templates = [_strike(BELL_PARTIALS, prime * rng.uniform(0.99, 1.01), length, sr)
                 for _ in range(2)]
    gaps = (0.9, 1.5) if p.fast else (2.3, 3.5)
    onsets = spread_groups(n / sr, 0.3, gaps, rng)
    return add_events(silence(n), templates, onsets, sr, rng.uniform(0.8, 1.0, len(onsets)))


def bicycle_bell(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Bouts of ``p.count`` bicycle-bell rings, each a quick trill of thumb strikes."""
    f0 = scaled(p.high, (1800.0, 2300.0), (2500.0, 3200.0), p.pitch_u)
    partials = tuple((r, 1.0 / (i + 1), lerp(0.15, 0.35, p.timbre_u))
                     for i, r in enumerate(SMALL_BELL_RATIOS))
    strike = _strike(partials, f0, 0.4, sr)
    ring = taper(add_events(np.zeros(samples(0.6, sr)), [strike],
                            np.arange(int(rng.integers(3, 5))) * rng.uniform(0.035, 0.05), sr), sr)
    onsets = bouts(n / sr, p.count, rng.uniform(0.35, 0.5), 0.2, BOUT_GAP_S, rng)
    return add_events(silence(n), [ring], onsets, sr)


def doorbell(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Bouts of ``p.count`` "ding-dong" chimes (a tone, then a major third below)."""
    f0 = scaled(p.high, (500.0, 700.0), (800.0, 1100.0), p.pitch_u)
    tau = lerp(0.5, 0.9, p.timbre_u)
    ding = _strike(((1.0, 1.0, tau), (2.0, 0.3, tau / 2), (2.76, 0.1, tau / 3)), f0, 1.2, sr)
    dong = _strike(((1.0, 1.0, tau), (2.0, 0.3, tau / 2), (2.76, 0.1, tau / 3)),
                   f0 / MAJOR_THIRD, 1.4, sr)
    chime = taper(add_events(np.zeros(samples(1.9, sr)), [ding, dong], np.array([0.0, 0.5]),
                             sr), sr)
    onsets = bouts(n / sr, p.count, rng.uniform(1.2, 1.6), 0.8, BOUT_GAP_S, rng)
    return add_events(silence(n), [chime], onsets, sr)


def _engine(firing_hz: np.ndarray, n: int, sr: int, brightness_hz: float, roughness: float,
            rng: np.random.Generator) -> np.ndarray:
    """Engine: a pulse-like harmonic buzz at the firing rate, uneven firing and exhaust noise."""
    buzz = tone(firing_hz, n, sr, rolloff(60, 0.8))
    uneven = 1.0 + roughness * tone(firing_hz / 2, n, sr)
    exhaust = band(white(rng, n), 60.0, brightness_hz, sr) * (0.6 + 0.4 * buzz)
    return band(buzz * uneven, 0.0, brightness_hz, sr) + 0.3 * unit(exhaust) + 0.3 * brown(rng, n)


def car_engine(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A car engine idling steadily or revving up and down."""
    idle = lerp(22.0, 35.0, p.pitch_u)
    if p.variant == "idling":
        firing = idle * (1.0 + 0.03 * wobble(n, sr, 1.0, rng))
    else:
        firing = idle + lerp(40.0, 80.0, p.timbre_u) * wobble(n, sr, 0.5, rng) ** 2
    return _engine(firing, n, sr, lerp(1200.0, 2500.0, p.timbre_u), 0.2, rng)


def motorcycle(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A motorcycle: a rough, bright, uneven putter that idles or revs hard."""
    idle = lerp(35.0, 60.0, p.pitch_u)
    if p.variant == "idling":
        firing = idle * (1.0 + 0.05 * wobble(n, sr, 2.0, rng))
    else:
        firing = idle + lerp(60.0, 120.0, p.timbre_u) * wobble(n, sr, 0.8, rng) ** 1.5
    return _engine(firing, n, sr, lerp(3000.0, 5000.0, p.timbre_u), 0.6, rng)


def car_horn(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Bouts of ``p.count`` honks, a brassy two-note chord; fast is short beeps."""
    f0 = scaled(p.high, (260.0, 340.0), (380.0, 480.0), p.pitch_u)
    length_s = scaled(p.fast, (0.5, 1.0), (0.12, 0.25), p.speed_u)
    m = samples(length_s, sr)
    chord = tone(f0, m, sr, rolloff(20, 0.7)) + tone(f0 * MAJOR_THIRD, m, sr, rolloff(16, 0.7))
    honk = band(chord, 250.0, 4000.0, sr) * gate(m, sr, 0.01, 0.03)
    onsets = bouts(n / sr, p.count, length_s + rng.uniform(0.1, 0.25), length_s,
                   BOUT_GAP_S, rng)
    return add_events(silence(n), [honk], onsets, sr)


def train_passing(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A train rolling past: heavy rumble and wheel roar with clickety-clack bogie pairs."""
    rumble = unit(band(brown(rng, n), 0.0, 250.0, sr)) + 0.5 * unit(
        band(white(rng, n), 200.0, 2000.0, sr))
    rumble *= db_range(wobble(n, sr, 0.3, rng), 2.0)
    m = samples(0.08, sr)
    click = white(rng, m) * decay(m, sr, 0.004)
    clack = unit(resonator(click, 250.0, 80.0, sr)) + 0.5 * unit(
        resonator(click, lerp(1800.0, 2600.0, p.timbre_u), 60.0, sr))
    car_s = scaled(p.fast, (1.2, 1.8), (0.5, 0.8), p.speed_u)
    bogie_s = car_s * 0.12
    cars = regular_onsets(n / sr, car_s, 0.03, rng, 0.3)
    onsets = (cars[:, None] + np.array([0.0, bogie_s, 0.7 * car_s, 0.7 * car_s + bogie_s])
              ).ravel()  # (cars * 4,)
    clacks = add_events(silence(n), [clack], onsets, sr, rng.uniform(0.7, 1.0, len(onsets)))
    return rumble + 0.8 * clacks


def helicopter(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A helicopter: low blade thumps at the rotor rate, engine whine and broadband roar."""
    blade_hz = scaled(p.fast, (4.0, 5.5), (6.0, 8.0), p.speed_u)
    impulses = silence(n)
    impulses[(np.arange(0.01, n / sr, 1.0 / blade_hz) * sr).astype(np.int64)] = 1.0
    thumps = unit(band(noise_bursts(impulses, sr, lerp(0.025, 0.04, p.timbre_u), rng),
                       0.0, lerp(400.0, 700.0, p.timbre_u), sr))
    roar = unit(band(white(rng, n), 300.0, 3000.0, sr)) * (0.5 + 0.5 * np.abs(thumps))
    whine = tone(lerp(1600.0, 3000.0, p.timbre_u), n, sr, (1.0, 0.3))
    return thumps + 0.3 * roar + 0.05 * whine


def door_knock(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Bouts of ``p.count`` knocks on a wooden door: panel resonances and a knuckle click."""
    panel = lerp(110.0, 220.0, p.timbre_u)
    templates = []
    for _ in range(3):
        m = samples(0.12, sr)
        hit = white(rng, m) * decay(m, sr, 0.002)
        body = (unit(resonator(hit, panel, 40.0, sr)) + 0.6 * unit(
            resonator(hit, 2.3 * panel, 80.0, sr)) + 0.4 * unit(
            resonator(hit, rng.uniform(650.0, 900.0), 150.0, sr)))
        knock = body * decay(m, sr, 0.04) + 0.4 * unit(band(hit, 1000.0, 5000.0, sr))
        templates.append(knock / np.max(np.abs(knock)))
    onsets = bouts(n / sr, p.count, rng.uniform(0.18, 0.32), 0.12, BOUT_GAP_S, rng)
    return add_events(silence(n), templates, onsets, sr, rng.uniform(0.8, 1.0, len(onsets)))


def alarm_clock(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A mechanical alarm clock: a hammer rattling on a bell in long rings; speed is the
    hammer rate."""
    f0 = scaled(p.high, (1100.0, 1600.0), (1800.0, 2600.0), p.pitch_u)
    hammer_hz = scaled(p.fast, (12.0, 16.0), (18.0, 26.0), p.speed_u)
    ring_s = rng.uniform(2.0, 4.0)
    impulses = silence(n)
    for start in spread_groups(n / sr, ring_s, (0.3, 1.0), rng):
        hits = np.arange(start, min(start + ring_s, n / sr), 1.0 / hammer_hz)
        impulses[(hits * sr).astype(np.int64)] = rng.uniform(0.7, 1.0, len(hits))
    return sum(unit(resonator(impulses, r * f0, 25.0 * r, sr)) / r for r in ALARM_BELL_RATIOS
               if r * f0 < PARTIAL_CEILING * sr)


def beeping_alarm(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """An electronic alarm: groups of ``p.count`` square-ish beeps, then a short pause."""
    f0 = scaled(p.high, (1400.0, 2200.0), (2800.0, 3600.0), p.pitch_u)
    beep_s = lerp(0.06, 0.14, p.timbre_u)
    m = samples(beep_s, sr)
    beep = tone(f0, m, sr, (1.0, 0.0, 1 / 3, 0.0, 1 / 5)) * gate(m, sr, 0.003, 0.005)
    onsets = bouts(n / sr, p.count, 2 * beep_s, beep_s, (0.4, 1.0), rng)
    return add_events(silence(n), [beep], onsets, sr)


def phone_ringing(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A telephone ringing in a cadence: an electronic warble or a little ringtone melody."""
    ring_s = rng.uniform(1.0, 2.0)
    m = samples(ring_s, sr)
    t = np.arange(m) / sr
    low = lerp(600.0, 1000.0, p.timbre_u)
    if p.variant == "warble":
        freq = np.where((t * rng.uniform(16.0, 25.0)) % 1.0 < 0.5, low, low * 1.25)
    else:
        notes = low * 2 ** (np.array([0, 4, 7, 12, 7, 4]) / 12)
        freq = notes[(t / rng.uniform(0.1, 0.15)).astype(np.int64) % len(notes)]
    ring = tone(freq, m, sr, (1.0, 0.4, 0.2)) * gate(m, sr, 0.01, 0.05)
    onsets = spread_groups(n / sr, ring_s, (1.5, 3.0), rng)
    return add_events(silence(n), [ring], onsets, sr)


def _key(sr: int, rng: np.random.Generator, space: bool) -> np.ndarray:
    """One keystroke: a plastic click, a bottom-out thock and a softer release click."""
    m = samples(0.16, sr)
    click = unit(band(white(rng, m) * decay(m, sr, 0.0015), 2000.0, 7000.0, sr))
    thock = unit(resonator(white(rng, m) * decay(m, sr, 0.003),
                           rng.uniform(250.0, 400.0) if space else rng.uniform(400.0, 900.0),
                           150.0, sr))
    key = click * decay(m, sr, 0.006) + (1.2 if space else 0.7) * thock * decay(m, sr, 0.015)
    release = int(rng.uniform(0.06, 0.1) * sr)
    key[release:] += 0.4 * key[: m - release]
    return key


def keyboard_typing(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Typing on a keyboard: words of 3-8 keystrokes, a space bar between; fast or slow."""
    rate = scaled(p.fast, (3.0, 5.0), (7.0, 11.0), p.speed_u)
    keys = [_key(sr, rng, False) for _ in range(4)]
    space = _key(sr, rng, True)
    onsets, templates = [], []
    t, end = rng.uniform(0.02, 0.1), n / sr - 0.2
    while t < end:
        for _ in range(int(rng.integers(3, 9))):
            onsets.append(t)
            templates.append(keys[len(onsets) % len(keys)])
            t += rng.uniform(0.6, 1.4) / rate
        onsets.append(t)
        templates.append(space)
        t += rng.uniform(1.5, 3.0) / rate
    onsets.append(end + 0.05)
    templates.append(keys[0])
    out = silence(n)
    for onset, template in zip(onsets, templates, strict=True):
        add_events(out, [template], np.array([onset]), sr, np.array([rng.uniform(0.7, 1.0)]))
    return out


def clock_ticking(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A clock's tick-tock: alternating clicks of two pitches; fast is a small clock."""
    f0 = scaled(p.high, (900.0, 1500.0), (2000.0, 3500.0), p.pitch_u)
    period = scaled(p.fast, (0.9, 1.1), (0.25, 0.5), p.speed_u)
    m = samples(0.05, sr)
    hit = white(rng, m) * decay(m, sr, 0.001)
    tick = unit(resonator(hit, f0, 200.0, sr)) + 0.5 * unit(resonator(hit, 1.7 * f0, 300.0, sr))
    tock = unit(resonator(hit, 0.75 * f0, 200.0, sr)) + 0.5 * unit(
        resonator(hit, 1.3 * f0, 300.0, sr))
    onsets = regular_onsets(n / sr, period, 0.01, rng, 0.05)
    return add_events(silence(n), [tick, tock], onsets, sr)


def hammering(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Bouts of ``p.count`` hammer blows, on a nail in wood or on metal; speed sets the pace."""
    metal = p.variant == "on metal"
    m = samples(0.4 if metal else 0.2, sr)
    templates = []
    for _ in range(3):
        hit = white(rng, m) * decay(m, sr, 0.002)
        ring = sum(unit(resonator(hit, f, 15.0 if metal else 40.0, sr))
                   for f in rng.uniform(1200.0, 4000.0, 3))
        thud = unit(resonator(hit, lerp(150.0, 300.0, p.timbre_u), 60.0, sr))
        templates.append((0.6 if metal else 0.3) * ring * decay(m, sr, 0.12 if metal else 0.05)
                         + (0.4 if metal else 1.0) * thud * decay(m, sr, 0.03)
                         + 0.5 * unit(band(hit, 2000.0, 7000.0, sr)))
    step = scaled(p.fast, (0.45, 0.7), (0.2, 0.3), p.speed_u)
    onsets = bouts(n / sr, p.count, step, 0.1, (0.8, 2.5), rng)
    return add_events(silence(n), templates, onsets, sr, rng.uniform(0.8, 1.0, len(onsets)))


def sawing(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A hand saw: rasping back-and-forth strokes, pushes louder than pulls."""
    stroke_s = scaled(p.fast, (0.6, 0.9), (0.3, 0.45), p.speed_u)
    t = np.arange(n) / sr
    stroke = t / stroke_s
    envelope = np.abs(np.sin(np.pi * stroke)) ** 0.8 * np.where(
        stroke.astype(np.int64) % 2 == 0, 1.0, 0.6)
    teeth = (0.5 + 0.5 * tone(lerp(70.0, 160.0, p.timbre_u), n, sr)) ** 2
    rasp = band(white(rng, n), 800.0, 5000.0, sr) * teeth
    blade = resonator(rasp, lerp(1500.0, 3000.0, p.timbre_u), 80.0, sr)
    return (unit(rasp) + 0.4 * unit(blade)) * envelope


def whistle(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Bouts of ``p.count`` referee-whistle blasts: a trilling pea-whistle tone; fast is short
    blasts."""
    f0 = scaled(p.high, (2200.0, 2900.0), (3100.0, 3800.0), p.pitch_u)
    length_s = scaled(p.fast, (0.6, 1.2), (0.15, 0.3), p.speed_u)
    m = samples(length_s, sr)
    trill_hz = rng.uniform(25.0, 45.0)
    trill = tone(trill_hz, m, sr)
    blast = tone(f0 * (1.0 + 0.03 * trill), m, sr, (1.0, 0.15)) * (1.0 - 0.6 * (0.5 + 0.5 * trill))
    blast = (blast + 0.1 * unit(band(white(rng, m), 1500.0, 6000.0, sr))) * gate(m, sr, 0.01,
                                                                                   0.03)
    onsets = bouts(n / sr, p.count, length_s + rng.uniform(0.12, 0.3), length_s,
                   BOUT_GAP_S, rng)
    return add_events(silence(n), [blast], onsets, sr)


def _smash(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Glass shattering: a bright crash followed by a shower of tinkling shards."""
    m = samples(rng.uniform(0.8, 1.4), sr)
    out = 0.8 * unit(band(white(rng, m), 1500.0, 7500.0, sr)) * decay(m, sr, rng.uniform(
        0.04, 0.08))
    shard_s = 0.3
    k = samples(shard_s, sr)
    t = np.arange(k) / sr
    for onset in np.sort(rng.exponential(0.15, int(rng.integers(25, 45)))):
        start = int(onset * sr)
        if start + k <= m:
            out[start: start + k] += (np.exp(-onset / 0.4) * np.sin(
                2 * np.pi * rng.uniform(2000.0, 7000.0) * t) * np.exp(-t / rng.uniform(0.015,
                                                                                   0.06)))
    return taper(out, sr)


def glass_breaking(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Glass objects smashing one after another."""
    templates = [_smash(sr, rng) for _ in range(2)]
    onsets = spread_groups(n / sr, 0.6, (1.0, 3.5), rng)
    return add_events(silence(n), templates, onsets, sr, rng.uniform(0.7, 1.0, len(onsets)))


def _drums(sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Kick, snare, hi-hat and two toms."""
    m = samples(0.35, sr)
    kick = tone(glide((150.0, 60.0, 45.0, 45.0), m), m, sr) * decay(m, sr, 0.12)
    noise = white(rng, m)
    snare = 0.6 * unit(band(noise, 1000.0, 7000.0, sr)) * decay(m, sr, 0.08) + tone(
        190.0, m, sr) * decay(m, sr, 0.05)
    hat = 0.4 * unit(band(noise, 6000.0, 8000.0, sr)) * decay(m, sr, 0.02)
    toms = {f"tom{i}": tone(f * glide((1.3, 1.0, 1.0), m), m, sr) * decay(m, sr, 0.2)
            for i, f in enumerate(rng.uniform(90.0, 200.0, 2))}
    return {name: taper(sound, sr) for name, sound in
            {"kick": kick, "snare": snare, "hat": hat, **toms}.items()}


def drum_beats(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A drum pattern in eighth notes: a full kit groove or rolling toms; fast or slow tempo."""
    bpm = scaled(p.fast, (70.0, 95.0), (125.0, 160.0), p.speed_u)
    eighths = regular_onsets(n / sr, 30.0 / bpm, 0.01, rng, 0.2)
    kit = _drums(sr, rng)
    if p.variant == "full kit":
        pattern = [["kick", "hat"], ["hat"], ["snare", "hat"], ["hat"]]
    else:
        pattern = [["kick", "tom0"], ["tom1"], ["tom0"], ["tom1", "tom0"]]
    out = silence(n)
    for i, onset in enumerate(eighths):
        add_events(out, [kit[name] for name in pattern[i % 4]], np.full(len(pattern[i % 4]),
                                                                           onset), sr)
    return out


DEVICE_SOUNDS = (
    SoundSpec("siren", siren, pitch=True, variants=("wail", "yelp")),
    SoundSpec("church_bell", church_bell, pitch=True, speed=True),
    SoundSpec("bicycle_bell", bicycle_bell, pitch=True, count=(1, 3)),
    SoundSpec("doorbell", doorbell, pitch=True, count=(1, 3)),
    SoundSpec("car_engine", car_engine, variants=("idling", "revving")),
    SoundSpec("motorcycle", motorcycle, variants=("idling", "revving")),
    SoundSpec("car_horn", car_horn, pitch=True, speed=True, count=(1, 4)),
    SoundSpec("train_passing", train_passing, speed=True),
    SoundSpec("helicopter", helicopter, speed=True),
    SoundSpec("door_knock", door_knock, count=(2, 5)),
    SoundSpec("alarm_clock", alarm_clock, pitch=True, speed=True),
    SoundSpec("beeping_alarm", beeping_alarm, pitch=True, count=(2, 5)),
    SoundSpec("phone_ringing", phone_ringing, variants=("warble", "melody")),
    SoundSpec("keyboard_typing", keyboard_typing, speed=True),
    SoundSpec("clock_ticking", clock_ticking, pitch=True, speed=True),
    SoundSpec("hammering", hammering, speed=True, count=(2, 6),
              variants=("nail into wood", "on metal")),
    SoundSpec("sawing", sawing, speed=True),
    SoundSpec("whistle", whistle, pitch=True, speed=True, count=(1, 3)),
    SoundSpec("glass_breaking", glass_breaking),
    SoundSpec("drum_beats", drum_beats, speed=True, variants=("full kit", "toms")),
)
