"""The sentence scorer (before the trained reader): hand-built signals over every sentence of the
retrieved passages' documents, a fitted ranking and confidence, and evidence gates."""

from poleqa.reading.scorer.answerer import ExtractiveAnswerer, default_model
from poleqa.reading.scorer.short import short_answer

__all__ = ["ExtractiveAnswerer", "default_model", "short_answer"]
