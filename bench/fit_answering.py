"""Fit the answering weights on candidate dumps (bench/dev_harness.py --dump), with 2-fold
cross-validation by document, and optionally write src/poleqa/data/answering.json.

Selection: conditional logit (softmax over a question's candidate sentences, L2-regularised).
Abstention: logistic regression on the winner's signals (--abstain picks them); label 1 = the
winner holds a gold answer; the confidence is then multiplied by the share of the question's
distinctive names the winner's document holds (name_scale; --no-name-scale to turn it off).
Threshold: maximises correct answers + correct abstentions with false abstentions ≤ --far (train).
--folds k: CV by document number modulo k; --check DUMP: apply to a held-out dump, never fit.
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


def named_first(cands: list[dict], scores: np.ndarray, gates, delta: float) -> np.ndarray:
    """The answerer's `_named_first`: a winner gated only for naming nothing of the type asked
    gives way to the best ungated candidate within `delta` of its score."""
    if delta <= 0 or not gates:
        return scores
    i = int(scores.argmax())
    found = {g for g in gates if cands[i].get(g, 0.0)}
    if not found or not found <= {"gap_type", "gap_role"}:
        return scores
    ok = np.array([not any(r.get(g, 0.0) for g in gates) for r in cands])
    if not (ok & (scores >= scores[i] - delta)).any():
        return scores
    return np.where(ok, scores, -1e9)


def fold_of(qid: str, cands: list[dict], questions: dict, k: int = 2) -> int:
    """Questions go to folds by document (its number modulo k): a fold's documents are unseen."""
    q = questions[qid]
    src = q["sources"][0] if q["sources"] else max(cands, key=lambda c: c["score"])["source"]
    return int(src[1:3]) % k


def apply(model: dict, by: dict, questions: dict) -> dict:
    """Metrics of a fitted model on another dump (held-out check: nothing is fit on it)."""
    sel, ab = model["select"], model["abstain"]
    n_ans = n_un = ok = abst_ok = false_ab = 0
    for i, cands in by.items():
        sc = np.array([sum(sel.get(f, 0.0) * r.get(f, 0.0) for f in sel) for r in cands])
        sc = named_first(cands, sc, model.get("gates", ()), model.get("type_fallback", 0.0))
        sig, best = abstain_signals(cands, sc)
        z = ab["bias"] + sum(ab.get(f, 0.0) * v for f, v in sig.items())
        held = 1.0 - sig["name_doc_miss"] if model.get("name_scale") else 1.0
        if any(best.get(g, 0.0) for g in model.get("gates", ())):
            held = 0.0
        abstained = held / (1 + np.exp(-z)) < model["threshold"]
        if questions[i]["answerable"]:
            n_ans += 1
            ok += bool(best["gold"]) and not abstained
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


def run(
    by,
    questions,
    train_ids,
    test_ids,
    l2s=0.05,
    l2a=0.1,
    far=0.08,
    feats=SELECT,
    afeats=ABSTAIN,
    name_scale=True,
    mask=False,
    gates=(),
    delta=0.0,
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

    def signals(ids, masked=False):
        rows, labels, answerable, held = [], [], [], []
        for i in ids:
            c = by[i]
            if masked:
                # the question once its answer is taken out of the corpus: a near miss, like
                # the real unanswerable questions (right pole, missing fact)
                if not questions[i]["answerable"] or not any(r["gold"] for r in c):
                    continue
                c = [r for r in c if not r["gold"]]
                if not c:
                    continue
            sc = named_first(c, np.array([[r[f] for f in feats] for r in c]) @ w, gates, delta)
            sig, best = abstain_signals(c, sc)
            rows.append([sig[f] for f in afeats])
            labels.append(bool(best["gold"]))
            answerable.append(questions[i]["answerable"] and not masked)
            kept = 0.0 if any(best.get(g, 0.0) for g in gates) else 1.0
            held.append(kept * (1.0 - sig["name_doc_miss"] if name_scale else kept))
        return np.array(rows), np.array(labels), np.array(answerable), np.array(held)

    Xa, ya, aa, ha = signals(train_ids)
    if mask:
        parts = [signals(train_ids), signals(train_ids, masked=True)]
        Xa, ya, aa, ha = (np.concatenate(x) for x in zip(*parts, strict=True))
    # gated questions abstain whatever the confidence: the confidence is fit on the others
    open_ = ha > 0
    mu, sd = Xa[open_].mean(0), Xa[open_].std(0) + 1e-9
    wa = fit_logistic((Xa[open_] - mu) / sd, ya[open_].astype(float), l2=l2a)

    def conf(X):
        z = ((X - mu) / sd) @ wa[:-1] + wa[-1]
        return 1 / (1 + np.exp(-z))

    ca = conf(Xa) * ha
    best_t, best_v = 0.0, -1
    for t in np.unique(np.r_[0.0, ca]):
        ab = ca < t
        fa = (ab & aa).sum() / max(1, aa.sum())
        # balanced: a missed abstention weighs as much as a lost answer, in proportion
        v = (ya & ~ab).sum() / max(1, aa.sum()) + (ab & ~aa).sum() / max(1, (~aa).sum())
        if fa <= far and v > best_v:
            best_t, best_v = t, v
    Xt, yt, at, ht = signals(test_ids)
    ct = conf(Xt) * ht
    ab = ct < best_t
    res = {
        "answer_accuracy": float((yt & ~ab & at).sum() / max(1, at.sum())),
        "select_accuracy": float((yt & at).sum() / max(1, at.sum())),
        "abstain_accuracy": float((ab & ~at).sum() / max(1, (~at).sum())),
        "false_abstain_rate": float((ab & at).sum() / max(1, at.sum())),
        "n": len(test_ids),
    }
    Xm, _, _, hm = signals(test_ids, masked=True)
    res["masked_abstain_accuracy"] = float((conf(Xm) * hm < best_t).mean()) if len(Xm) else 0.0
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
        "name_scale": name_scale,
        "gates": list(gates),
        "type_fallback": delta,
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
    by = load(args.dump)
    questions = {json.loads(line)["id"]: json.loads(line) for line in args.questions.open()}
    ids = sorted(by)
    feats = [f for f in SELECT if f not in args.drop.split(",")]
    afeats = args.abstain.split(",") if args.abstain else ABSTAIN
    afeats = [f for f in afeats if f not in args.drop.split(",")]
    gates = tuple(g for g in args.gates.split(",") if g)
    folds = {i: fold_of(i, by[i], questions, args.folds) for i in ids}

    def fit(train_ids: list[str], test_ids: list[str]) -> tuple[dict, dict]:
        return run(
            by,
            questions,
            train_ids,
            test_ids,
            args.l2s,
            args.l2a,
            args.far,
            feats,
            afeats,
            not args.no_name_scale,
            args.mask,
            gates,
            args.type_fallback,
        )

    cv = []
    pooled: collections.Counter = collections.Counter()
    for k in range(args.folds):
        train = [i for i in ids if folds[i] != k]
        test = [i for i in ids if folds[i] == k]
        res, _ = fit(train, test)
        cv.append(res)
        n_ans = sum(questions[i]["answerable"] for i in test)
        pooled["ans"] += n_ans
        pooled["un"] += len(test) - n_ans
        pooled["ok"] += res["answer_accuracy"] * n_ans
        pooled["false"] += res["false_abstain_rate"] * n_ans
        pooled["abst"] += res["abstain_accuracy"] * (len(test) - n_ans)
        print(f"fold {k}: {json.dumps(res)}")
    mean = {k: round(float(np.mean([r[k] for r in cv])), 3) for k in cv[0] if k != "n"}
    print("CV mean:", json.dumps(mean))
    pool = {
        "answer_accuracy": round(pooled["ok"] / pooled["ans"], 3),
        "abstain_accuracy": round(pooled["abst"] / max(1, pooled["un"]), 3),
        "false_abstain_rate": round(pooled["false"] / pooled["ans"], 3),
    }
    print("CV pooled:", json.dumps(pool))
    res, model = fit(ids, ids)
    print("fit on all (train = test):", json.dumps(res))
    print(json.dumps(model, indent=1))
    if args.check is not None:
        held = {json.loads(x)["id"]: json.loads(x) for x in args.check_questions.open()}
        print("held-out check:", json.dumps(apply(model, load(args.check), held)))
    if args.write:
        model = {
            "version": 1,
            **model,
            "alternatives_margin": 0.5,
            "cv": {
                "folds": f"{args.folds}-fold by document number",
                "abstain": afeats,
                "l2a": args.l2a,
                "far": args.far,
                "mean": mean,
                "pooled": pool,
                "all": res,
            },
        }
        args.write.write_text(json.dumps(model, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
