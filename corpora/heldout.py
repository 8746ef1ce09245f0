"""Held-out split rules of data that is both trained on and tested on. A corpus build (`muse_split`,
`kural_part`, `exclude_muse_test`) and the eval task that scores the held-out part read
the same rule from here, so training never sees a test item.

- MUSE dictionaries: distinct source words 0-5000 in file order are the train split, 5000-6500 the test
  split (the MUSE convention: the files are sorted by source-word frequency).
- open-tamil's English-Tamil dictionary: every 40th distinct English word is a test query.
- NLPC's si/ta-en dictionaries: every 16th distinct Sinhala / Tamil word is a test query.
- The Thirukkural: every couplet of chapters 5, 10, ..., 130 (26 chapters, 260 couplets) is test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corpora.readers import Kural


@dataclass(frozen=True)
class RankRange:
    """Distinct source words number `start` to `stop - 1` in file order (`stop` None: to the end)."""

    start: int
    stop: int | None

    def contains(self, rank: int) -> bool:
        return self.start <= rank and (self.stop is None or rank < self.stop)

    def select(self, sources: list[str]) -> list[str]:
        """The words of the range; a list too short for it is an error (the split would be silently
        smaller than the one published)."""
        if self.stop is not None and len(sources) < self.stop:
            raise ValueError(
                f"the dictionary has {len(sources)} distinct source words, fewer than {self.stop}"
            )
        return sources[self.start : self.stop]


@dataclass(frozen=True)
class EveryNth:
    """Every n-th distinct source word in file order (for dictionaries in alphabetical order)."""

    n: int
    offset: int = 0

    def contains(self, rank: int) -> bool:
        return rank >= self.offset and (rank - self.offset) % self.n == 0

    def select(self, sources: list[str]) -> list[str]:
        return sources[self.offset :: self.n]


MUSE_SPLITS = {"all": RankRange(0, None), "train": RankRange(0, 5000), "test": RankRange(5000, 6500)}
MUSE_TEST = MUSE_SPLITS["test"]
OPEN_TAMIL_TEST = EveryNth(40)
NLPC_LEXICON_TEST = EveryNth(16)

KURAL_TEST_CHAPTER_EVERY = 5


def kural_is_test(kural: Kural) -> bool:
    """The held-out part of the Thirukkural: every couplet of chapters 5, 10, ..., 130 (26 chapters, 260
    couplets). Whole chapters are held out because the ten couplets of a chapter share one theme; a demo may
    train on the other 1,070 couplets."""
    return kural.chapter % KURAL_TEST_CHAPTER_EVERY == 0


def bli_split(pairs: list[tuple[str, str]], test: RankRange | EveryNth) -> dict[str, list[str]]:
    """Test source word -> its gold translations (all of them in the dictionary), in file order."""
    sources = list(dict.fromkeys(source for source, _ in pairs))
    chosen = dict.fromkeys(test.select(sources))
    gold: dict[str, list[str]] = {word: [] for word in chosen}
    for source, target in pairs:
        if source in gold and target not in gold[source]:
            gold[source].append(target)
    return gold
