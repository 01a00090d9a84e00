"""Five captions per synthetic clip, written from the parameters that made its audio.

Each class has a few sentence templates with slots: ``{n}``/``{times}``/``{s}`` come from
the clip's count ("three knocks", "twice"), ``{pitch}``, ``{speed}``/``{pace}``,
``{near}``/``{where}`` and ``{dur}`` from its pitch, speed, distance and length, and
class slots (a dog's size, a siren's kind ...) from its variant. Synonyms are drawn per
caption, so the five captions differ, and no caption states anything the audio does not
do. ``{again}`` (repetition) is only used for clips long enough to repeat their bouts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from amr_lib.corpora.base import CAPTIONS_PER_CLIP
from amr_lib.corpora.synthetic.caption_words import CLASS_WORDS, SlotWords
from amr_lib.corpora.synthetic.params import ClipParams

MIN_WORDS, MAX_WORDS = 6, 20
REPEAT_MIN_S = 12          # a span this long holds at least two bouts of any class
SHORT_S, LONG_S = 8, 20    # "briefly" below SHORT_S, "for a long time" from LONG_S
MAX_ATTEMPTS = 400         # draws before giving up on five distinct captions
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six")
TIMES_WORDS = ("never", "once", "twice", "three times", "four times", "five times", "six times")


def _duration_words(p: ClipParams) -> tuple[str, ...]:
    if p.active_s < SHORT_S:
        return ("briefly", "for a few seconds", "for a short moment")
    if p.active_s < LONG_S:
        return ("for a while", "for some time", "for several seconds")
    return ("for a long time", "for a long while", "on and on")


COMMON_SLOTS: dict[str, SlotWords] = {
    "near": lambda p: ("loud", "nearby", "close") if p.near else ("distant", "faint",
                                                                   "far-off"),
    "where": lambda p: (("close by", "nearby", "up close", "right next to the microphone")
                        if p.near else ("in the distance", "far away", "from far off",
                                        "somewhere far away")),
    "pitch": lambda p: ("high-pitched", "shrill", "high") if p.high else ("low-pitched", "deep",
                                                                           "low"),
    "speed": lambda p: (("quickly", "rapidly", "at a fast pace") if p.fast
                        else ("slowly", "at a slow pace", "at a leisurely pace")),
    "pace": lambda p: ("fast", "rapid", "quick") if p.fast else ("slow", "leisurely", "lazy"),
    "dur": _duration_words,
    "again": lambda p: ("again and again", "repeatedly", "over and over", "several times over"),
    "n": lambda p: (NUMBER_WORDS[p.count],),
    "times": lambda p: (TIMES_WORDS[p.count],),
    "s": lambda p: ("" if p.count == 1 else "s",),
}


@dataclass(frozen=True)
class CaptionWords:
    """A class's templates and its own slots (``name -> words for these parameters``)."""

    templates: tuple[str, ...]
    slots: dict[str, SlotWords] = field(default_factory=dict)


def caption_words(sound: str) -> CaptionWords:
    """The templates and slots of one class (``KeyError`` naming it when missing)."""
    try:
        templates, slots = CLASS_WORDS[sound]
    except KeyError:
        raise KeyError(f"no caption templates for synthetic sound class {sound!r}") from None
    return CaptionWords(templates, slots)


def slot_names(template: str) -> list[str]:
    """The slot names of a template, in order of first appearance."""
    return list(dict.fromkeys(re.findall(r"\{(\w+)\}", template)))


def fill(template: str, params: ClipParams, rng: np.random.Generator,
         slots: dict[str, SlotWords]) -> str:
    """One sentence from ``template``: each slot gets one of its words for ``params``."""
    values = {}
    for name in slot_names(template):
        options = slots[name](params)
        values[name] = options[int(rng.integers(len(options)))]
    text = " ".join(template.format(**values).split()).replace(" ,", ",")
    return text[0].upper() + text[1:] + "."


def usable_templates(params: ClipParams) -> list[str]:
    """The class's templates that are true for this clip (no repetition claims when short)."""
    words = caption_words(params.sound)
    return [t for t in words.templates
            if params.active_s >= REPEAT_MIN_S or "{again}" not in t]


def make_captions(params: ClipParams, rng: np.random.Generator) -> tuple[str, ...]:
    """Five distinct captions of ``MIN_WORDS``..``MAX_WORDS`` words describing ``params``."""
    slots = {**COMMON_SLOTS, **caption_words(params.sound).slots}
    templates = usable_templates(params)
    order = rng.permutation(len(templates))
    chosen: list[str] = []
    for attempt in range(MAX_ATTEMPTS):
        text = fill(templates[order[attempt % len(templates)]], params, rng, slots)
        if text not in chosen and MIN_WORDS <= len(text.split()) <= MAX_WORDS:
            chosen.append(text)
            if len(chosen) == CAPTIONS_PER_CLIP:
                return tuple(chosen)
    raise RuntimeError(f"could not write {CAPTIONS_PER_CLIP} distinct captions for {params}")
