import numpy as np
import pytest
from fake_corpora import NoiseBackgrounds, ToneClips

from amr_lib.audio import mean_power
from amr_lib.simulation.algorithm import EventRecipe, MixtureRecipe
from amr_lib.simulation.mixing import MixtureRenderer

RATE = 8_000


def recipe(gain_db=2.0, background_gain_db=-20.0):
    events = (EventRecipe("0", "a", "q", 10.0, 1.0, 3.0, gain_db),
              EventRecipe("1", "b", "q", 40.25, 0.0, 2.0, -4.0))
    return MixtureRecipe("walk_0.0_60.0", "walk", 0.0, 60.0, background_gain_db, events)


def renderer(clip_rate=RATE, background_rate=RATE):
    clips = ToneClips({"a": 5.0, "b": 2.0}, sample_rate=clip_rate)
    backgrounds = NoiseBackgrounds({"walk": 90.0}, sample_rate=background_rate)
    return MixtureRenderer(clips, backgrounds, RATE), clips, backgrounds


def test_render_follows_the_mixing_rule():
    render, clips, backgrounds = renderer()
    mixture = render.render(recipe())
    # re-derive the mixture by hand from the rule in the module docstring
    background = backgrounds.load("walk", 0.0, 60.0).astype(np.float64)
    expected = background * 10 ** (-20 / 20)
    reference = np.sqrt(mean_power(background))
    a = clips.load("a")[RATE:4 * RATE]
    b = clips.load("b")
    expected[10 * RATE:13 * RATE] += a / np.abs(a).max() * 10 ** (2 / 20) * reference
    onset = int(40.25 * RATE)
    expected[onset:onset + 2 * RATE] += b / np.abs(b).max() * 10 ** (-4 / 20) * reference
    expected /= np.abs(expected).max()
    assert mixture.dtype == np.float32 and mixture.shape == (60 * RATE,)
    np.testing.assert_allclose(mixture, expected, atol=1e-6)
    assert np.abs(mixture).max() == 1.0


def test_render_is_bit_identical_and_the_event_is_louder_than_its_surroundings():
    render, _, _ = renderer()
    first = render.render(recipe())
    again, _, _ = renderer()
    assert np.array_equal(first, again.render(recipe()))
    inside = mean_power(first[10 * RATE:13 * RATE])
    outside = mean_power(first[20 * RATE:30 * RATE])
    # event at +2 dB over a background turned down by 20 dB: about 22 dB louder
    assert 19 < 10 * np.log10(inside / outside) < 25


def test_corpora_at_other_rates_are_resampled():
    render, _, _ = renderer(clip_rate=16_000, background_rate=22_050)
    mixture = render.render(recipe())
    assert mixture.shape == (60 * RATE,)
    reference = renderer()[0].render(recipe())
    # inside the event the tone dominates (about 22 dB over the background): the resampled
    # clip lands on the same samples; outside, the noise is another draw at another rate
    event = slice(10 * RATE, 13 * RATE)
    assert np.corrcoef(mixture[event], reference[event])[0, 1] > 0.95
    assert abs(mean_power(mixture[20 * RATE:]) / mean_power(reference[20 * RATE:]) - 1) < 0.2


def test_background_gain_changes_the_foreground_to_background_ratio():
    render, _, _ = renderer()
    quiet = render.render(recipe(background_gain_db=-25.0))
    loud = render.render(recipe(background_gain_db=-15.0))

    def ratio(m):
        return mean_power(m[10 * RATE:13 * RATE]) / mean_power(m[20 * RATE:30 * RATE])

    assert 10 * np.log10(ratio(quiet) / ratio(loud)) > 8


def test_event_snr_follows_the_gains_and_matches_a_hand_computation():
    render, clips, backgrounds = renderer()
    levels = render.event_snr_db(recipe())
    background = backgrounds.load("walk", 0.0, 60.0).astype(np.float64)
    reference = np.sqrt(mean_power(background))
    a = clips.load("a")[RATE:4 * RATE]
    event = a / np.abs(a).max() * 10 ** (2 / 20) * reference
    under = background[10 * RATE:13 * RATE] * 10 ** (-20 / 20)
    assert levels["0"] == pytest.approx(10 * np.log10(mean_power(event) / mean_power(under)))
    # +6 dB on the event and -10 dB on the background: +16 dB for the event, +10 for the other
    louder = render.event_snr_db(recipe(gain_db=8.0, background_gain_db=-30.0))
    assert louder["0"] - levels["0"] == pytest.approx(16.0)
    assert louder["1"] - levels["1"] == pytest.approx(10.0)
