"""Stage types by name. To add one: write a module with a `@register_stage("name")` class, import it here."""

from trainers.stages import custom, distill, joint, lexical, mlm, multitask, nli, sts  # noqa: F401  (registers the stage types)
from trainers.stages.base import STAGES, PreparedStage, Stage, StageData, StageResult, register_stage

__all__ = ["STAGES", "PreparedStage", "Stage", "StageData", "StageResult", "register_stage"]
