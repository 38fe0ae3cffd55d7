"""Fit the answering weights on candidate dumps (bench/dev_harness.py --dump), with 2-fold
cross-validation by document, and optionally write src/poleqa/data/answering.json.

Selection: conditional logit (softmax over a question's candidate sentences, L2-regularised).
Abstention: logistic regression on the winner's signals; label 1 = the winner holds a gold answer.
Threshold: maximises correct answers + correct abstentions with false abstentions ≤ 8 % (train).
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import numpy as np

SELECT = [
    "cos",
    "cos_rel",
    "lex_sent",
    "lex_ctx",
    "lex_doc",
    "type",
    "type_strict",
    "unit",
    "pred_ctx",
    "pred_sent",
    "year",
    "passage",
    "in_hit",
    "heading",
    "cue",
    "short",
]
ABSTAIN = [
    "score",
    "margin",
    "key_missing",
    "ctx_missing",
    "type_missing",
    "year_missing",
    "proper_missing",
    "cos",
    "miss_ctx_max",
    "miss_doc_max",
    "unit",
    "pred_ctx",
    "pred_miss_max",
    "pred_sent",
    "name_ctx_miss",
    "name_doc_miss",
    "year_other",
]


def load(path: Path) -> dict[str, list[dict]]:
    by = collections.defaultdict(list)
    for line in path.open():
        r = json.loads(line)
        by[r["id"]].append(r)
    return by


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


def abstain_signals(cands: list[dict], scores: np.ndarray) -> tuple[dict, dict]:
    order = np.argsort(-scores)
    best = cands[order[0]]
    second = next((cands[i] for i in order[1:] if cands[i]["source"] != best["source"]), None)
    s2 = scores[cands.index(second)] if second else None
    sig = {
        "score": float(scores[order[0]]),
        "margin": float(scores[order[0]] - s2) if s2 is not None else 1.0,
        "key_missing": 1 - best["lex_doc"],
        "ctx_missing": 1 - best["lex_ctx"],
        "type_missing": 1.0 if best["typed"] and not best["type"] else 0.0,
        "year_missing": 1.0 if best["has_years"] and best["year"] <= 0 else 0.0,
        "proper_missing": best["proper_missing"],
        "cos": best["cos"],
        "miss_ctx_max": best["miss_ctx_max"],
        "miss_doc_max": best["miss_doc_max"],
        "unit": best["unit"],
        "pred_ctx": best["pred_ctx"],
        "pred_miss_max": best["pred_miss_max"],
        "pred_sent": best["pred_sent"],
        "name_ctx_miss": best["name_ctx_miss"],
        "name_doc_miss": best["name_doc_miss"],
        "year_other": best["year_other"],
    }
    return sig, best


def fold_of(qid: str, cands: list[dict], questions: dict) -> int:
    q = questions[qid]
    src = q["sources"][0] if q["sources"] else max(cands, key=lambda c: c["score"])["source"]
    return int(src[1:3]) % 2


def run(
    by, questions, train_ids, test_ids, l2s=0.05, l2a=0.1, far=0.08, feats=SELECT, afeats=ABSTAIN
):
    groups = []
    for i in train_ids:
        c = by[i]
        if not questions[i]["answerable"]:
            continue
        y = np.array([r["gold"] for r in c], dtype=float)
        if y.sum() == 0:
            continue
        groups.append((np.array([[r[f] for f in feats] for r in c]), y))
    allx = np.vstack([X for X, _ in groups])
    smu, ssd = allx.mean(0), allx.std(0) + 1e-9
    w = fit_select([((X - smu) / ssd, y) for X, y in groups], l2=l2s) / ssd

    def signals(ids):
        rows, labels, answerable = [], [], []
        for i in ids:
            c = by[i]
            sc = np.array([[r[f] for f in feats] for r in c]) @ w
            sig, best = abstain_signals(c, sc)
            rows.append([sig[f] for f in afeats])
            labels.append(bool(best["gold"]))
            answerable.append(questions[i]["answerable"])
        return np.array(rows), np.array(labels), np.array(answerable)

    Xa, ya, aa = signals(train_ids)
    mu, sd = Xa.mean(0), Xa.std(0) + 1e-9
    wa = fit_logistic((Xa - mu) / sd, ya.astype(float), l2=l2a)

    def conf(X):
        z = ((X - mu) / sd) @ wa[:-1] + wa[-1]
        return 1 / (1 + np.exp(-z))

    ca = conf(Xa)
    best_t, best_v = 0.0, -1
    for t in np.unique(np.r_[0.0, ca]):
        ab = ca < t
        fa = (ab & aa).sum() / max(1, aa.sum())
        v = (ya & ~ab).sum() + (ab & ~aa).sum()
        if fa <= far and v > best_v:
            best_t, best_v = t, v
    Xt, yt, at = signals(test_ids)
    ct = conf(Xt)
    ab = ct < best_t
    res = {
        "answer_accuracy": float((yt & ~ab & at).sum() / max(1, at.sum())),
        "select_accuracy": float((yt & at).sum() / max(1, at.sum())),
        "abstain_accuracy": float((ab & ~at).sum() / max(1, (~at).sum())),
        "false_abstain_rate": float((ab & at).sum() / max(1, at.sum())),
        "n": len(test_ids),
    }
    # fold the standardisation into the weights for shipping
    wa_raw = wa[:-1] / sd
    bias = wa[-1] - (mu / sd) @ wa[:-1]
    model = {
        "select": {"bias": 0.0, **{f: round(float(v), 4) for f, v in zip(feats, w, strict=True)}},
        "abstain": {
            "bias": round(float(bias), 4),
            **{f: round(float(v), 4) for f, v in zip(afeats, wa_raw, strict=True)},
        },
        "threshold": round(float(best_t), 4),
    }
    return res, model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dump", type=Path)
    ap.add_argument("--questions", type=Path, default=Path("eval/dev/questions.jsonl"))
    ap.add_argument("--write", type=Path, default=None)
    ap.add_argument("--l2s", type=float, default=0.05)
    ap.add_argument("--l2a", type=float, default=0.1)
    ap.add_argument("--drop", default="")
    args = ap.parse_args()
    by = load(args.dump)
    questions = {json.loads(line)["id"]: json.loads(line) for line in args.questions.open()}
    ids = sorted(by)
    feats = [f for f in SELECT if f not in args.drop.split(",")]
    afeats = [f for f in ABSTAIN if f not in args.drop.split(",")]
    folds = {i: fold_of(i, by[i], questions) for i in ids}
    cv = []
    for k in (0, 1):
        train = [i for i in ids if folds[i] != k]
        test = [i for i in ids if folds[i] == k]
        res, _ = run(by, questions, train, test, args.l2s, args.l2a, feats=feats, afeats=afeats)
        cv.append(res)
        print(f"fold {k}: {json.dumps(res)}")
    mean = {k: round(float(np.mean([r[k] for r in cv])), 3) for k in cv[0] if k != "n"}
    print("CV mean:", json.dumps(mean))
    res, model = run(by, questions, ids, ids, args.l2s, args.l2a, feats=feats, afeats=afeats)
    print("fit on all (train = test):", json.dumps(res))
    print(json.dumps(model, indent=1))
    if args.write:
        model = {
            "version": 1,
            **model,
            "alternatives_margin": 0.5,
            "cv": {"folds": "2-fold by document number parity", "mean": mean, "all": res},
        }
        args.write.write_text(json.dumps(model, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
