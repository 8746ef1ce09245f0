"""Continual masked-language-model pre-training (MLM, TLM, LEM): the parts of the `mlm` stage type.

masking.lem_plan(pieces, spans, 0.15, {"ENT": 1.0, "VERB": 0.5, "NOUN": 0.5}, rng)  # one text's masks
collator.MaskedLMCollator(tokenizer, masking="lem", pairs=True)   # rows -> masked ids, labels, counts
head.MaskedLMHead / head.MaskedLMLoss                             # tied decoder, masked positions only
stats.MaskingStats                                                # masking_stats.json
pairs.pair_rows(tagged_rows, seed)                                # TLM rows from aligned tagged rows
"""

from trainers.mlm.collator import MaskedLMCollator
from trainers.mlm.head import MaskedLMHead, MaskedLMLoss, build_head
from trainers.mlm.masking import Piece, lem_plan, random_plan, replace_tokens
from trainers.mlm.pairs import pair_rows
from trainers.mlm.stats import MaskingStats

__all__ = [
    "MaskedLMCollator",
    "MaskedLMHead",
    "MaskedLMLoss",
    "MaskingStats",
    "Piece",
    "build_head",
    "lem_plan",
    "pair_rows",
    "random_plan",
    "replace_tokens",
]
