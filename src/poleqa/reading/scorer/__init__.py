"""The sentence scorer (before the trained reader): hand-built signals over every sentence of the
retrieved passages' documents, a fitted ranking and confidence, and evidence gates."""

from poleqa.reading.scorer.answerer import ExtractiveAnswerer, Scoring
from poleqa.reading.scorer.model import check_model, default_model
from poleqa.reading.scorer.short import short_answer

__all__ = ["ExtractiveAnswerer", "Scoring", "check_model", "default_model", "short_answer"]
