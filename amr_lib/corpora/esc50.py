"""ESC-50 as a clip corpus: real five-second clips, captioned from their class names.

Layout (the original ESC-50 repository's; here the clips are 16 kHz mono FLAC)::

    root/meta/esc50.csv   columns filename,fold,target,category,esc10,src_file,take
    root/audio/<filename>

ESC-50 has labels, not captions. Each of the 50 classes gets several natural phrasings of the
sound as heard (:data:`CAPTION_PHRASINGS`); a clip's five captions are five distinct phrasings
of its class, chosen and ordered by a hash of its file name, so they are the same on every
machine and differ between clips of one class. The class label itself stays available through
:meth:`ESC50ClipCorpus.category` (zero-shot sound event detection scores class labels).

Split rule, by fold: folds 1-2 -> "train", fold 3 -> "valid", fold 4 -> "test", and fold 5
(withheld from the shared data, used when present) -> "test" too. ESC-50 puts all clips cut
from one source recording for one class into one fold, so a fold split never leaks a recording
across splits within a class. (In folds 1-4, two Freesound sources, 131943 and 134049, each lend
clips to two different classes, clock_tick/clock_alarm and hen/rooster, in different folds.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from amr_lib.audio import SAMPLE_RATE
from amr_lib.corpora.base import CAPTIONS_PER_CLIP, ClipInfo, CorpusError
from amr_lib.corpora.files import (
    FileClipCorpus,
    check_sample_rate,
    file_digest,
    read_csv_records,
)

META_CSV = Path("meta") / "esc50.csv"
AUDIO_FOLDER = "audio"
FILE_COLUMN, FOLD_COLUMN, CATEGORY_COLUMN = "filename", "fold", "category"
FOLD_SPLITS = {1: "train", 2: "train", 3: "valid", 4: "test", 5: "test"}

# Class name -> phrasings of its sound, in ESC-50's target order (dog is target 0, hand_saw 49).
CAPTION_PHRASINGS: dict[str, tuple[str, ...]] = {
    "dog": ("a dog barks", "the sound of a dog barking", "a dog is barking loudly",
            "barking from a dog nearby", "a dog barks several times",
            "a dog barks and growls", "a small dog yaps and barks"),
    "rooster": ("a rooster crows", "a rooster crowing loudly in the morning",
                "the call of a rooster", "a cockerel crows nearby",
                "a rooster lets out a long crow", "a rooster crows on a farm"),
    "pig": ("a pig grunts", "a pig is grunting and snorting", "pigs oinking and snuffling",
            "the grunting of a pig", "a pig squeals loudly", "snorting sounds from a pig nearby",
            "a pig oinks several times"),
    "cow": ("a cow moos", "a cow mooing loudly", "the low moo of a cow",
            "cattle lowing in a field", "a cow moos several times",
            "a cow lets out a long moo", "mooing from a cow nearby"),
    "frog": ("a frog croaks", "frogs are croaking", "the croaking of a frog at night",
             "a frog is croaking repeatedly", "a chorus of croaking frogs",
             "a frog croaks near a pond", "a frog ribbits loudly"),
    "cat": ("a cat meows", "a cat is meowing", "the meow of a cat", "a cat mewls plaintively",
            "a cat meows several times", "a cat hisses and meows", "a kitten mews nearby"),
    "hen": ("a hen clucks", "chickens are clucking", "a hen is clucking softly",
            "the clucking of hens in a coop", "a chicken clucks and squawks",
            "hens cluck and cackle", "a hen cackles loudly"),
    "insects": ("insects are buzzing", "the buzzing of insects", "a fly buzzes around",
                "flying insects are buzzing nearby", "a bee buzzes close by",
                "a mosquito whines near the ear", "the drone of buzzing insects"),
    "sheep": ("a sheep bleats", "sheep are bleating", "the bleating of a sheep",
              "a lamb is bleating", "a sheep baas several times", "sheep baa in a field",
              "a sheep lets out a long bleat"),
    "crow": ("a crow caws", "crows are cawing", "the caw of a crow", "a crow is cawing loudly",
             "a crow caws several times", "harsh cawing from crows overhead",
             "a crow caws from a tree"),
    "rain": ("rain is falling", "the sound of rain falling", "rain is pouring down steadily",
             "raindrops patter on a surface", "heavy rain falls outside",
             "steady rain patters on the ground", "light rain falls on a roof"),
    "sea_waves": ("waves crash on the shore", "the sound of sea waves",
                  "ocean waves are breaking on a beach", "sea waves roll in and wash out",
                  "surf crashes against the shore", "waves of the sea lap at the shore",
                  "the roar of ocean waves"),
    "crackling_fire": ("a fire crackles", "the crackling of a fire",
                       "wood is crackling in a fire", "a campfire crackles and pops",
                       "logs crackle and pop in a fireplace", "a crackling fire burns steadily",
                       "flames crackle as wood burns"),
    "crickets": ("crickets are chirping", "crickets chirping at night",
                 "the chirping of crickets", "a cricket is chirping steadily",
                 "a chorus of crickets chirps", "crickets chirp in the grass",
                 "the steady trill of crickets"),
    "chirping_birds": ("small birds chirp", "birds are chirping", "the sound of birds chirping",
                       "small birds chirp and tweet", "birds sing and chirp in the trees",
                       "birdsong and chirping outdoors", "several birds are tweeting"),
    "water_drops": ("water is dripping", "drops of water are falling",
                    "the sound of water dripping", "water drops fall into a sink",
                    "slow drips of water", "water drips steadily", "droplets of water plop down"),
    "wind": ("the wind blows", "the wind is blowing hard", "the sound of strong wind",
             "gusts of wind howl", "wind whooshes past the microphone",
             "a strong wind blows outside", "the wind rushes and gusts"),
    "pouring_water": ("water is being poured", "someone pours water into a glass",
                      "the sound of water being poured", "water pouring into a container",
                      "water is poured from a jug", "water pours steadily into a cup",
                      "a person pours some water"),
    "toilet_flush": ("a toilet flushes", "the flush of a toilet", "someone flushes a toilet",
                     "a toilet is flushed and refills", "water rushes as a toilet flushes",
                     "the sound of a toilet flushing", "a toilet flushing loudly"),
    "thunderstorm": ("thunder rumbles loudly", "a thunderstorm with rolling thunder",
                     "thunder rumbles during a storm", "a loud clap of thunder",
                     "thunder roars as a storm passes", "rain and thunder in a storm",
                     "distant thunder rolls"),
    "crying_baby": ("a baby cries", "a baby is crying", "the sound of a crying baby",
                    "an infant wails loudly", "a baby cries and sobs",
                    "a young baby crying nearby", "an infant is crying"),
    "sneezing": ("a person sneezes", "someone sneezes loudly", "the sound of a sneeze",
                 "a person is sneezing", "someone sneezes several times",
                 "a loud sneeze nearby", "a man sneezes"),
    "clapping": ("people are clapping", "hands are clapping", "the sound of clapping",
                 "a person is clapping their hands", "a round of applause and clapping",
                 "someone claps several times", "clapping hands in rhythm"),
    "breathing": ("a person breathes", "a person breathing heavily", "the sound of breathing",
                  "slow deep breaths in and out", "a person is breathing loudly",
                  "heavy breathing close to the microphone", "someone breathes in and out"),
    "coughing": ("a person coughs", "someone is coughing", "the sound of coughing",
                 "a person coughs several times", "a dry cough nearby", "a man coughs loudly",
                 "someone is coughing repeatedly"),
    "footsteps": ("footsteps on a hard floor", "a person walks with heavy footsteps",
                  "the sound of footsteps", "someone is walking with loud steps",
                  "footsteps approach and fade away", "shoes tap as someone walks",
                  "steps on a wooden floor"),
    "laughing": ("a person laughs", "a person laughing", "the sound of laughter",
                 "people are laughing", "a person laughs loudly", "a woman giggles and laughs",
                 "laughter from a group of people"),
    "brushing_teeth": ("someone brushes their teeth", "a toothbrush scrubbing teeth",
                       "the sound of teeth being brushed", "a person is brushing their teeth",
                       "brushing teeth with a toothbrush", "a toothbrush scrubs back and forth",
                       "someone brushes teeth vigorously"),
    "snoring": ("a person snores", "a person snoring", "the sound of snoring",
                "a sleeping person snores loudly", "snoring while fast asleep",
                "a man is snoring", "loud rhythmic snoring"),
    "drinking_sipping": ("a person drinks", "a person sips a drink", "the sound of sipping",
                         "someone is drinking and swallowing", "a person slurps a drink",
                         "gulping sounds as someone drinks", "sipping liquid from a cup"),
    "door_wood_knock": ("someone knocks on a door", "knocking on a wooden door",
                        "the sound of a door knock", "a person knocks on a door several times",
                        "knuckles rap on a wooden door", "a knock at the door",
                        "repeated knocking on a door"),
    "mouse_click": ("a mouse clicks", "clicking of a computer mouse",
                    "the sound of mouse clicks", "someone is clicking a mouse",
                    "a computer mouse clicks several times", "rapid clicking of a mouse",
                    "the click of a mouse button"),
    "keyboard_typing": ("someone types on a keyboard", "typing on a computer keyboard",
                        "the sound of keyboard typing", "keys clatter as someone types",
                        "a person is typing quickly on a keyboard",
                        "fingers tapping on keyboard keys", "rapid typing on a keyboard"),
    "door_wood_creaks": ("a door creaks", "a wooden door creaking open", "the creak of a door",
                         "a door slowly creaks", "an old door creaks on its hinges",
                         "a creaky door opens and closes", "the hinges of a door squeak"),
    "can_opening": ("a can is opened", "someone opens a can",
                    "the pop and fizz of a can opening", "a soda can is cracked open",
                    "a drink can opens with a hiss", "the sound of a can opening",
                    "a tab pops as a can opens"),
    "washing_machine": ("a washing machine runs", "the hum of a washing machine",
                        "a washing machine is spinning", "a washing machine churns and rumbles",
                        "the sound of a washing machine", "a washing machine tumbles clothes",
                        "a running washing machine"),
    "vacuum_cleaner": ("a vacuum cleaner runs", "a vacuum cleaner is running",
                       "the roar of a vacuum cleaner", "someone is vacuuming the floor",
                       "the sound of a vacuum cleaner", "a vacuum cleaner whirs loudly",
                       "someone vacuums with a loud vacuum"),
    "clock_alarm": ("an alarm clock rings", "an alarm clock is ringing",
                    "the beeping of an alarm clock", "an alarm goes off",
                    "the sound of an alarm clock", "an alarm clock buzzes loudly",
                    "an alarm clock beeps repeatedly"),
    "clock_tick": ("a clock ticks", "a clock is ticking", "the ticking of a clock",
                   "a clock ticks steadily", "the sound of a ticking clock",
                   "a clock goes tick tock", "regular ticking from a clock"),
    "glass_breaking": ("a glass breaks", "a glass shatters", "the sound of breaking glass",
                       "glass is smashed into pieces", "a pane of glass shatters",
                       "a glass breaks on the floor", "glass shatters and tinkles"),
    "helicopter": ("a helicopter flies", "a helicopter flies overhead",
                   "the sound of a helicopter", "helicopter rotors are chopping",
                   "a helicopter is hovering", "the whir of helicopter blades",
                   "a helicopter passes by"),
    "chainsaw": ("a chainsaw runs", "a chainsaw is running", "the sound of a chainsaw",
                 "a chainsaw cuts through wood", "a chainsaw revs loudly",
                 "the buzz of a chainsaw", "someone uses a chainsaw"),
    "siren": ("a siren wails", "a siren is blaring", "the sound of a siren",
              "an emergency siren wails", "a police siren passes by",
              "an ambulance siren sounds", "a siren rises and falls"),
    "car_horn": ("a car horn honks", "a car honks its horn", "the sound of a car horn",
                 "a car horn beeps in traffic", "a driver honks the car horn",
                 "a car horn blares", "a car horn honks several times"),
    "engine": ("an engine runs", "an engine is running", "the sound of an engine",
               "an engine idles", "an engine rumbles steadily", "an engine revs up",
               "the hum of a running engine"),
    "train": ("a train passes", "a train passes by", "the sound of a train",
              "a train rumbles along the tracks", "a train goes by on the rails",
              "a train clatters past", "wheels of a train on the tracks"),
    "church_bells": ("church bells ring", "church bells are ringing",
                     "the sound of church bells", "bells ring from a church tower",
                     "a church bell tolls", "church bells chime", "ringing bells of a church"),
    "airplane": ("an airplane flies", "an airplane flies overhead", "the sound of an airplane",
                 "a jet airplane roars", "an airplane passes overhead",
                 "a plane is flying by", "the roar of an airplane engine"),
    "fireworks": ("fireworks explode loudly", "fireworks are going off", "the sound of fireworks",
                  "fireworks bang and crackle", "loud fireworks explode in the sky",
                  "firecrackers pop and bang", "fireworks are bursting"),
    "hand_saw": ("someone saws wood", "a hand saw cuts wood", "the sound of a hand saw",
                 "sawing through a plank", "a person is sawing wood by hand",
                 "a saw rasps back and forth", "wood being cut with a saw"),
}
CATEGORIES = tuple(CAPTION_PHRASINGS)   # ESC-50's 50 class names, index = the CSV's target


def captions_for(file_name: str, category: str) -> tuple[str, ...]:
    """Five distinct phrasings of ``category`` for the clip ``file_name``.

    Phrasings are ranked by the SHA-256 of ``file_name`` and the phrasing, so the choice and
    order depend only on the clip's name (never on the Python process or platform).
    """
    phrasings = CAPTION_PHRASINGS[category]
    ranked = sorted(phrasings, key=lambda text: _digest(f"{file_name}\n{text}"))
    return tuple(ranked[:CAPTIONS_PER_CLIP])


def phrasings_digest() -> str:
    """SHA-256 of the phrasing table: the captions change exactly when this changes."""
    return _digest(json.dumps(CAPTION_PHRASINGS, sort_keys=True))


class ESC50ClipCorpus(FileClipCorpus):
    """ESC-50 clips (5 s each) with five generated captions, split by fold.

    ``root`` holds ``meta/esc50.csv`` and ``audio/`` (module docstring). Audio is loaded as
    ``(N,)`` float32 mono at ``sample_rate`` Hz.
    """

    name = "esc50"

    def __init__(self, root: str | Path, sample_rate: int = SAMPLE_RATE) -> None:
        self.root = Path(root).expanduser().resolve()
        self.sample_rate = check_sample_rate(sample_rate)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: no such ESC-50 folder")
        self.meta_path = self.root / META_CSV
        if not self.meta_path.is_file():
            raise CorpusError(f"{self.meta_path}: ESC-50 metadata CSV not found "
                              f"(expected {META_CSV} under {self.root})")
        self._infos: list[ClipInfo] = []
        self._paths: dict[str, Path] = {}
        self._categories: dict[str, str] = {}
        self._read_meta()

    def _read_meta(self) -> None:
        audio_folder = self.root / AUDIO_FOLDER
        required = (FILE_COLUMN, FOLD_COLUMN, CATEGORY_COLUMN)
        for line, row in read_csv_records(self.meta_path, required):
            where = f"{self.meta_path}, line {line}"
            file_name, category = row[FILE_COLUMN].strip(), row[CATEGORY_COLUMN].strip()
            if category not in CAPTION_PHRASINGS:
                raise CorpusError(f"{where}: unknown ESC-50 category {category!r}")
            split = _fold_split(row[FOLD_COLUMN], where)
            if not file_name:
                raise CorpusError(f"{where}: empty {FILE_COLUMN}")
            audio_path = audio_folder / file_name
            if not audio_path.is_file():
                raise CorpusError(f"{where}: audio file {audio_path} does not exist")
            clip_id = Path(file_name).stem
            if clip_id in self._paths:
                raise CorpusError(f"{where}: clip id {clip_id!r} appears twice")
            self._infos.append(ClipInfo(clip_id, captions_for(file_name, category), split))
            self._paths[clip_id] = audio_path
            self._categories[clip_id] = category

    def _clip_infos(self) -> Sequence[ClipInfo]:
        return self._infos

    def category(self, clip_id: str) -> str:
        """The clip's ESC-50 class name (e.g. ``"dog"``, ``"sea_waves"``)."""
        self.audio_path(clip_id)
        return self._categories[clip_id]

    def fingerprint(self) -> dict[str, Any]:
        """Name, rate (Hz), the content digest of the metadata CSV and the digest of the
        caption phrasings (not the folder or the mtimes: see
        :func:`~amr_lib.corpora.files.file_digest`)."""
        return {"corpus": self.name, "sample_rate": self.sample_rate,
                "meta": file_digest(self.meta_path), "phrasings": phrasings_digest()}


def _fold_split(value: str, where: str) -> str:
    try:
        fold = int(value.strip())
    except ValueError:
        fold = None
    if fold not in FOLD_SPLITS:
        raise CorpusError(f"{where}: fold must be one of {sorted(FOLD_SPLITS)}, got {value!r}")
    return FOLD_SPLITS[fold]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
