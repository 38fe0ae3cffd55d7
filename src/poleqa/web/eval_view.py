"""The staff's « Évaluer » report: metrics named and explained in French, accuracy by type."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from poleqa.evaluation.metrics import group_accuracy
from poleqa.web.render import attr, decimal_fr, esc, message_html

# The metrics of `poleqa.evaluation.metrics.compute_metrics`, in the order shown: French name,
# one-line explanation, and how the value reads ("rate", "score", "ms" or "count").
METRICS: tuple[tuple[str, str, str, str], ...] = (
    (
        "answer_accuracy",
        "Exactitude des réponses",
        "Part des questions qui ont une réponse dans les documents pour lesquelles la réponse "
        "donnée contient l'une des réponses attendues.",
        "rate",
    ),
    (
        "answer_f1",
        "F1 de la réponse courte",
        "Recouvrement mot à mot entre la réponse courte et la réponse attendue, de 0 à 1 "
        "(1 = identiques).",
        "score",
    ),
    (
        "abstain_accuracy",
        "Abstention sur les questions sans réponse",
        "Part des questions sans réponse dans les documents où poleqa dit ne pas savoir (plus "
        "c'est haut, mieux c'est).",
        "rate",
    ),
    (
        "false_abstain_rate",
        "Abstentions à tort",
        "Part des questions qui ont une réponse où poleqa dit ne pas savoir (plus c'est bas, "
        "mieux c'est).",
        "rate",
    ),
    (
        "overall_accuracy",
        "Exactitude globale",
        "Part de toutes les questions traitées correctement (réponse juste ou abstention juste).",
        "rate",
    ),
    (
        "uncertain_rate",
        "Réponses signalées incertaines",
        "Part des réponses données que poleqa juge plus probablement fausses que justes, et "
        "présente comme incertaines.",
        "rate",
    ),
    (
        "sure_precision",
        "Justesse des réponses sûres",
        "Part des réponses non signalées incertaines qui sont justes (une réponse à une "
        "question sans réponse est fausse).",
        "rate",
    ),
    (
        "uncertain_precision",
        "Justesse des réponses incertaines",
        "Part des réponses signalées incertaines qui sont justes.",
        "rate",
    ),
    (
        "source_hit@1",
        "Bonne source en 1re position",
        "Part des questions dont un document attendu est la première source citée.",
        "rate",
    ),
    (
        "source_hit@3",
        "Bonne source parmi les 3 premières",
        "Part des questions dont un document attendu est parmi les 3 premières sources citées.",
        "rate",
    ),
    (
        "source_hit@5",
        "Bonne source parmi les 5 premières",
        "Part des questions dont un document attendu est parmi les 5 premières sources citées.",
        "rate",
    ),
    (
        "mrr@5",
        "Rang réciproque moyen (MRR@5)",
        "Moyenne de 1/rang du premier document attendu parmi les sources (0 s'il n'y est pas), "
        "de 0 à 1.",
        "score",
    ),
    (
        "latency_p50_ms",
        "Temps de réponse médian",
        "La moitié des questions ont reçu leur réponse en moins de ce temps.",
        "ms",
    ),
    (
        "latency_p95_ms",
        "Temps de réponse (95e centile)",
        "95 % des questions ont reçu leur réponse en moins de ce temps.",
        "ms",
    ),
    ("n_questions", "Questions", "Nombre de questions du jeu.", "count"),
    ("n_answerable", "Questions avec réponse", "Questions dont la réponse est attendue.", "count"),
    (
        "n_unanswerable",
        "Questions sans réponse",
        "Questions dont les documents ne contiennent pas la réponse (abstention attendue).",
        "count",
    ),
    ("n_errors", "Erreurs", "Questions qui n'ont pas pu être posées (trop longues…).", "count"),
)
# The question types of eval/domain (the `type` field); any other type is shown as written.
TYPE_NAMES = {
    "number": "nombre",
    "date": "date",
    "name": "nom",
    "list": "liste",
    "definition": "définition",
    "why": "pourquoi",
    "yesno": "oui / non",
    "paraphrase": "reformulation",
    "english": "en anglais",
    "unanswerable": "sans réponse",
    "other": "autre",
}
FORMAT_HELP = """\
**Format du jeu de questions.** Un fichier JSONL (un objet JSON par ligne) ou CSV (mêmes \
colonnes ; plusieurs valeurs d'une cellule séparées par `|`). Champs :

- `id` : identifiant de la question ;
- `question` : la question, telle qu'un citoyen la poserait ;
- `answers` : les réponses acceptées (une réponse donnée est juste si elle en contient une) ; \
liste vide pour une question sans réponse ;
- `sources` : les fichiers du corpus qui contiennent la réponse (liste, vide si inconnus) ;
- `answerable` : `true`, ou `false` si les documents ne contiennent pas la réponse (poleqa \
doit alors dire qu'il ne sait pas) ;
- `type` (facultatif) : le genre de question, pour les résultats par type (`number`, `date`, \
`name`, `list`, `definition`, `why`, `yesno`, `paraphrase`, `english`, `unanswerable`…).

Exemples de lignes (un pôle imaginaire) :

```json
{"id": "ex-001", "question": "Combien d'adhérents le pôle Lumière Alpine comptait-il en 2021 ?", \
"answers": ["148 adhérents", "148"], "sources": ["poles/lumiere-alpine-2021.md"], \
"answerable": true, "type": "number"}
{"id": "ex-002", "question": "Quel est le budget du pôle Lumière Alpine en 2040 ?", \
"answers": [], "sources": [], "answerable": false, "type": "unanswerable"}
```
"""


def value_text(value: object, kind: str) -> str:
    """A metric's value as read in French: « 64,0 % », « 0,643 » (a score from 0 to 1, as its
    explanation gives it), « 248 ms », « 120 »."""
    if not isinstance(value, int | float) or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "rate":
        return f"{decimal_fr(value * 100, 1)} %"
    if kind == "score":
        return decimal_fr(value, 3)
    if kind == "ms":
        return f"{value:.0f} ms"
    return str(int(value))


def metrics_table(metrics: Mapping[str, object]) -> str:
    """The main metrics that the run has, each with its French name and its explanation."""
    rows = [
        f"<tr><td><b>{esc(label)}</b><br><code>{esc(key)}</code></td>"
        f'<td class="pq-value">{esc(value_text(metrics[key], kind))}</td>'
        f"<td>{esc(explanation)}</td></tr>"
        for key, label, explanation, kind in METRICS
        if key in metrics
    ]
    return (
        '<table class="pq-table pq-metrics"><thead><tr><th>Mesure</th><th>Valeur</th>'
        "<th>Explication</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def type_chart(metrics: Mapping[str, float]) -> str:
    """Accuracy by question type as horizontal bars (plain HTML: nothing to download)."""
    groups = group_accuracy(dict(metrics), "type")
    if not groups:
        return ""
    rows = []
    for qtype, (accuracy, n) in sorted(groups.items(), key=lambda g: (-_sortable(g[1][0]), g[0])):
        width = 0.0 if math.isnan(accuracy) else max(0.0, min(1.0, accuracy)) * 100
        rows.append(
            f'<tr class="pq-type-row"><th scope="row">{esc(TYPE_NAMES.get(qtype, qtype))}'
            f"<br><code>{esc(qtype)}</code></th><td>{n}</td>"
            f"<td>{esc(value_text(accuracy, 'rate'))}</td>"
            f'<td class="pq-bar-cell"><span class="pq-bar" style="width:{attr(f"{width:.1f}")}%">'
            "</span></td></tr>"
        )
    return (
        "<p><b>Exactitude par type de question</b> (pour les questions sans réponse : part "
        "des abstentions).</p>"
        '<table class="pq-table pq-by-type"><thead><tr><th>Type</th><th>Questions</th>'
        '<th>Exactitude</th><th aria-hidden="true"></th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _sortable(value: float) -> float:
    return -1.0 if math.isnan(value) else value


def unfound_answers_html(ids: Sequence[str]) -> str:
    """The warning for questions none of whose expected answers is in a document they cite
    (`poleqa.evaluation.unfound_answers`), worded as the one for sources the corpus lacks."""
    if not ids:
        return ""
    shown = ", ".join(ids[:5]) + ("…" if len(ids) > 5 else "")
    return message_html(
        f"Attention : questions dont aucune réponse attendue ne figure dans les documents "
        f"qu'elles citent ({len(ids)}) ; une faute de frappe dans la réponse attendue les compte "
        f"comme des échecs, quelle que soit la réponse : {shown}",
        "info",
    )


def report_html(metrics: Mapping[str, float]) -> str:
    """The whole « Évaluer » summary: the explained metrics, then the chart by type."""
    return metrics_table(metrics) + type_chart(metrics)
