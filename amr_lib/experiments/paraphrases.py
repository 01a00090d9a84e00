"""Free-text queries for ESC-50's classes that the caption templates never use.

The real-sounds profile captions its clips from a fixed table of phrasings per class
(:data:`amr_lib.corpora.esc50.CAPTION_PHRASINGS`), so its model has only ever read those
sentences. :data:`PARAPHRASES` says each class's sound in other words, avoiding the
template's head noun and verb where English allows ("a canine yapping" for ``dog``), to
measure what the pretrained text encoder carries over to wording the model never saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from amr_lib.lighthouse_jsonl import MomentAnnotation

# One paraphrase per ESC-50 class, in ESC-50's target order.
PARAPHRASES: dict[str, str] = {
    "dog": "a canine yapping",
    "rooster": "a male chicken greets the dawn",
    "pig": "a hog snuffles and squeals in its sty",
    "cow": "a bovine lowing in the pasture",
    "frog": "an amphibian ribbiting by the water",
    "cat": "a feline calling out",
    "hen": "poultry cackling in the farmyard",
    "insects": "a swarm humming in the air",
    "sheep": "a woolly farm animal calling out",
    "crow": "a big black bird squawking harshly",
    "rain": "a downpour drumming on the roof",
    "sea_waves": "surf breaking at the coast",
    "crackling_fire": "burning logs snapping in a hearth",
    "crickets": "a steady night-time trilling in the grass",
    "chirping_birds": "songbirds twittering",
    "water_drops": "a leaky tap plinking",
    "wind": "a gale howling",
    "pouring_water": "liquid filling a glass from a jug",
    "toilet_flush": "a lavatory cistern emptying",
    "thunderstorm": "a storm booming in the distance",
    "crying_baby": "an infant sobbing and wailing",
    "sneezing": "someone going achoo",
    "clapping": "an audience applauding",
    "breathing": "someone inhaling and exhaling heavily",
    "coughing": "someone clearing a sore throat",
    "footsteps": "someone walking across a room",
    "laughing": "someone giggling and chuckling",
    "brushing_teeth": "a toothbrush scrubbing",
    "snoring": "a sleeper rasping through the night",
    "drinking_sipping": "someone gulping a beverage",
    "door_wood_knock": "rapping on a wooden entrance",
    "mouse_click": "a computer pointer button tapping",
    "keyboard_typing": "fingers tapping away at keys",
    "door_wood_creaks": "old hinges squeaking",
    "can_opening": "the pop and fizz of a drink tab",
    "washing_machine": "laundry tumbling in an appliance",
    "vacuum_cleaner": "a hoover humming over carpet",
    "clock_alarm": "a wake-up buzzer beeping",
    "clock_tick": "a timepiece tocking",
    "glass_breaking": "a window shattering",
    "helicopter": "a chopper hovering overhead",
    "chainsaw": "a motorised saw buzzing through timber",
    "siren": "an ambulance approaching",
    "car_horn": "a motorist hooting",
    "engine": "a motor idling",
    "train": "a locomotive on the railway",
    "church_bells": "a chapel carillon pealing",
    "airplane": "a jet passing overhead",
    "fireworks": "pyrotechnics bursting in the sky",
    "hand_saw": "a carpenter cutting timber by hand",
}


def paraphrase_annotations(annotations: Sequence[MomentAnnotation],
                           classes: Mapping[str, str]) -> list[MomentAnnotation]:
    """``annotations`` with each query replaced by its class's paraphrase (``classes``:
    qid -> ESC-50 class name); qids, recordings and windows stay the same."""
    unknown = sorted({classes[a.qid] for a in annotations} - set(PARAPHRASES))
    if unknown:
        raise ValueError(f"no paraphrase for class(es) {unknown}")
    return [replace(a, query=PARAPHRASES[classes[a.qid]]) for a in annotations]
