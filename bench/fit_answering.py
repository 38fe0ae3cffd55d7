"""Fit the answering weights on candidate dumps (bench/dev_harness.py --dump), with 2-fold
cross-validation by document, and optionally write src/poleqa/data/answering.json.

Selection: conditional logit (softmax over a question's candidate sentences, L2-regularised).
Abstention: logistic regression on the winner's signals (--abstain picks them); label 1 = the
winner holds a gold answer; the confidence is then multiplied by the share of the question's
distinctive names the winner's document holds (name_scale; --no-name-scale to turn it off).
Threshold: maximises correct answers + correct abstentions with false abstentions ≤ --far (train).
--folds k: CV by document number modulo k; --check DUMP: apply to a held-out dump, never fit.
Ranking, named-first ordering, abstention signals, confidence and gates are the scorer's own
(poleqa.reading.scorer.model): a dumped question is served here as it is in poleqa. --write
records the features, embedder id and chunking the dump was made under (DUMP.meta.json).
"""

from __future__ import annotations

import argparse
import collections
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from poleqa.reading.scorer.candidates import FEATURES, Candidate
from poleqa.reading.scorer.model import (
    ABSTAIN_FEATURES,
    Verdict,
    abstain_signals,
    check_model,
    gated,
    name_share,
    rank,
    verdict,
)
from poleqa.types import Sentence

SELECT = list(FEATURES)  # the scorer's ranking columns
ABSTAIN = list(ABSTAIN_FEATURES)  # the winner's signals the confidence may weigh
# what a dump row holds besides its features (older dumps: features at the top level)
_ROW_KEYS = {"id", "answerable", "gold", "source", "text", "score", "typed", "has_years", "qtype"}


@dataclass(frozen=True)
class Question:
    """A question's candidates as the scorer saw them (dump rows), and what is known of it."""

    candidates: tuple[Candidate, ...]  # the sentence id is the row's number
    gold: tuple[bool, ...]  # by row
    typed: bool
    dated: bool


def load(path: Path) -> dict[str, list[dict]]:
    by = collections.defaultdict(list)
    for line in path.open():
        r = json.loads(line)
        by[r["id"]].append(r)
    return by


def dump_meta(path: Path) -> dict:
    """What the dump was made under (embedder id, chunking): DUMP.meta.json by dev_harness."""
    meta = path.with_name(path.name + ".meta.json")
    if not meta.exists():
        raise SystemExit(f"{meta} is missing: dump again with bench/dev_harness.py --dump")
    return json.loads(meta.read_text())


def question_of(rows: list[dict]) -> Question:
    cands = []
    for i, r in enumerate(rows):
        feats = r.get("features")
        if feats is None:
            feats = {k: v for k, v in r.items() if k not in _ROW_KEYS and not k.startswith("abst_")}
        cands.append(Candidate(Sentence(i, r["source"], 0, 0), r["text"], r["text"], 0.0, feats))
    return Question(
        tuple(cands),
        tuple(bool(r["gold"]) for r in rows),
        bool(rows[0]["typed"]),
        bool(rows[0]["has_years"]),
    )


def without_gold(q: Question) -> Question | None:
    """The question once its answer is taken out of the corpus (None when nothing is left)."""
    keep = [c for c, g in zip(q.candidates, q.gold, strict=True) if not g]
    if not keep or len(keep) == len(q.candidates):
        return None
    return Question(tuple(keep), (False,) * len(keep), q.typed, q.dated)


def decide(q: Question, model: dict) -> tuple[tuple[Candidate, ...], Verdict, bool]:
    """The serving path on a dumped question: ranked candidates, verdict, winner holds gold."""
    ranked = rank(q.candidates, model)
    v = verdict(ranked, q.typed, q.dated, model)
    best = ranked[0].sentence.id
    gold = next(g for c, g in zip(q.candidates, q.gold, strict=True) if c.sentence.id == best)
    return ranked, v, gold


def fit_select(
    groups: list[tuple[np.ndarray, np.ndarray]], l2: float = 0.05, iters: int = 1500
) -> np.ndarray:
    d = groups[0][0].shape[1]
    w = np.zeros(d)
    lr = 0.5
    for _ in range(iters):
        grad = l2 * w
        for X, y in groups:
            z = X @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            pg = p * y
            pg /= pg.sum()
            grad -= (pg - p) @ X / len(groups)
        w -= lr * grad
    return w


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 0.1, iters: int = 3000) -> np.ndarray:
    X1 = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(X1.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(X1 @ w)))
        grad = X1.T @ (p - y) / len(y) + l2 * np.r_[w[:-1], 0]
        w -= 0.5 * grad
    return w


def fold_of(qid: str, cands: list[dict], questions: dict, k: int = 2) -> int:
    """Questions go to folds by document (its number modulo k): a fold's documents are unseen."""
    q = questions[qid]
    src = q["sources"][0] if q["sources"] else max(cands, key=lambda c: c["score"])["source"]
    number = src[1:3]  # dev documents are named dNN_…; others go by a checksum of their name
    return (int(number) if number.isdigit() else zlib.crc32(src.encode())) % k


def apply(model: dict, by: dict, questions: dict) -> dict:
    """Metrics of a fitted model on another dump (held-out check: nothing is fit on it)."""
    n_ans = n_un = ok = abst_ok = false_ab = 0
    for i, rows in by.items():
        _, v, gold = decide(question_of(rows), model)
        abstained = v.abstains(model)
        if questions[i]["answerable"]:
            n_ans += 1
            ok += gold and not abstained
            false_ab += abstained
        else:
            n_un += 1
            abst_ok += abstained
    return {
        "answer_accuracy": round(ok / max(1, n_ans), 3),
        "abstain_accuracy": round(abst_ok / max(1, n_un), 3),
        "false_abstain_rate": round(false_ab / max(1, n_ans), 3),
        "n": n_ans + n_un,
    }


@dataclass(frozen=True)
class Case:
    """A question as the scorer being fit serves it: its candidates ranked, and whether the
    winner holds a gold answer."""

    question: Question
    answerable: bool
    ranked: tuple[Candidate, ...]
    gold: bool


def cases(qs: dict, questions: dict, ids: list[str], model: dict, masked: bool = False) -> list:
    """The questions `ids` ranked by `model`; `masked`: each answerable one with its answer taken
    out of the corpus (a near miss, like the real unanswerable questions)."""
    out = []
    for i in ids:
        q: Question | None = qs[i]
        if masked:
            q = without_gold(qs[i]) if questions[i]["answerable"] else None
            if q is None:
                continue
        ranked = rank(q.candidates, model)
        best = ranked[0].sentence.id
        gold = next(g for c, g in zip(q.candidates, q.gold, strict=True) if c.sentence.id == best)
        out.append(Case(q, questions[i]["answerable"] and not masked, ranked, gold))
    return out


def fit_ranking(qs: dict, questions: dict, ids: list[str], feats: list[str], l2: float) -> dict:
    """The ranking weights ("select"): a conditional logit over each question's candidates."""
    groups = []
    for i in ids:
        q = qs[i]
        if questions[i]["answerable"] and any(q.gold):
            X = np.array([[c.features[f] for f in feats] for c in q.candidates])
            groups.append((X, np.array(q.gold, dtype=float)))
    allx = np.vstack([X for X, _ in groups])
    smu, ssd = allx.mean(0), allx.std(0) + 1e-9
    w = fit_select([((X - smu) / ssd, y) for X, y in groups], l2=l2) / ssd
    return {"bias": 0.0, **{f: float(v) for f, v in zip(feats, w, strict=True)}}


def fit_confidence(train: list[Case], afeats: list[str], l2: float, model: dict) -> dict:
    """The confidence weights ("abstain"), fit on the questions no gate shuts out (gated ones
    abstain whatever the confidence), standardisation folded into the weights."""
    open_ = [
        c for c in train if not gated(c.ranked[0], model) and name_share(c.ranked[0], model) > 0
    ]
    X = np.array(
        [
            [abstain_signals(c.ranked, c.question.typed, c.question.dated)[f] for f in afeats]
            for c in open_
        ]
    )
    y = np.array([c.gold for c in open_], dtype=float)
    mu, sd = X.mean(0), X.std(0) + 1e-9
    wa = fit_logistic((X - mu) / sd, y, l2=l2)
    bias = wa[-1] - (mu / sd) @ wa[:-1]
    return {"bias": float(bias), **{f: float(v) for f, v in zip(afeats, wa[:-1] / sd, strict=True)}}


def confidences(cases_: list[Case], model: dict) -> np.ndarray:
    """The served confidence of each case, 0 when a gate shuts the winner out."""
    out = []
    for c in cases_:
        v = verdict(c.ranked, c.question.typed, c.question.dated, model)
        out.append(0.0 if v.gated else v.confidence)
    return np.array(out)


def pick_threshold(conf: np.ndarray, gold: np.ndarray, answerable: np.ndarray, far: float) -> float:
    """The threshold with the most answers and abstentions right, false abstentions ≤ far."""
    best_t, best_v = 0.0, -1.0
    for t in np.unique(np.r_[0.0, conf]):
        ab = conf < t
        fa = (ab & answerable).sum() / max(1, answerable.sum())
        # balanced: a missed abstention weighs as much as a lost answer, in proportion
        v = (gold & ~ab).sum() / max(1, answerable.sum()) + (ab & ~answerable).sum() / max(
            1, (~answerable).sum()
        )
        if fa <= far and v > best_v:
            best_t, best_v = float(t), v
    return best_t


def run(
    qs: dict, questions: dict, train_ids: list[str], test_ids: list[str], opts: argparse.Namespace
) -> tuple[dict, dict]:
    """Fit on `train_ids`, measure on `test_ids`: (metrics, the model to ship)."""
    model = {
        "select": fit_ranking(qs, questions, train_ids, opts.feats, opts.l2s),
        "threshold": 0.0,
        "name_scale": not opts.no_name_scale,
        "gates": list(opts.gate_list),
        "type_fallback": opts.type_fallback,
    }
    train = cases(qs, questions, train_ids, model)
    if opts.mask:
        train += cases(qs, questions, train_ids, model, masked=True)
    model["abstain"] = fit_confidence(train, opts.afeats, opts.l2a, model)
    ya, aa = np.array([c.gold for c in train]), np.array([c.answerable for c in train])
    model["threshold"] = pick_threshold(confidences(train, model), ya, aa, opts.far)
    test = cases(qs, questions, test_ids, model)
    yt, at = np.array([c.gold for c in test]), np.array([c.answerable for c in test])
    ab = confidences(test, model) < model["threshold"]
    res = {
        "answer_accuracy": float((yt & ~ab & at).sum() / max(1, at.sum())),
        "select_accuracy": float((yt & at).sum() / max(1, at.sum())),
        "abstain_accuracy": float((ab & ~at).sum() / max(1, (~at).sum())),
        "false_abstain_rate": float((ab & at).sum() / max(1, at.sum())),
        "n": len(test_ids),
    }
    masked = cases(qs, questions, test_ids, model, masked=True)
    cm = confidences(masked, model)
    res["masked_abstain_accuracy"] = float((cm < model["threshold"]).mean()) if len(cm) else 0.0
    return res, shipped(model)


def shipped(model: dict) -> dict:
    """The model as data/answering.json holds it (weights rounded)."""
    return {
        "select": {f: round(v, 4) for f, v in model["select"].items()},
        "abstain": {f: round(v, 4) for f, v in model["abstain"].items()},
        "threshold": round(model["threshold"], 4),
        "name_scale": model["name_scale"],
        "gates": model["gates"],
        "type_fallback": model["type_fallback"],
    }


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("dump", type=Path)
    ap.add_argument("--questions", type=Path, default=Path("eval/dev/questions.jsonl"))
    ap.add_argument("--write", type=Path, default=None)
    ap.add_argument("--l2s", type=float, default=0.05)
    ap.add_argument("--l2a", type=float, default=0.1)
    ap.add_argument("--drop", default="")
    ap.add_argument("--abstain", default="", help="comma-separated abstention signals (all)")
    ap.add_argument("--folds", type=int, default=2, help="cross-validation folds, by document")
    ap.add_argument("--far", type=float, default=0.08, help="max false-abstention rate (train)")
    ap.add_argument("--no-name-scale", action="store_true", help="no confidence × names held")
    ap.add_argument(
        "--mask",
        action="store_true",
        help="also train abstention on each answerable question with its answer taken out",
    )
    ap.add_argument(
        "--gates",
        default="gap_year,gap_type,gap_unit,gap_head,gap_role,gap_event",
        help="evidence gaps that make the answerer abstain whatever its confidence",
    )
    ap.add_argument(
        "--type-fallback",
        type=float,
        default=5.0,
        help="a winner naming nothing of the type asked gives way to an ungated candidate "
        "scoring within this much of it",
    )
    ap.add_argument("--check", type=Path, default=None, help="held-out dump: apply, never fit")
    ap.add_argument("--check-questions", type=Path, default=Path("eval/seeds.jsonl"))
    args = ap.parse_args()
    dropped = args.drop.split(",")
    args.feats = [f for f in SELECT if f not in dropped]
    afeats = args.abstain.split(",") if args.abstain else ABSTAIN
    args.afeats = [f for f in afeats if f not in dropped]
    args.gate_list = tuple(g for g in args.gates.split(",") if g)
    return args


def cross_validate(qs: dict, by: dict, questions: dict, args: argparse.Namespace) -> tuple:
    """(mean, pooled) metrics of `args.folds`-fold cross-validation by document."""
    ids = sorted(by)
    folds = {i: fold_of(i, by[i], questions, args.folds) for i in ids}
    cv = []
    pooled: collections.Counter = collections.Counter()
    for k in range(args.folds):
        train = [i for i in ids if folds[i] != k]
        test = [i for i in ids if folds[i] == k]
        res, _ = run(qs, questions, train, test, args)
        cv.append(res)
        n_ans = sum(questions[i]["answerable"] for i in test)
        pooled["ans"] += n_ans
        pooled["un"] += len(test) - n_ans
        pooled["ok"] += res["answer_accuracy"] * n_ans
        pooled["false"] += res["false_abstain_rate"] * n_ans
        pooled["abst"] += res["abstain_accuracy"] * (len(test) - n_ans)
        print(f"fold {k}: {json.dumps(res)}")
    mean = {k: round(float(np.mean([r[k] for r in cv])), 3) for k in cv[0] if k != "n"}
    pool = {
        "answer_accuracy": round(pooled["ok"] / pooled["ans"], 3),
        "abstain_accuracy": round(pooled["abst"] / max(1, pooled["un"]), 3),
        "false_abstain_rate": round(pooled["false"] / pooled["ans"], 3),
    }
    return mean, pool


def main() -> None:
    args = parse_args()
    meta = dump_meta(args.dump) if args.write else None  # refuse early, before fitting
    by = load(args.dump)
    qs = {i: question_of(rows) for i, rows in by.items()}
    questions = {json.loads(line)["id"]: json.loads(line) for line in args.questions.open()}
    mean, pool = cross_validate(qs, by, questions, args)
    print("CV mean:", json.dumps(mean))
    print("CV pooled:", json.dumps(pool))
    res, model = run(qs, questions, sorted(by), sorted(by), args)
    print("fit on all (train = test):", json.dumps(res))
    print(json.dumps(model, indent=1))
    if args.check is not None:
        held = {json.loads(x)["id"]: json.loads(x) for x in args.check_questions.open()}
        print("held-out check:", json.dumps(apply(model, load(args.check), held)))
    if args.write and meta is not None:
        model = {
            "version": 1,
            # what the scorer checks on load (poleqa.reading.scorer.model.check_model)
            "features": {"select": SELECT, "abstain": ABSTAIN},
            "embedder": meta["embedder"],
            "chunking": meta["chunking"],
            **model,
            "alternatives_margin": 0.5,
            "cv": {
                "folds": f"{args.folds}-fold by document number",
                "abstain": args.afeats,
                "l2a": args.l2a,
                "far": args.far,
                "mean": mean,
                "pooled": pool,
                "all": res,
            },
        }
        check_model(model, origin=str(args.write))
        args.write.write_text(json.dumps(model, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
