"""Procedural sounds of animals, people, weather and water.

Every renderer has the :data:`~amr_lib.corpora.synthetic.params.Renderer` signature
``render(params, n, sr, rng) -> (n,)``: the audible span, float at ``sr`` Hz, at any level
(the caller normalises it). Event sounds (barks, drips, steps) fill the whole span, from
just after its start to just before its end, so the span is what the trimming rule keeps.
"""

from __future__ import annotations

import numpy as np

from amr_lib.corpora.synthetic.dsp import (
    SAMPLE_DTYPE,
    add_events,
    band,
    bouts,
    brown,
    control_hop,
    db_range,
    decay,
    edge_lift,
    gate,
    glide,
    hold,
    lerp,
    noise_bursts,
    one_pole,
    regular_onsets,
    resonator,
    resonator_pair,
    rolloff,
    samples,
    silence,
    sparse_impulses,
    spread_groups,
    tone,
    unit,
    white,
    wobble,
    wobble_control,
)
from amr_lib.corpora.synthetic.params import ClipParams, SoundSpec, scaled

VOWEL_FORMANTS_HZ = ((730.0, 1090.0), (400.0, 2000.0), (300.0, 870.0))  # /a/, /e/, /u/: F1, F2
HIGH_VOICE_FORMANT_SCALE = 1.15          # shorter vocal tracts: formants about 15 % higher
PENTATONIC_SEMITONES = (0, 2, 4, 7, 9, 12)
GROUP_GAP_S = (1.2, 3.5)                 # pause between bouts of barks, meows ...


def _bark(f0: float, length_s: float, formant_hz: float, sr: int,
          rng: np.random.Generator) -> np.ndarray:
    """One bark: a harmonic yelp with a rise-fall pitch and a rough, noisy formant."""
    n = samples(length_s, sr)
    voiced = tone(f0 * rng.uniform(0.93, 1.07) * glide((0.85, 1.15, 1.0, 0.7), n), n, sr,
                  rolloff(16, 0.8))
    rough = 0.4 * band(white(rng, n), 400.0, 4000.0, sr)
    shaped = unit(resonator(voiced + rough, formant_hz, 0.8 * formant_hz, sr)) + 0.3 * voiced
    return shaped * decay(n, sr, length_s / 3, attack_s=0.01)


def dog_bark(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Bouts of ``p.count`` barks; high pitch is a small dog, low pitch a big one."""
    f0 = scaled(p.high, (160.0, 280.0), (420.0, 680.0), p.pitch_u)
    length_s = lerp(0.14, 0.26, p.timbre_u) * (0.75 if p.high else 1.0)
    formant = lerp(700.0, 1300.0, p.timbre_u) * (1.6 if p.high else 1.0)
    templates = [_bark(f0, length_s, formant, sr, rng) for _ in range(3)]
    onsets = bouts(n / sr, p.count, length_s + rng.uniform(0.1, 0.25), length_s,
                   GROUP_GAP_S, rng)
    return add_events(silence(n), templates, onsets, sr, rng.uniform(0.8, 1.0, len(onsets)))


def _meow(f0: float, length_s: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One meow ("mi-aa-ow"): a rising-falling harmonic glide, formants moving /i/ to /u/."""
    n = samples(length_s, sr)
    pitch = f0 * rng.uniform(0.94, 1.06) * glide((0.8, 1.12, 1.08, 0.72), n)
    voiced = tone(pitch, n, sr, rolloff(12, 1.0))
    mouth = (glide((1.0, 0.2, 0.0, 0.0), n) * resonator(voiced, 2600.0, 900.0, sr)
             + glide((0.0, 1.0, 0.9, 0.3), n) * resonator(voiced, 1100.0, 500.0, sr)
             + glide((0.0, 0.0, 0.4, 1.0), n) * resonator(voiced, 600.0, 300.0, sr))
    return mouth * gate(n, sr, 0.05, 0.15)


def cat_meow(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Bouts of ``p.count`` meows; high pitch is a kitten."""
    f0 = scaled(p.high, (380.0, 560.0), (650.0, 950.0), p.pitch_u)
    length_s = lerp(0.5, 1.0, p.timbre_u)
    templates = [_meow(f0, length_s * rng.uniform(0.85, 1.0), sr, rng) for _ in range(3)]
    onsets = bouts(n / sr, p.count, length_s + rng.uniform(0.25, 0.6), length_s,
                   GROUP_GAP_S, rng)
    return add_events(silence(n), templates, onsets, sr, rng.uniform(0.8, 1.0, len(onsets)))


def _phrase(center_hz: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One song phrase: a trill of one repeated note, or a few sweeping whistled notes."""
    trill = rng.random() < 0.4
    count = int(rng.integers(6, 13) if trill else rng.integers(3, 8))
    fixed = (rng.uniform(0.03, 0.06), center_hz * rng.uniform(0.85, 1.15), rng.uniform(0.7, 1.4))
    pieces = []
    for _ in range(count):
        note_s, start_hz, sweep = fixed if trill else (
            rng.uniform(0.05, 0.14), center_hz * rng.uniform(0.8, 1.25), rng.uniform(0.6, 1.5))
        m = samples(note_s, sr)
        pieces.append(tone(start_hz * glide((1.0, sweep), m), m, sr, (1.0, 0.12))
                      * gate(m, sr, 0.005, 0.015))
        pieces.append(np.zeros(samples(rng.uniform(0.015, 0.03 if trill else 0.08), sr)))
    return np.concatenate(pieces)


def birdsong(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A bird repeating short phrases of chirps and trills; speed sets the pauses."""
    center = scaled(p.high, (2200.0, 3200.0), (3600.0, 5200.0), p.pitch_u)
    phrases = sorted((_phrase(center, sr, rng) for _ in range(3)), key=len)
    onsets = spread_groups(n / sr, len(phrases[-1]) / sr,
                           (0.25, 0.7) if p.fast else (0.8, 2.2), rng)
    middle = [phrases[i % len(phrases)] for i in range(max(len(onsets) - 2, 0))]
    order = [phrases[-1], *middle, phrases[-1]][: len(onsets)]   # longest opens and closes
    gains = rng.uniform(0.6, 1.0, len(onsets))
    gains[[0, -1]] = 1.0
    return add_events(silence(n), order, onsets, sr, gains)


def frog_croak(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Pulsed croaks ("ribbit" when two syllables); low pitch is a big frog."""
    f0 = scaled(p.high, (110.0, 220.0), (500.0, 900.0), p.pitch_u)
    pulse_hz = lerp(25.0, 60.0, p.timbre_u)
    m = samples(rng.uniform(0.15, 0.3), sr)
    t = np.arange(m) / sr
    pulses = (0.5 - 0.5 * np.cos(2 * np.pi * pulse_hz * t)) ** 2
    voiced = tone(f0 * glide((1.0, 1.05, 0.95), m), m, sr, rolloff(10, 1.0))
    croak = (unit(resonator(voiced, 3 * f0, f0, sr)) + 0.5 * voiced) * pulses
    croak *= gate(m, sr, 0.02, 0.04)
    ribbit = p.timbre_u > 0.5                      # two syllables, the second one softer
    template = np.concatenate([croak, np.zeros(samples(0.06, sr)), 0.8 * croak] if ribbit
                              else [croak])
    length_s = len(template) / sr
    period = max(scaled(p.fast, (1.0, 2.0), (0.35, 0.7), p.speed_u), length_s + 0.1)
    onsets = regular_onsets(n / sr, period, 0.25, rng, length_s)
    return add_events(silence(n), [template], onsets, sr, rng.uniform(0.7, 1.0, len(onsets)))


def cricket_chirp(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Chirps of 3-5 fast pulses of a pure high tone; in some clips a quieter second cricket
    answers."""
    carrier = scaled(p.high, (3600.0, 4400.0), (4800.0, 6200.0), p.pitch_u)
    pulse_s = rng.uniform(0.03, 0.045)
    m = samples(int(rng.integers(3, 6)) * pulse_s, sr)
    phase = (np.arange(m) / sr % pulse_s) / pulse_s
    envelope = np.where(phase < 0.6, np.sin(np.pi * phase / 0.6) ** 2, 0.0)
    chirp = tone(carrier, m, sr) * envelope
    period = scaled(p.fast, (0.55, 1.0), (0.22, 0.4), p.speed_u)
    onsets = regular_onsets(n / sr, period, 0.05, rng, m / sr)
    out = add_events(silence(n), [chirp], onsets, sr)
    if p.timbre_u > 0.5:
        echo = tone(carrier * 1.04, m, sr) * envelope
        add_events(out, [echo], onsets[:-1] + period * rng.uniform(0.3, 0.6), sr,
                   np.full(len(onsets), 0.5))
    return out


def _wail(f0: float, length_s: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One crying wail: a rough, bright harmonic "waah" with a rise-fall contour."""
    n = samples(length_s, sr)
    voiced = tone(f0 * rng.uniform(0.95, 1.05) * glide((0.85, 1.1, 1.05, 0.8), n), n, sr,
                  rolloff(14, 0.7))
    rough = 1.0 + 0.3 * tone(rng.uniform(35.0, 70.0), n, sr)
    cry = unit(resonator(voiced, 1100.0, 400.0, sr)) + 0.7 * unit(
        resonator(voiced, 3000.0, 800.0, sr)) + 0.2 * voiced
    return cry * rough * gate(n, sr, 0.08, 0.2)


def baby_cry(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Wails with short breaths between; fast is short rapid sobs, slow long drawn-out wails."""
    f0 = scaled(p.high, (300.0, 400.0), (440.0, 580.0), p.pitch_u)
    length_s = scaled(p.fast, (1.0, 1.6), (0.45, 0.8), p.speed_u)
    templates = [_wail(f0, length_s, sr, rng) for _ in range(3)]
    onsets = spread_groups(n / sr, length_s, (0.2, 0.6), rng)
    return add_events(silence(n), templates, onsets, sr, rng.uniform(0.8, 1.0, len(onsets)))


def _voice(f0: float, n: int, sr: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One talker: ``(source (n,), vowel track (n,) in [0, 1])``. The source is a glottal
    harmonic buzz with intonation, shaped into syllables at 3.5-5.5 a second with pauses."""
    hop = control_hop(sr)
    steps = -(-n // hop)
    control_hz = sr / hop
    t = np.arange(steps) / control_hz
    phase = rng.uniform(3.5, 5.5) * t + 0.8 * wobble_control(steps, control_hz, 1.0, rng)
    syllables = (0.5 - 0.5 * np.cos(2 * np.pi * phase)) ** 1.5
    pauses = np.clip(4.0 * (wobble_control(steps, control_hz, 0.4, rng) - 0.15), 0.15, 1.0)
    pauses = np.maximum(pauses, edge_lift(steps, control_hz))
    pitch = f0 * (0.85 + 0.3 * wobble_control(steps, control_hz, 2.0, rng))
    source = tone(hold(pitch, n, hop), n, sr, rolloff(40, 1.2)) * hold(syllables * pauses, n,
                                                                          hop)
    return source, hold(wobble_control(steps, control_hz, 4.5, rng), n, hop)


def speech_babble(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Indistinct talking: one voice or several overlapping; low pitch is male voices."""
    voices = 1 if p.variant == "one voice" else int(rng.integers(3, 5))
    scale = HIGH_VOICE_FORMANT_SCALE if p.high else 1.0
    bins = np.zeros((len(VOWEL_FORMANTS_HZ), n), dtype=SAMPLE_DTYPE)   # source per vowel filter
    for index in range(voices):
        u = p.pitch_u if index == 0 else rng.random()
        source, vowel = _voice(scaled(p.high, (95.0, 135.0), (180.0, 250.0), u), n, sr, rng)
        # vowel weights v**2, 2 v (1 - v), (1 - v)**2, accumulated without big temporaries
        open_part = source * vowel
        a_part = open_part * vowel                        # source v**2
        open_part -= a_part                               # source v (1 - v)
        bins[0] += a_part
        bins[1] += 2 * open_part
        bins[2] += source - 2 * open_part - a_part       # source (1 - v)**2
    out = silence(n)
    for row, (f1, f2) in zip(bins, VOWEL_FORMANTS_HZ, strict=True):
        out += resonator_pair(row, (f1 * scale, 90.0, 1.0), (f2 * scale, 150.0, 0.5), sr)
    return out


def crowd_cheering(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A crowd yelling "yeah" (vowel-shaped noise) with clapping and whooping glides."""
    noise = white(rng, n)
    yell = (unit(resonator(noise, lerp(650.0, 800.0, p.timbre_u), 250.0, sr))
            + 0.8 * unit(resonator(noise, lerp(1100.0, 1400.0, p.timbre_u), 350.0, sr)))
    claps = unit(band(noise_bursts(sparse_impulses(n, sr, 120.0, rng), sr, 0.005, rng),
                      800.0, 4000.0, sr))
    woos = []
    for _ in range(5):
        m = samples(rng.uniform(0.5, 1.1), sr)
        voiced = tone(rng.uniform(280.0, 520.0) * glide((1.0, 1.4, 1.5, 1.2), m), m, sr,
                      rolloff(12, 0.9))
        woos.append(unit(resonator(voiced, 900.0, 500.0, sr)) * gate(m, sr, 0.1, 0.3))
    duration = n / sr
    onsets = np.sort(rng.uniform(0.0, duration, int(duration * rng.uniform(0.8, 1.6)) + 1))
    cheers = add_events(silence(n), woos, onsets, sr, rng.uniform(0.4, 1.0, len(onsets)))
    swell = db_range(np.maximum(wobble(n, sr, 0.3, rng), edge_lift(n, sr)), 5.0)
    return swell * (yell + 0.5 * claps) + 0.8 * cheers


def applause(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Clapping: a few people clapping in their own rhythms, or a dense audience."""
    duration = n / sr
    if p.variant == "small group":
        impulses = silence(n)
        for _ in range(int(rng.integers(3, 7))):
            onsets = regular_onsets(duration, 1.0 / rng.uniform(3.0, 5.0), 0.15, rng, 0.01)
            np.add.at(impulses, (onsets * sr).astype(np.int64),
                      rng.lognormal(0.0, 0.3, len(onsets)))
    else:
        impulses = sparse_impulses(n, sr, rng.uniform(120.0, 300.0), rng, 0.5)
    claps = noise_bursts(impulses, sr, 0.005, rng)
    body = lerp(900.0, 1600.0, p.timbre_u)
    return unit(band(claps, 0.6 * body, 3.0 * body, sr)) + 0.4 * unit(
        resonator(claps, body, 0.5 * body, sr))


def _step(surface: str, heel_hz: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One footstep: a heel thud plus a hard click, or a granular crunch on gravel."""
    m = samples(rng.uniform(0.12, 0.2), sr)
    thud = unit(resonator(white(rng, m) * decay(m, sr, 0.01), heel_hz, 50.0, sr))
    if surface == "gravel":
        crunch = noise_bursts(sparse_impulses(m, sr, 700.0, rng), sr, 0.0015, rng)
        return unit(band(crunch, 1200.0, 7000.0, sr) * gate(m, sr, 0.01, 0.08)) + 0.5 * thud
    click = unit(band(white(rng, m) * decay(m, sr, 0.003), 1500.0, 6000.0, sr))
    return 0.8 * click * decay(m, sr, 0.01) + thud * decay(m, sr, 0.03)


def footsteps(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Steps on a hard floor or on gravel; slow is walking, fast is running."""
    period = scaled(p.fast, (0.5, 0.7), (0.28, 0.38), p.speed_u)
    heel = lerp(90.0, 200.0, p.timbre_u)
    templates = [_step(p.variant, heel, sr, rng) for _ in range(4)]
    onsets = regular_onsets(n / sr, period, 0.06, rng, 0.15)
    gains = np.where(np.arange(len(onsets)) % 2 == 0, 1.0, rng.uniform(0.7, 0.9))
    return add_events(silence(n), templates, onsets, sr, gains)


def human_whistling(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A person whistling a pentatonic tune in phrases, with glides, vibrato and breaths."""
    hop = control_hop(sr)
    control_hz = sr / hop
    steps = -(-n // hop)
    base = scaled(p.high, (650.0, 950.0), (1100.0, 1500.0), p.pitch_u)
    note_s = scaled(p.fast, (0.3, 0.55), (0.12, 0.22), p.speed_u)
    freq, amp = np.zeros(steps), np.zeros(steps)
    t, end = rng.uniform(0.02, 0.1), n / sr - rng.uniform(0.05, 0.12)
    while t < end:
        for _ in range(int(rng.integers(4, 10))):
            stop = min(t + note_s * rng.uniform(0.7, 1.4), end)
            span = slice(int(t * control_hz), int(stop * control_hz))
            freq[span] = base * 2 ** (rng.choice(PENTATONIC_SEMITONES) / 12)
            amp[span], t = 1.0, stop
        t = t + rng.uniform(0.25, 0.6) if t < end - 1.0 else t
    filled = np.maximum.accumulate(np.where(freq > 0, np.arange(steps), 0))
    freq = np.where(freq[filled] > 0, freq[filled], base)
    freq = one_pole(freq, 0.02, int(control_hz)) * (
        1 + 0.012 * np.sin(2 * np.pi * 5.5 * np.arange(steps) / control_hz))
    envelope = hold(one_pole(amp, 0.015, int(control_hz)), n, hop)
    breath = 0.03 * unit(band(white(rng, n), 1000.0, 4000.0, sr))
    return (tone(hold(freq, n, hop), n, sr, (1.0, 0.04)) + breath) * envelope


def rain(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Rain: a hiss of many drops plus audible single drops; heavy rain drums on a roof."""
    heavy = p.variant == "heavy"
    hiss = unit(band(white(rng, n), 500.0 if heavy else 1800.0, 7000.0, sr))
    rate = rng.uniform(350.0, 700.0) if heavy else rng.uniform(40.0, 100.0)
    drops = unit(band(noise_bursts(sparse_impulses(n, sr, rate, rng, 0.8), sr, 0.002, rng),
                      1500.0, 6500.0, sr))
    out = (0.6 if heavy else 0.25) * hiss + drops
    if heavy:
        out += 0.3 * brown(rng, n)
    return out * db_range(wobble(n, sr, 0.15, rng), 2.5)


def _roll(length_s: float, near: bool, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One thunder roll: crackling low rumble decaying over seconds, a sharp crack if near."""
    m = samples(length_s, sr)
    rumble = unit(band(brown(rng, m, 0.99), 0.0, 300.0, sr))
    roll = rumble * db_range(wobble(m, sr, 7.0, rng), 10.0)
    roll *= decay(m, sr, length_s / 3.0, attack_s=rng.uniform(0.05, 0.3))
    if near:
        roll += 0.6 * unit(band(white(rng, m), 1500.0, 7000.0, sr)) * decay(m, sr, 0.06)
    return roll


def thunder(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Rolls of thunder over a constant far rumble; a "storm" adds rain."""
    duration = n / sr
    length_s = min(duration, rng.uniform(3.5, 6.0))
    templates = [_roll(length_s * rng.uniform(0.8, 1.0), p.near, sr, rng) for _ in range(2)]
    onsets = spread_groups(duration, 1.0, (1.5, 5.0), rng)
    out = add_events(silence(n), templates, onsets, sr, rng.uniform(0.6, 1.0, len(onsets)))
    out += 0.15 * unit(band(brown(rng, n), 0.0, 200.0, sr))
    if p.variant == "storm":
        out += 0.15 * unit(band(white(rng, n), 1000.0, 7000.0, sr))
    return out


def wind_gusts(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Wind: band noise swelling in gusts, hissing and whistling more when it blows harder."""
    strong = p.variant == "strong"
    gust = np.maximum(wobble(n, sr, lerp(0.15, 0.45, p.timbre_u), rng), edge_lift(n, sr))
    base = white(rng, n)
    body = unit(band(base, 60.0, 900.0 if strong else 500.0, sr))
    hiss = unit(band(base, 900.0, 3500.0, sr))
    whistle = unit(resonator(base, lerp(450.0, 1100.0, p.timbre_u), 30.0, sr))
    level = db_range(gust, 9.0 if strong else 6.0)
    return level * (body + (0.5 if strong else 0.2) * gust * hiss + 0.35 * gust**2 * whistle)


def _drip(f0: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One drop: a fast upward "plink" chirp with a tiny click."""
    m = samples(0.09, sr)
    chirp = tone(f0 * glide((1.0, 1.7, 2.0, 2.1), m), m, sr, (1.0, 0.1))
    return chirp * decay(m, sr, rng.uniform(0.015, 0.03), 0.001) + 0.3 * white(
        rng, m) * decay(m, sr, 0.001)


def water_dripping(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Water drops falling one by one; pitch sets the plink, speed the drip rate."""
    f0 = scaled(p.high, (450.0, 800.0), (1000.0, 1700.0), p.pitch_u)
    period = scaled(p.fast, (0.8, 1.5), (0.22, 0.45), p.speed_u)
    templates = [_drip(f0 * rng.uniform(0.85, 1.15), sr, rng) for _ in range(4)]
    onsets = regular_onsets(n / sr, period, 0.2, rng, 0.09)
    return add_events(silence(n), templates, onsets, sr, rng.uniform(0.6, 1.0, len(onsets)))


def running_tap(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A tap running into a sink: hiss, gurgling bubbles and the basin's hollow resonance."""
    full = p.variant == "full flow"
    base = white(rng, n)
    hiss = unit(band(base, 400.0 if full else 1500.0, 7000.0, sr))
    impulses = sparse_impulses(n, sr, 400.0 if full else 150.0, rng)
    gurgle = sum(resonator(impulses, f, 0.15 * f, sr) for f in rng.uniform(500.0, 2500.0, 2))
    basin = unit(resonator(base, lerp(180.0, 320.0, p.timbre_u), 40.0, sr))
    out = (1.0 if full else 0.5) * hiss + 0.6 * unit(gurgle) + (0.4 if full else 0.1) * basin
    return out * db_range(wobble(n, sr, 0.5, rng), 1.5)


def _bubble(sr: int, rng: np.random.Generator) -> np.ndarray:
    """One bubble: a short decaying sine that rises in pitch."""
    m = samples(rng.uniform(0.03, 0.07), sr)
    pitch = rng.uniform(300.0, 1400.0) * glide((1.0, rng.uniform(1.3, 1.8)), m)
    return tone(pitch, m, sr) * decay(m, sr, rng.uniform(0.008, 0.02), 0.001)


def stream(p: ClipParams, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A babbling brook: many bubbles over a rushing bed; fast is a rushing stream."""
    duration = n / sr
    rate = scaled(p.fast, (15.0, 30.0), (45.0, 80.0), p.speed_u)
    onsets = np.sort(rng.uniform(0.0, duration, int(rate * duration) + 1))
    templates = [_bubble(sr, rng) for _ in range(8)]
    bubbles = add_events(silence(n), templates, onsets, sr, rng.uniform(0.3, 1.0, len(onsets)))
    bed = unit(band(white(rng, n), 200.0, 4000.0 if p.fast else 2500.0, sr))
    return unit(bubbles) + (0.6 if p.fast else 0.3) * bed


NATURE_SOUNDS = (
    SoundSpec("dog_bark", dog_bark, pitch=True, count=(2, 5)),
    SoundSpec("cat_meow", cat_meow, pitch=True, count=(1, 3)),
    SoundSpec("birdsong", birdsong, pitch=True, speed=True),
    SoundSpec("frog_croak", frog_croak, pitch=True, speed=True),
    SoundSpec("cricket_chirp", cricket_chirp, pitch=True, speed=True),
    SoundSpec("baby_cry", baby_cry, pitch=True, speed=True),
    SoundSpec("speech_babble", speech_babble, pitch=True,
              variants=("one voice", "several voices")),
    SoundSpec("crowd_cheering", crowd_cheering),
    SoundSpec("applause", applause, variants=("small group", "large audience")),
    SoundSpec("footsteps", footsteps, speed=True, variants=("hard floor", "gravel")),
    SoundSpec("human_whistling", human_whistling, pitch=True, speed=True),
    SoundSpec("rain", rain, variants=("light", "heavy")),
    SoundSpec("thunder", thunder, variants=("thunder", "storm")),
    SoundSpec("wind_gusts", wind_gusts, variants=("gentle", "strong")),
    SoundSpec("water_dripping", water_dripping, pitch=True, speed=True),
    SoundSpec("running_tap", running_tap, variants=("full flow", "thin trickle")),
    SoundSpec("stream", stream, speed=True),
)
