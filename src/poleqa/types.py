"""Frozen dataclasses flowing between poleqa components (documents, chunks, hits, answers)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PageSpan:
    """A page of a paged source (PDF): its 1-based number and its character span in the text."""

    page: int
    start: int
    end: int


@dataclass(frozen=True)
class DocumentInfo:
    """Everything a citation needs about a document, without its text."""

    source: str  # path relative to the corpus root, POSIX separators
    title: str
    date: str | None = None  # ISO 8601: "YYYY-MM-DD", "YYYY-MM" or "YYYY"
    organisation: str | None = None
    url: str | None = None
    format: str = "txt"  # txt | md | html | pdf | docx
    content_hash: str = ""  # sha256 of the raw file bytes and its metadata

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date and self.date[:4].isdigit() else None


@dataclass(frozen=True)
class DocumentNote:
    """Something to fix in a document indexed all the same (a date in its header that is not
    one): `message` in English (the CLI, logs), `message_fr` for the staff area."""

    source: str
    message: str
    message_fr: str


@dataclass(frozen=True)
class Document:
    """A readable document: its text (offsets refer to it) and where the body starts.

    `text` holds the decoded characters exactly as read (for HTML/PDF/DOCX: the extracted text);
    `body_start` skips header lines that only carry metadata (e.g. `# Titre` / `Source:` / `Date:`).
    `notes`: what reading the file found to fix; not stored in the index, so said by the build
    that reads the file (a new or changed one), as a skipped file is.
    """

    info: DocumentInfo
    text: str
    body_start: int = 0
    pages: tuple[PageSpan, ...] = ()
    notes: tuple[DocumentNote, ...] = field(default=(), compare=False)

    @property
    def source(self) -> str:
        return self.info.source

    def page_at(self, offset: int) -> int | None:
        for span in self.pages:
            if span.start <= offset < span.end:
                return span.page
        return None


@dataclass(frozen=True)
class Skipped:
    """A file that could not be ingested, and why: `reason` in English (logs, the CLI summary,
    the index manifest), `reason_fr` for the staff area, short (« fichier vide »)."""

    source: str
    reason: str
    reason_fr: str = "illisible"


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: `document.text[start:end] == text`."""

    id: int  # position in the index's chunk store
    source: str
    start: int
    end: int
    text: str
    page: int | None = None


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document, by offsets into the document text."""

    id: int  # position in the index's sentence store (row of the sentence vectors)
    source: str
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the scores that made it."""

    chunk: Chunk
    info: DocumentInfo
    score: float
    rank: int  # 1-based rank after fusion
    dense_score: float | None = None
    lexical_score: float | None = None


@dataclass(frozen=True)
class Filters:
    """Optional restrictions on retrieval."""

    sources: tuple[str, ...] = ()  # keep only these documents (paths relative to the corpus)
    date_from: str | None = None  # ISO date prefix, inclusive
    date_to: str | None = None  # ISO date prefix, inclusive

    def undated_left_out(self, infos: Iterable[DocumentInfo]) -> int:
        """How many documents a date filter leaves out for having no date (of those `sources`
        keeps): they may hold the answer all the same, so `ask`, `search` and the staff's
        « Vérifier » say it (`undated_note`)."""
        if not (self.date_from or self.date_to):
            return 0
        kept = set(self.sources)
        return sum(1 for i in infos if not i.date and (not kept or i.source in kept))


def undated_note(count: int) -> str:
    """What is said of the `count` documents without a date a date filter left out."""
    if count == 1:
        return "1 document sans date a été écarté par le filtre de dates."
    return f"{count} documents sans date ont été écartés par le filtre de dates."


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation, used to resolve follow-up questions."""

    question: str
    answer: str | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: the passage, where it is, and what to highlight in it."""

    n: int
    info: DocumentInfo
    start: int  # passage offsets in the document text
    end: int
    passage: str
    score: float
    answer_start: int | None = None  # offsets (in the document text) of the sentence to highlight
    answer_end: int | None = None
    short_start: int | None = None  # offsets of the short answer (number, date, name, list)
    short_end: int | None = None


@dataclass(frozen=True)
class Answer:
    """poleqa's reply: a span copied from a source, or an abstention with the closest passages."""

    question: str
    text: str | None  # None when abstained
    abstained: bool
    confidence: float  # in [0, 1]
    short_answer: str | None = None
    citations: tuple[Citation, ...] = ()  # citation 1 is the passage the answer was taken from
    resolved_question: str | None = None  # the question after follow-up resolution, if changed
    language: str = "fr"  # language of the question ("fr" or "en")
    notes: tuple[str, ...] = field(default_factory=tuple)  # French remarks shown to the user
    index_version: str = ""  # the index generation that answered (its folder's name), if known
    # Answered, but the answerer rates the answer more likely wrong than right: shown as such.
    uncertain: bool = False


@dataclass(frozen=True)
class ExtractedAnswer:
    """A span a reader extracted from one retrieved passage, in document offsets."""

    hit: Hit  # the passage read
    start: int  # span offsets in the document text
    end: int
    score: float  # the reader's span score (start + end logits)
    no_answer: float  # the reader's no-answer score for this passage ([CLS] start + end logits)
