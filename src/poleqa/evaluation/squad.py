"""The reader alone on a SQuAD-format file: each question read against its own paragraph."""

from __future__ import annotations

import json
import re
import string
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from poleqa.evaluation.metrics import tokens_f1
from poleqa.evaluation.report import SQUAD_RESULTS, keep_earlier
from poleqa.reading.span_model import SpanModel
from poleqa.reading.squad import QAExample

# poleqa's French rule goes beyond the official SQuAD normalisation, which removes English
# articles only: French ones are removed too (elided forms l' d' included) so that « la Région »
# and « Région » match. Earlier runs were measured with it, so it stays (`exact_match`, `f1`),
# and the official figures are reported beside it (`exact_match_squad`, `f1_squad`).
# An article is a word of its own: before a space or punctuation (« les, pôles »), not before a
# hyphen (« au-delà »).
_ARTICLES = re.compile(r"\b(a|an|the|le|la|les|l'|un|une|des|du|de|d'|au|aux)(?=[^\w'-]|$)|\b[ld]'")
_PUNCT = set(string.punctuation) | set("«»“”‘’–—…")
_SQUAD_PUNCT = set(string.punctuation)  # ASCII only, as evaluate-v1.1.py: « » ’ stay
_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b")
BATCH = 16  # questions per reader call


def normalize(text: str) -> str:
    """poleqa's French rule: lower case, French and English articles removed, punctuation
    made a space (« 2,5 » is two tokens), white space collapsed."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    text = _ARTICLES.sub(" ", text)
    text = "".join(" " if c in _PUNCT else c for c in text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    if not golds:
        return float(prediction == "")
    return float(any(normalize(prediction) == normalize(g) for g in golds))


def f1(prediction: str, golds: Sequence[str]) -> float:
    """Token F1, the best over the gold answers; an unanswerable question scores 1 only if
    the prediction is empty."""
    if not golds:
        return float(prediction == "")
    return max(tokens_f1(normalize(prediction).split(), normalize(g).split()) for g in golds)


def normalize_squad(text: str) -> str:
    """The official SQuAD v1.1 rule (evaluate-v1.1.py's normalize_answer): lower case, ASCII
    punctuation deleted, the English articles a / an / the removed, white space collapsed."""
    text = "".join(c for c in text.lower() if c not in _SQUAD_PUNCT)
    return " ".join(_SQUAD_ARTICLES.sub(" ", text).split())


def exact_match_squad(prediction: str, golds: Sequence[str]) -> float:
    """Exact match by the official rule; an unanswerable question as in `exact_match`."""
    if not golds:
        return float(prediction == "")
    return float(any(normalize_squad(prediction) == normalize_squad(g) for g in golds))


def f1_squad(prediction: str, golds: Sequence[str]) -> float:
    """Token F1 by the official rule, the best over the gold answers (evaluate-v1.1.py's
    f1_score: 0 when no token is shared, even if both are empty); unanswerable as in `f1`."""
    if not golds:
        return float(prediction == "")
    p = normalize_squad(prediction).split()
    return max(_shared_f1(p, normalize_squad(g).split()) for g in golds)


def _shared_f1(p: Sequence[str], g: Sequence[str]) -> float:
    return tokens_f1(p, g) if p and g else 0.0


@dataclass(frozen=True)
class SquadPrediction:
    id: str
    answer: str  # "" when the reader abstains


NO_ANSWER = ("auto", "allow", "never")


def no_answer_allowed(mode: str, declares_unanswerable: bool) -> bool:
    """Whether the reader may answer « no answer » on a file. auto: only when the file marks
    questions unanswerable (the SQuAD 2.0 task); on a file where every question has its answer
    in its paragraph (SQuAD 1.1, PIAF, FQuAD) the task is a span for each, as it is scored."""
    if mode not in NO_ANSWER:
        raise ValueError(f"no-answer mode must be one of {NO_ANSWER}, not {mode!r}")
    return mode == "allow" or (mode == "auto" and declares_unanswerable)


def predict(
    model: SpanModel,
    examples: Sequence[QAExample],
    allow_no_answer: bool = True,
    progress: bool = False,
) -> list[SquadPrediction]:
    """The reader's span per question; "" when « no answer » is allowed and its no-answer
    score beats its best span. `progress`: a bar on stderr (a SQuAD dev file takes minutes)."""
    out = []
    # on a terminal only (disable=None): a log or a pipe gets no carriage-return lines
    shown = None if progress else True
    bar = tqdm(total=len(examples), desc="eval --squad", unit="q", leave=False, disable=shown)
    with bar:
        for at in range(0, len(examples), BATCH):
            part = examples[at : at + BATCH]
            spans = model.read([e.question for e in part], [e.context for e in part])
            for ex, sp in zip(part, spans, strict=True):
                margin = sp.score - sp.null_score
                answered = not allow_no_answer or margin > model.manifest.null_threshold
                text = ex.context[sp.start : sp.end].strip() if answered else ""
                out.append(SquadPrediction(ex.id, text))
            bar.update(len(part))
    return out


def squad_metrics(
    examples: Sequence[QAExample], predictions: Sequence[SquadPrediction], seconds: float
) -> dict[str, float]:
    """A flat dict: exact_match, f1 (poleqa's French rule, `normalize`), exact_match_squad,
    f1_squad (the official SQuAD v1.1 rule, `normalize_squad`), and for files with
    unanswerable questions no_answer_accuracy, and has_answer_f1 when some are answerable;
    latency per question."""
    golds, answers, ems, f1s = _scored(examples, predictions)
    pairs = list(zip(answers, golds, strict=True))
    n = max(1, len(examples))
    metrics = {
        "n_questions": float(len(examples)),
        "exact_match": sum(ems) / n,
        "f1": sum(f1s) / n,
        "exact_match_squad": sum(exact_match_squad(p, g) for p, g in pairs) / n,
        "f1_squad": sum(f1_squad(p, g) for p, g in pairs) / n,
        "latency_ms_per_question": 1000.0 * seconds / n,
    }
    has = [i for i, g in enumerate(golds) if g]
    metrics["n_answerable"] = float(len(has))
    metrics["n_unanswerable"] = float(len(golds) - len(has))
    if len(has) < len(golds):
        no = [i for i, g in enumerate(golds) if not g]
        if has:  # a file of unanswerable questions only has no answered F1 to give, not 0
            metrics["has_answer_f1"] = sum(f1s[i] for i in has) / len(has)
        metrics["no_answer_accuracy"] = sum(ems[i] for i in no) / len(no)
    return metrics


def _scored(
    examples: Sequence[QAExample], predictions: Sequence[SquadPrediction]
) -> tuple[list[list[str]], list[str], list[float], list[float]]:
    """The expected answers (all the file gives, in their paragraph or not), the answers
    given, and each one's exact match and F1 (the French rule, `normalize`)."""
    golds = [list(e.expected) or [a.text for a in e.answers] for e in examples]
    answers = [p.answer for p in predictions]
    pairs = list(zip(answers, golds, strict=True))
    return golds, answers, [exact_match(a, g) for a, g in pairs], [f1(a, g) for a, g in pairs]


def question_results(
    examples: Sequence[QAExample], predictions: Sequence[SquadPrediction]
) -> list[dict[str, object]]:
    """Per question, to find the misses: its id and question, the answer given ("" for none),
    the expected ones ([] for none) and its exact_match and f1 (the French rule)."""
    golds, answers, ems, f1s = _scored(examples, predictions)
    return [
        {"id": e.id, "question": e.question, "answer": a, "answers": g, "exact_match": m, "f1": s}
        for e, a, g, m, s in zip(examples, answers, golds, ems, f1s, strict=True)
    ]


def evaluate_squad(
    model: SpanModel,
    examples: Sequence[QAExample],
    allowed: bool = True,
    progress: bool = False,
) -> tuple[list[SquadPrediction], dict[str, float]]:
    """The reader's predictions and their metrics (with whether « no answer » was `allowed`,
    see no_answer_allowed)."""
    start = time.perf_counter()
    predictions = predict(model, examples, allowed, progress)
    metrics = squad_metrics(examples, predictions, time.perf_counter() - start)
    metrics["no_answer_allowed"] = float(allowed)
    return predictions, metrics


def write_squad_reports(
    out_dir: Path,
    examples: Sequence[QAExample],
    predictions: Sequence[SquadPrediction],
    metrics: dict[str, float],
) -> Path | None:
    """out_dir/predictions.jsonl (`{"id", "answer"}`, SQuAD's evaluation scripts read it),
    squad_results.jsonl (`question_results`) and report.json; an earlier run's go to previous/ first
    (the folder they went to, or None: `keep_earlier`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    earlier = keep_earlier(out_dir)
    lines = [json.dumps({"id": p.id, "answer": p.answer}, ensure_ascii=False) for p in predictions]
    (out_dir / "predictions.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    results = [json.dumps(r, ensure_ascii=False) for r in question_results(examples, predictions)]
    (out_dir / SQUAD_RESULTS).write_text("\n".join(results) + "\n", "utf-8")
    (out_dir / "report.json").write_text(json.dumps(shown(metrics), indent=2) + "\n", "utf-8")
    return earlier


def shown(metrics: dict[str, float]) -> dict[str, float | int]:
    """The metrics as the report gives them: counts and the « no answer allowed » flag whole
    (« n_questions »: 8, not 8.0), the others to four decimals."""
    return {k: int(v) if _whole(k) else round(v, 4) for k, v in metrics.items()}


def _whole(key: str) -> bool:
    return key.startswith("n_") or key == "no_answer_allowed"


__all__ = [
    "NO_ANSWER",
    "evaluate_squad",
    "exact_match",
    "exact_match_squad",
    "f1",
    "f1_squad",
    "no_answer_allowed",
    "normalize",
    "normalize_squad",
    "question_results",
    "shown",
    "squad_metrics",
    "write_squad_reports",
]
