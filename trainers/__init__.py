"""Training from YAML recipes: IndicSBERT-style multi-stage fine-tuning and multilingual distillation.

    recipe = load_recipe("recipes/indicsbert-offline.yaml", overrides=["stages.0.lr=1e-5"])
    model_dir = train(recipe, "runs/x")          # runs/x/model, runs/x/run.json, runs/x/checkpoints/

Stage types live in `trainers.stages` (one class each, registered by name).
"""

from trainers.recipe import Recipe, StageConfig, load_recipe, validate_recipe
from trainers.run import train

__all__ = ["Recipe", "StageConfig", "load_recipe", "train", "validate_recipe"]
