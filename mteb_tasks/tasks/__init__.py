"""embedkit's concrete tasks, by mteb task type."""

from mteb_tasks.tasks.bitext_mining import (
    FloresIndic,
    FloresPooledEnglish,
    FloresPooledEnglishRank,
    FloresSinhalaTamil,
    KuralBitextMining,
    NtrexIndic,
    TatoebaIndic,
)
from mteb_tasks.tasks.bli import MuseBLI, NlpcLexiconBLI, OpenTamilBLI
from mteb_tasks.tasks.sts import MahaSTS, SinhalaTamilShortSTS, STSbEnglish, STSbIndic, WordSimIndic

__all__ = [
    "FloresIndic",
    "FloresPooledEnglish",
    "FloresPooledEnglishRank",
    "FloresSinhalaTamil",
    "KuralBitextMining",
    "MahaSTS",
    "MuseBLI",
    "NlpcLexiconBLI",
    "NtrexIndic",
    "OpenTamilBLI",
    "STSbEnglish",
    "STSbIndic",
    "SinhalaTamilShortSTS",
    "TatoebaIndic",
    "WordSimIndic",
]
