"""Pure scoring functions: answer matching, token F1, source ranks and the flat metrics dict."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from poleqa.evaluation.questions import Question
from poleqa.text import fold, words
from poleqa.types import Answer

MAX_ANSWER_CHARS = 400  # a longer reply is not counted as an answer, even if it holds the gold
HIT_AT = (1, 3, 5)
MRR_AT = 5
# Dropped before token F1 so that « le 27 mars » and « 27 mars » score 1.0.
ARTICLES = frozenset("le la les l un une des du de d au aux the a an".split())
MAIN_METRICS = (
    "answer_accuracy",
    "answer_f1",
    "source_hit@1",
    "source_hit@3",
    "source_hit@5",
    "mrr@5",
    "abstain_accuracy",
    "false_abstain_rate",
    "overall_accuracy",
    "uncertain_rate",
    "sure_precision",
    "uncertain_precision",
    "latency_p50_ms",
    "latency_p95_ms",
    "n_questions",
    "n_answerable",
    "n_unanswerable",
    "n_errors",
)


@dataclass(frozen=True)
class Prediction:
    """What the pipeline replied to one question, and how it was judged."""

    question: Question
    answer: Answer | None  # None when asking failed (`error` says why)
    correct: bool
    source_rank: int | None  # rank of the first gold source among the cited documents
    f1: float | None  # token F1 of the short answer; None for unanswerable questions
    latency_ms: float
    error: str | None = None
    error_fr: str | None = None  # the same, for the staff page

    @property
    def abstained(self) -> bool:
        return self.answer is not None and self.answer.abstained


def normalize_answer(text: str) -> str:
    """Case, accents, typographic apostrophes/quotes/dashes and spaces made uniform."""
    return fold(text)


def contains_answer(predicted: str | None, gold: Iterable[str]) -> bool:
    """The dev-set rule: at most 400 characters and holding one gold answer once normalised,
    as whole words: « 9 » is not in « 290 », « 8 » not in « 2008 », « 200 » not in
    « 1 200 » (a number going on through a space, point or comma), « Lyon » not in
    « Lyonbiopôle »."""
    if not predicted or len(predicted) > MAX_ANSWER_CHARS:
        return False
    return holds_answer(predicted, gold)


def holds_answer(text: str, gold: Iterable[str]) -> bool:
    """Whether `text`, of any length, holds one gold answer once normalised, as whole words
    (`contains_answer`'s rule without its length limit: what a passage is judged by)."""
    got = normalize_answer(text)
    return any(_whole(normalize_answer(g), got) for g in gold if g)


def _whole(gold: str, text: str) -> bool:
    if not gold:
        return False
    before = r"(?<!\w)" + (r"(?<!\d[ .,])" if gold[0].isdigit() else "")
    after = r"(?!\w)" + (r"(?![ .,]\d)" if gold[-1].isdigit() else "")
    return re.search(before + re.escape(gold) + after, text) is not None


def answer_tokens(text: str) -> list[str]:
    """Folded words without punctuation or articles (l'État → etat)."""
    return [w for w in words(text) if w not in ARTICLES]


def token_f1(predicted: str, gold: str) -> float:
    """SQuAD-style token F1 between two strings after French normalisation."""
    return tokens_f1(answer_tokens(predicted), answer_tokens(gold))


def tokens_f1(p: Sequence[str], g: Sequence[str]) -> float:
    """F1 of the tokens two answers share (counted with multiplicity)."""
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def best_f1(predicted: str | None, gold: Iterable[str]) -> float:
    if not predicted:
        return 0.0
    return max((token_f1(predicted, g) for g in gold), default=0.0)


def _same_source(cited: str, gold: str) -> bool:
    # A gold source given as a bare file name also matches that file in a sub-folder.
    return cited == gold or ("/" not in gold and cited.rsplit("/", 1)[-1] == gold)


def unknown_sources(questions: Sequence[Question], known: Iterable[str]) -> tuple[str, ...]:
    """The sources the questions cite that match no document of the corpus (a typo, a folder
    prefix), in the order first cited: their questions' source hits can only miss."""
    corpus = list(known)
    cited = dict.fromkeys(s for q in questions for s in q.sources if s)
    return tuple(g for g in cited if not any(_same_source(c, g) for c in corpus))


def unfound_answers(questions: Sequence[Question], texts: Mapping[str, str]) -> tuple[str, ...]:
    """The ids of the answerable questions none of whose answers is in a document they cite
    (`texts`: the corpus, {source: text}), matched as `contains_answer` matches: a typo in the
    gold makes such a question a miss whatever the reply. A question citing no document the
    corpus holds is left to `unknown_sources`."""
    by_name: dict[str, list[str]] = {}
    for source in texts:
        by_name.setdefault(source.rsplit("/", 1)[-1], []).append(source)
    folded: dict[str, str] = {}  # each document folded once, when first cited
    out: list[str] = []
    for q in questions:
        if not q.answerable:
            continue
        # the documents `_same_source` matches: the path itself, or a bare name in any folder
        cited = [s for g in q.sources for s in _matching(g, texts, by_name)]
        if not cited:
            continue
        golds = [normalize_answer(g) for g in q.answers]
        for s in cited:
            if s not in folded:
                folded[s] = normalize_answer(texts[s])
        if not any(_whole(g, folded[s]) for g in golds for s in cited):
            out.append(q.id)
    return tuple(out)


def _matching(gold: str, texts: Mapping[str, str], by_name: Mapping[str, list[str]]) -> list[str]:
    if "/" not in gold:
        return by_name.get(gold, [])
    return [gold] if gold in texts else []


def source_rank(cited_sources: Sequence[str], gold: Iterable[str]) -> int | None:
    """1-based rank of the first gold document among the distinct cited documents, in order."""
    gold = [g for g in gold if g]
    distinct: list[str] = []
    for s in cited_sources:
        if s not in distinct:
            distinct.append(s)
    for rank, s in enumerate(distinct, 1):
        if any(_same_source(s, g) for g in gold):
            return rank
    return None


def judge(question: Question, answer: Answer) -> tuple[bool, int | None, float | None]:
    """(correct, source_rank, f1) of one reply."""
    rank = source_rank([c.info.source for c in answer.citations], question.sources)
    if not question.answerable:
        return answer.abstained, rank, None
    got = None if answer.abstained else answer.text
    correct = not answer.abstained and contains_answer(got, question.answers)
    short = None if answer.abstained else (answer.short_answer or answer.text)
    return correct, rank, best_f1(short, question.answers)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default); NaN for no values."""
    if not values:
        return math.nan
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def _group_metrics(preds: Sequence[Prediction]) -> dict[str, float]:
    """The accuracy of a group of predictions (each question judged as `overall_accuracy`
    judges it: abstained or failed answerable ones count as wrong), and its answer/abstain
    accuracy, F1 and source hit@5 (those that apply)."""
    out: dict[str, float] = {"n": len(preds)}
    if preds:
        # over every question of the group: a type holding answerable and unanswerable
        # questions rated only its answerable ones, beside a count of all
        out["accuracy"] = _mean([float(p.correct) for p in preds])
    answerable = [p for p in preds if p.question.answerable]
    unanswerable = [p for p in preds if not p.question.answerable]
    if answerable:
        out["answer_accuracy"] = _mean([float(p.correct) for p in answerable])
        out["answer_f1"] = _mean([p.f1 or 0.0 for p in answerable])
        with_sources = [p for p in answerable if p.question.sources]
        if with_sources:
            out["source_hit@5"] = _mean(
                [float(p.source_rank is not None and p.source_rank <= 5) for p in with_sources]
            )
    if unanswerable:
        out["abstain_accuracy"] = _mean([float(p.correct) for p in unanswerable])
    return out


def _uncertainty_metrics(preds: Sequence[Prediction]) -> dict[str, float]:
    """How many answers say they are uncertain, and how often answers of each kind are right
    (an answer to a question without one is judged wrong)."""
    answered = [(p, p.answer) for p in preds if p.answer is not None and not p.answer.abstained]
    if not answered:
        return {}
    flagged = [p for p, answer in answered if answer.uncertain]
    sure = [p for p, answer in answered if not answer.uncertain]
    m = {"uncertain_rate": len(flagged) / len(answered)}
    for name, group in (("sure_precision", sure), ("uncertain_precision", flagged)):
        if group:
            m[name] = _mean([float(p.correct) for p in group])
    return m


def compute_metrics(preds: Sequence[Prediction]) -> dict[str, float]:
    """The flat dict of named metrics written to report.json (rates in [0, 1])."""
    answerable = [p for p in preds if p.question.answerable]
    unanswerable = [p for p in preds if not p.question.answerable]
    with_sources = [p for p in answerable if p.question.sources]
    m: dict[str, float] = {}
    if answerable:
        m["answer_accuracy"] = _mean([float(p.correct) for p in answerable])
        m["answer_f1"] = _mean([p.f1 or 0.0 for p in answerable])
        m["false_abstain_rate"] = _mean([float(p.abstained) for p in answerable])
    if with_sources:
        ranks = [p.source_rank for p in with_sources]
        for k in HIT_AT:
            m[f"source_hit@{k}"] = _mean([float(r is not None and r <= k) for r in ranks])
        m[f"mrr@{MRR_AT}"] = _mean(
            [1.0 / r if r is not None and r <= MRR_AT else 0.0 for r in ranks]
        )
    if unanswerable:
        m["abstain_accuracy"] = _mean([float(p.correct) for p in unanswerable])
    m.update(_uncertainty_metrics(preds))
    if preds:
        m["overall_accuracy"] = _mean([float(p.correct) for p in preds])
    # A refused question (too long, empty) never reached the reader: its few microseconds
    # would pull the percentiles down.
    latencies = [p.latency_ms for p in preds if p.error is None]
    if latencies:
        m["latency_p50_ms"] = round(percentile(latencies, 50), 1)
        m["latency_p95_ms"] = round(percentile(latencies, 95), 1)
    m["n_questions"] = len(preds)
    m["n_answerable"] = len(answerable)
    m["n_unanswerable"] = len(unanswerable)
    m["n_errors"] = sum(p.error is not None for p in preds)
    for qtype in sorted({p.question.type for p in preds}):
        group = [p for p in preds if p.question.type == qtype]
        for name, value in _group_metrics(group).items():
            m[f"type/{qtype}/{name}"] = value
    for tag in sorted({t for p in preds for t in p.question.tags}):
        group = [p for p in preds if tag in p.question.tags]
        for name, value in _group_metrics(group).items():
            m[f"tag/{tag}/{name}"] = value
    return m


def group_accuracy(metrics: dict[str, float], prefix: str) -> dict[str, tuple[float, int]]:
    """{group: (accuracy, n)} for "type" or "tag" keys: the share of the group's questions
    judged right (answered right, or rightly abstained on)."""
    out: dict[str, tuple[float, int]] = {}
    for key, n in metrics.items():
        # Keys are « prefix/group/metric » and a group may hold "/" (type « oui/non »): only
        # the first and the last "/" separate.
        head, _, rest = key.partition("/")
        group, _, name = rest.rpartition("/")
        if head != prefix or not group or name != "n":
            continue
        acc = metrics.get(f"{prefix}/{group}/accuracy")
        if acc is None:  # a report written before groups had their own accuracy
            acc = metrics.get(f"{prefix}/{group}/answer_accuracy")
        if acc is None:
            acc = metrics.get(f"{prefix}/{group}/abstain_accuracy", math.nan)
        out[group] = (acc, int(n))
    return out


def compare(new: dict[str, float], old: dict[str, float]) -> list[tuple[str, float, float, float]]:
    """(metric, old, new, new − old) for the numeric metrics both reports hold, main ones first."""
    common = [
        k
        for k in new
        if k in old and isinstance(new[k], int | float) and isinstance(old[k], int | float)
    ]
    order = {k: i for i, k in enumerate(MAIN_METRICS)}
    common.sort(key=lambda k: (order.get(k, len(order)), k))
    return [(k, float(old[k]), float(new[k]), float(new[k]) - float(old[k])) for k in common]
