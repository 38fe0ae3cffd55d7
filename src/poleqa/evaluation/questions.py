"""Question sets for evaluation: JSON Lines or CSV files read into frozen `Question` records."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from poleqa.config import MAX_QUESTION_CHARS
from poleqa.errors import QuestionSetError
from poleqa.jsontext import parse_json
from poleqa.names import shown_name
from poleqa.query import without_surrogates

REQUIRED = ("id", "question", "answers", "sources", "answerable")
_TRUE = {"true", "1", "oui", "yes", "vrai", "o", "y"}
_FALSE = {"false", "0", "non", "no", "faux", "n"}
_LIST_SEP = "|"  # CSV cells holding several answers, sources or tags
SHOWN_PROBLEMS = 20  # a file of thousands of bad lines lists the first ones and a count


@dataclass(frozen=True)
class Question:
    """One evaluation question, its gold answers and the documents that hold them."""

    id: str
    question: str
    answers: tuple[str, ...]  # strings found verbatim (case-insensitive) in a source
    sources: tuple[str, ...]  # paths relative to the corpus root
    answerable: bool
    type: str = "other"
    tags: tuple[str, ...] = ()
    line: int = 0  # where it was read (1-based), for messages


@dataclass(frozen=True)
class _Problem:
    line: int
    en: str
    fr: str


def set_name(path: Path) -> str:
    """A short name for a question set: the file stem, or its folder for `…/questions.jsonl`."""
    stem = path.stem
    if stem.lower() in {"questions", "question", "qa", "set"} and path.parent.name:
        return path.parent.name
    return stem


ARRAY = (
    "the file is one JSON array; JSON Lines is expected: one question object per line",
    "le fichier est un tableau JSON ; le format attendu est JSON Lines : une question (un objet "
    "JSON) par ligne",
)

SQUAD = (
    'the file is in SQuAD format (a "data" list): evaluate the reader alone on it with '
    "poleqa eval --squad FILE",
    "le fichier est au format SQuAD (une liste « data ») : ce n'est pas un jeu de questions "
    "JSON Lines ou CSV",
)
SPREAD = (
    "the file is one JSON object over several lines; JSON Lines is expected: one question "
    "object per line",
    "le fichier est un seul objet JSON sur plusieurs lignes ; le format attendu est JSON "
    "Lines : une question (un objet JSON) par ligne",
)


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL or CSV question set; QuestionSetError lists every malformed line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise QuestionSetError(
            f"Cannot read the question set {path}: {e.strerror or e}.",
            f"Le fichier de questions {path.name} ne peut pas être lu.",
        ) from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise QuestionSetError(
            f"{path.name}: not UTF-8 text (byte {e.start}); save it as UTF-8 (in Excel: "
            "« CSV UTF-8 »).",
            f"{path.name} : ce n'est pas un texte UTF-8 ; enregistrez-le en UTF-8 (dans Excel : "
            "Enregistrer sous, « CSV UTF-8 »).",
        ) from e
    return parse_questions(text, _format_of(path, text), name=path.name)


def parse_questions(text: str, fmt: str, name: str = "questions") -> list[Question]:
    """Questions from the text of a set; `fmt` is "jsonl" or "csv"."""
    if fmt == "csv":
        records, problems = _csv_records(text)
    elif _json_array(text):  # as `json.dump` of a list writes it
        records, problems = [], [_Problem(0, ARRAY[0], ARRAY[1])]
    elif (whole := _one_object(text)) is not None:  # a SQuAD file, or an object over lines
        said = SQUAD if isinstance(whole.get("data"), list) else SPREAD
        records, problems = [], [_Problem(0, said[0], said[1])]
    else:
        records, problems = _jsonl_records(text)
    questions: list[Question] = []
    for line, record in records:
        q = _question(line, record, problems)
        if q is not None:
            questions.append(q)
    seen: dict[str, int] = {}
    for q in questions:
        if q.id in seen:
            problems.append(
                _Problem(
                    q.line,
                    f"duplicate id {q.id!r} (first on line {seen[q.id]})",
                    f"identifiant « {q.id} » en double (déjà ligne {seen[q.id]})",
                )
            )
        else:
            seen[q.id] = q.line
    if not questions and not problems:
        problems.append(_Problem(0, "no questions", "aucune question"))
    if problems:
        _raise(name, problems)
    return questions


def _one_object(text: str) -> dict | None:
    """The file's JSON object when the whole file is one, written over several lines."""
    if not text.lstrip().startswith("{") or "\n" not in text.strip():
        return None
    try:
        whole = parse_json(text)
    except ValueError:
        return None
    return whole if isinstance(whole, dict) else None


def _json_array(text: str) -> bool:
    if not text.lstrip().startswith("["):
        return False
    try:
        return isinstance(parse_json(text), list)
    except ValueError:
        return False


def _format_of(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".json", ".ndjson"}:
        return "jsonl"
    if suffix in {".csv", ".tsv"}:
        return "csv"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def _raise(name: str, problems: list[_Problem]) -> None:
    problems = sorted(problems, key=lambda p: p.line)
    shown, more = problems[:SHOWN_PROBLEMS], len(problems) - SHOWN_PROBLEMS

    def where(p: _Problem, word: str, colon: str) -> str:
        return f"{word} {p.line}{colon} " if p.line else ""

    # one problem a line, whatever a question or a name holds (a newline, an escape sequence)
    name = shown_name(name)
    en = "\n".join(f"  - {where(p, 'line', ':')}{shown_name(p.en)}" for p in shown)
    fr = "\n".join(f"  - {where(p, 'ligne', ' :')}{shown_name(p.fr)}" for p in shown)
    if more > 0:
        en += f"\n  - … and {more} more"
        fr += f"\n  - … et {more} autre(s)"
    plural = "s" if len(problems) > 1 else ""
    raise QuestionSetError(
        f"{name}: {len(problems)} problem{plural}, nothing was asked:\n{en}",
        f"Le fichier de questions {name} est mal formé ({len(problems)} problème{plural}) :\n{fr}",
    )


def _jsonl_records(text: str) -> tuple[list[tuple[int, dict]], list[_Problem]]:
    records: list[tuple[int, dict]] = []
    problems: list[_Problem] = []
    # Only "\n" ends a record: str.splitlines() also splits on U+2028, U+0085, \x0c…, which
    # JSON allows raw inside strings (and json.dumps(ensure_ascii=False) writes so).
    for n, raw_line in enumerate(text.split("\n"), 1):
        line = raw_line.removesuffix("\r")
        if not line.strip():
            continue  # blank lines (a trailing newline, a separator) carry nothing
        try:
            obj = parse_json(line)
        except json.JSONDecodeError as e:
            problems.append(
                _Problem(n, f"invalid JSON ({e.msg})", f"JSON invalide (colonne {e.colno})")
            )
            continue
        except ValueError as e:  # « [[[[… » thousands deep, or a number of 5,000 digits
            if isinstance(e.__cause__, RecursionError):
                problems.append(_Problem(n, "JSON nested too deeply", "JSON imbriqué trop profond"))
            else:
                english, french = (
                    "a number of more than 4,300 digits",
                    "nombre de plus de 4 300 chiffres",
                )
                problems.append(
                    _Problem(n, f"invalid JSON ({english})", f"JSON invalide ({french})")
                )
            continue
        if not isinstance(obj, dict):
            problems.append(_Problem(n, "not a JSON object", "ce n'est pas un objet JSON"))
            continue
        records.append((n, obj))
    return records, problems


def _csv_records(text: str) -> tuple[list[tuple[int, dict]], list[_Problem]]:
    # The header tells the delimiter only: sniffed from a line without quotes, the rest of
    # the dialect (doublequote=False) would leave Excel's `""` escapes doubled in the cells.
    try:
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return [], []
    except csv.Error as e:
        return [], [_Problem(1, f"unreadable CSV header ({e})", "en-tête CSV illisible")]
    missing = [k for k in REQUIRED if k not in header]
    if missing and len(header) == 1:  # one column: the cells are split by another character
        return [], [
            _Problem(
                1,
                "CSV header holds a single column: separate the columns with « , », « ; » or a tab",
                "l'en-tête CSV n'a qu'une colonne : séparez les colonnes par « , », « ; » ou "
                "une tabulation",
            )
        ]
    if missing:
        cols = ", ".join(missing)
        return [], [
            _Problem(1, f"CSV header lacks column(s) {cols}", f"colonne(s) absente(s) : {cols}")
        ]
    records: list[tuple[int, dict]] = []
    problems: list[_Problem] = []
    raw_lines = text.splitlines()  # CR-only (Excel for Mac) too, as the reader counts them
    while True:
        line = reader.line_num + 1  # where the record starts: a quoted cell may span lines
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problems.append(_Problem(line, f"unreadable CSV ({e})", "CSV illisible"))
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            opened = line <= len(raw_lines) and raw_lines[line - 1].count('"') % 2 == 1
            problems.append(_cells_problem(len(row), len(header), line, reader.line_num, opened))
            continue
        cells = dict(zip(header, (c.strip() for c in row), strict=True))
        record: dict[str, object] = dict(cells)
        for key in ("answers", "sources", "tags"):
            if key in cells:
                record[key] = [p.strip() for p in cells[key].split(_LIST_SEP) if p.strip()]
        if not cells.get("type"):
            record.pop("type", None)
        records.append((line, record))
    return records, problems


def _cells_problem(found: int, expected: int, first: int, last: int, opened: bool) -> _Problem:
    """A record of the wrong width, at the line it starts; one that runs over several lines
    most often holds a quote never closed, which swallowed the lines after it (`opened`: its
    first line holds an odd number of quotes)."""
    en, fr = f"{found} cells, expected {expected}", f"{found} cellules au lieu de {expected}"
    if last > first:
        en += f' (a quote « " » opened on this line runs to line {last})'
        fr += f" (un guillemet « \" » ouvert sur cette ligne court jusqu'à la ligne {last})"
    elif opened:
        en += ' (a quote « " » opened on this line is never closed)'
        fr += " (un guillemet « \" » ouvert sur cette ligne n'est jamais fermé)"
    return _Problem(first, en, fr)


def _as_bool(value: object) -> bool | None:
    """true / false, as JSON, as the words a CSV holds, or 1 / 0 (as CSV and SQuAD's
    is_impossible take them)."""
    if isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _TRUE:
            return True
        if v in _FALSE:
            return False
    return None


def _default_type(answerable: bool | None) -> str:
    return "other" if answerable else "unanswerable"


def _str_list(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return tuple(without_surrogates(x).strip() for x in value if x.strip())
    return None


def _question(line: int, record: dict, problems: list[_Problem]) -> Question | None:
    """A Question, or None after appending what is wrong with the record to `problems`."""
    before = len(problems)

    def bad(en: str, fr: str) -> None:
        problems.append(_Problem(line, en, fr))

    missing = [k for k in REQUIRED if k not in record]
    if missing:
        keys = ", ".join(missing)
        bad(f"missing key(s) {keys}", f"clé(s) manquante(s) : {keys}")
        return None
    qid = record["id"]
    if isinstance(qid, bool) or not isinstance(qid, str | int) or not str(qid).strip():
        bad("id must be a non-empty string", "l'identifiant doit être un texte non vide")
    text = record["question"]
    if not isinstance(text, str) or not text.strip():
        bad("question must be a non-empty string", "la question doit être un texte non vide")
    elif not any(c.isalnum() for c in text):  # « ??? »: asked, it would only be refused
        bad("question holds no word, only punctuation", "la question ne contient aucun mot")
    elif len(asked := without_surrogates(text).strip()) > MAX_QUESTION_CHARS:
        # what `ask` and the chat refuse (query.validate_question): asked, it would only fail
        bad(
            f"question too long ({len(asked)} characters; `poleqa ask` and the chat take at most "
            f"{MAX_QUESTION_CHARS})",
            f"question trop longue ({len(asked)} caractères ; le chat en accepte "
            f"{MAX_QUESTION_CHARS} au plus)",
        )
    answerable = _as_bool(record["answerable"])
    if answerable is None:
        bad("answerable must be true or false", "answerable doit valoir true ou false")
    answers = _str_list(record["answers"])
    if answers is None:
        bad("answers must be a list of strings", "answers doit être une liste de textes")
    sources = _str_list(record["sources"])
    if sources is None:
        bad("sources must be a list of strings", "sources doit être une liste de textes")
    tags = _str_list(record.get("tags", []))
    if tags is None:
        bad("tags must be a list of strings", "tags doit être une liste de textes")
    qtype = record.get("type")
    if qtype is not None and not (isinstance(qtype, str) and qtype.strip()):
        bad("type must be a non-empty string", "type doit être un texte non vide")
    if answerable is True and answers == ():
        bad(
            "answerable question without answers",
            "question marquée « avec réponse » mais sans réponse attendue",
        )
    if answerable is False and answers:
        bad("unanswerable question with answers", "question sans réponse mais avec des réponses")
    if len(problems) > before:
        return None
    assert answers is not None and sources is not None and tags is not None
    # A JSON « \\ud800 » escape decodes to a lone surrogate, which the reports cannot be
    # written with: replaced here, before any question is asked.
    return Question(
        id=without_surrogates(str(qid)).strip(),
        question=without_surrogates(str(text)).strip(),
        answers=answers,
        sources=tuple(s.replace("\\", "/").removeprefix("./") for s in sources),
        answerable=bool(answerable),
        type=without_surrogates(str(qtype)).strip() if qtype else _default_type(answerable),
        tags=tags,
        line=line,
    )
