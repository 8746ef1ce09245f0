"""embedkit's concrete tasks, by mteb task type."""

from mteb_tasks.tasks.bitext_mining import FloresIndic, KuralBitextMining, NtrexIndic, TatoebaIndic
from mteb_tasks.tasks.bli import MuseBLI, OpenTamilBLI
from mteb_tasks.tasks.sts import MahaSTS, SinhalaTamilShortSTS, STSbEnglish, STSbIndic, WordSimIndic

__all__ = [
    "FloresIndic",
    "KuralBitextMining",
    "MahaSTS",
    "MuseBLI",
    "NtrexIndic",
    "OpenTamilBLI",
    "STSbEnglish",
    "STSbIndic",
    "SinhalaTamilShortSTS",
    "TatoebaIndic",
    "WordSimIndic",
]
