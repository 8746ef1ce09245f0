"""Contrastive lexical specialization (BabelBERT-style): the parts of the `lexical` stage type.

words.encode_words(model, ["water", "पानी"])      # word_iso vectors (no prompt, no special tokens)
loss.SynsetContrastiveLoss(model, temperature=0.07)
sampler.LanguagePairBatchSampler(dataset, 64, True, pairs=[...], smoothing=0.5)
dev.carve_dev(lexicon, holdout=150, seed=42); dev.LexiconBLIEvaluator(dev_rows, train_rows)
"""

from trainers.lexical.collator import WordPairCollator
from trainers.lexical.dev import LexiconBLIEvaluator, carve_dev, split_off
from trainers.lexical.embeddings import constraint_token_ids, embedding_training
from trainers.lexical.loss import SynsetContrastiveLoss, supervised_contrastive_loss, synset_positives
from trainers.lexical.sampler import LanguagePairBatchSampler, language_pair, pair_weights
from trainers.lexical.words import encode_words, pool_words, tokenize_words

__all__ = [
    "LanguagePairBatchSampler",
    "LexiconBLIEvaluator",
    "SynsetContrastiveLoss",
    "WordPairCollator",
    "carve_dev",
    "constraint_token_ids",
    "embedding_training",
    "encode_words",
    "language_pair",
    "pair_weights",
    "pool_words",
    "split_off",
    "supervised_contrastive_loss",
    "synset_positives",
    "tokenize_words",
]
