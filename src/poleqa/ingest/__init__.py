"""Reading the corpus folder: every supported file becomes a Document, bad files are skipped."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from poleqa.errors import CorpusError, IngestError
from poleqa.ingest import docx, files, html, md, pdf, txt
from poleqa.ingest.base import Extracted, Format, first_line, shorten
from poleqa.ingest.cleaning import clean_extracted
from poleqa.ingest.metadata import (
    Sidecar,
    is_sidecar,
    parse_sidecar,
    read_sidecar_bytes,
    sidecar_path,
    unused_sidecars,
)
from poleqa.names import SURROGATES, shown_name
from poleqa.types import Document, DocumentInfo, DocumentNote, Skipped

__all__ = [
    "FORMATS",
    "INGEST_VERSION",
    "SUPPORTED_EXTENSIONS",
    "CorpusListing",
    "CorpusScan",
    "bytes_fingerprint",
    "file_fingerprint",
    "is_sidecar",
    "iter_corpus_files",
    "list_corpus",
    "load_corpus",
    "read_document",
    "read_file_bytes",
    "shown_name",
    "unsupported_reason",
    "unsupported_reason_fr",
]

# Bump when readers change what they extract: fingerprints change, so every file is read again;
# the documents whose extraction came out the same keep their vectors (index.build_plan).
# 2: invisible characters dropped, vertical tabs and form feeds as newlines (cleaning.py); DOCX
# tracked insertions, fields, content controls, text boxes and nested tables; HTML site banner
# and footer dropped; titles capped at a word boundary. 3: Markdown header lines read through
# invisible characters (« Date\u200b: 2021-03-04 » gave no date and ended the header). 4: HTML
# and DOCX table rows « | a | b | » and list items « - a » / « 1. a », as in Markdown; DOCX
# footnotes; PDF words cut at a line's end joined, justified spaces collapsed, creation dates
# read strictly, AES-encrypted PDFs read; Markdown YAML front matter, a Markdown title never
# a comment in fenced code; a Word title naming the software dropped. 5: mojibake repaired in
# txt, md and HTML (decoding.py); PDF read with its layout (pdfplumber: paragraphs, headings,
# ruled tables, pdf_layout.py), running headers, footers and page numbers dropped. 6: the same,
# as finished (indexes built while 5 was under way hold older PDF text). 7: a title taken from
# the first line with a letter or a digit (a Markdown file opening with a front matter block
# that is not YAML was titled « --- »). 8: a header or metadata date MM/AAAA read (« 09/2018 »,
# as the staff pages show a month's date; it was no date).
INGEST_VERSION = 8

# Document.text of a txt/md file is its decoded characters (mojibake repaired) with the BOM
# dropped, CRLF/CR turned into LF, vertical tabs and form feeds into LF and the invisible
# characters that split words (soft hyphen, zero-width spaces and joiners, BOM) dropped,
# nothing else: offsets (chunks, citations) refer to that text. HTML, PDF and DOCX texts are
# the extracted text (see each reader), cleaned the same way (cleaning.py).
FORMATS: dict[str, Format] = {
    ext: fmt for fmt in (txt.FORMAT, md.FORMAT, html.FORMAT, pdf.FORMAT, docx.FORMAT)
    for ext in fmt.extensions
}  # fmt: skip
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(sorted(FORMATS))


@dataclass(frozen=True)
class CorpusScan:
    """The readable documents of a corpus folder and the files that had to be skipped."""

    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]


def _check_name(name: str) -> None:
    if SURROGATES.search(name):
        raise IngestError(
            "the file name is not UTF-8 text: rename the file",
            "nom de fichier aux caractères illisibles : renommez le fichier",
        )


def _source(root: Path, path: Path) -> str:
    """`path` relative to the corpus root, with "/" separators."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError as exc:
            raise IngestError(
                f"{path} is not inside the corpus folder {root}",
                "fichier hors du dossier des documents",
            ) from exc


def _absolute(root: Path, path: Path) -> Path:
    return (
        path if path.is_absolute() or path.parts[: len(root.parts)] == root.parts else root / path
    )


def _is_candidate(root: Path, path: Path) -> bool:
    """A file the user may mean as a document: not hidden, not a sidecar, not the README."""
    rel = path.relative_to(root)
    if any(part.startswith(".") for part in rel.parts):
        return False
    if path.name.startswith("~$"):  # Office lock files
        return False
    if len(rel.parts) == 1 and path.name.lower() == "readme.md":
        return False
    return not is_sidecar(path)


def _walk(root: Path, entries: list[Path]) -> list[Path]:
    """The candidates among `entries` (a files.walk of `root`)."""
    return [p for p in entries if _is_candidate(root, p)]


def _unreadable(root: Path, walked: files.Walk) -> list[Skipped]:
    """The folders the walk could not open, named as « folder/ » (« ./ »: the corpus itself)."""
    return [
        Skipped(shown_name(folder.relative_to(root).as_posix() + "/"), why, why_fr)
        for folder, why, why_fr in walked.unreadable
    ]


def _documents(candidates: list[Path]) -> list[Path]:
    """The supported files among `candidates`, a file linked under two names once (files.once)."""
    return files.once([p for p in candidates if p.suffix.lower() in FORMATS])


def _check_root(root: Path) -> None:
    if not root.exists():
        raise CorpusError(
            f"corpus folder not found: {root}", f"Le dossier des documents est introuvable : {root}"
        )
    if not root.is_dir():
        raise CorpusError(
            f"the corpus path is not a folder: {root}",
            f"Le chemin des documents n'est pas un dossier : {root}",
        )


@dataclass(frozen=True)
class CorpusListing:
    """What one walk of a corpus folder finds: the documents to read, the files left out for
    their type, and the metadata files no document reads (with why); each sorted."""

    documents: list[Path]
    unsupported: list[Path]
    unused_sidecars: list[Skipped]
    unreadable_folders: list[Skipped]


def list_corpus(root: Path) -> CorpusListing:
    """The corpus folder `root` walked once (hidden files, sidecars and the root README.md are
    not documents; linked folders walked once: files.walk; a file linked under another name
    read once: files.once); CorpusError if `root` is not a folder."""
    _check_root(root)
    walked = files.walk(root)
    candidates = _walk(root, walked.entries)
    documents = _documents(candidates)
    return CorpusListing(
        documents=documents,
        unsupported=[p for p in candidates if p.suffix.lower() not in FORMATS],
        unused_sidecars=_unused_sidecars(root, walked.entries, documents),
        unreadable_folders=_unreadable(root, walked),
    )


def iter_corpus_files(root: Path) -> list[Path]:
    """The supported files under `root`, sorted by relative path (`list_corpus`)."""
    return list_corpus(root).documents


def _unused_sidecars(root: Path, entries: list[Path], documents: list[Path]) -> list[Skipped]:
    unused = unused_sidecars(entries, documents)
    return [
        Skipped(shown_name(p.relative_to(root).as_posix()), why, why_fr)
        for p, why, why_fr in unused
    ]


def _read_bytes(path: Path) -> bytes:
    """A corpus file's bytes; IngestError for a pipe, a device, a file above the size limit."""
    return files.read_bounded(path)


def bytes_fingerprint(raw: bytes, sidecar: bytes | None) -> str:
    """The file_fingerprint of a file whose bytes and sidecar's bytes were `raw`, `sidecar`
    (also the `content_hash` of the Document read from them)."""
    digest = hashlib.sha256(f"poleqa-ingest-{INGEST_VERSION}\0".encode())
    digest.update(len(raw).to_bytes(8, "big"))
    digest.update(raw)
    if sidecar is not None:
        digest.update(b"\0sidecar\0" + sidecar)
    return digest.hexdigest()


def file_fingerprint(root: Path, path: Path) -> str:
    """sha256 of the file's bytes and of its sidecar's bytes (changes when either changes)."""
    path = _absolute(root, path)
    _check_name(str(path))
    return bytes_fingerprint(*read_file_bytes(root, path))


def read_file_bytes(root: Path, path: Path) -> tuple[bytes, bytes | None]:
    """The bytes of a corpus file and of its sidecar (None without one); IngestError if either
    cannot be read. Give them to read_document to fingerprint exactly what it reads."""
    path = _absolute(root, path)
    return _read_bytes(path), read_sidecar_bytes(path)


def read_document(
    root: Path, path: Path, data: tuple[bytes, bytes | None] | None = None
) -> Document:
    """The Document of one corpus file; IngestError(reason) if it cannot be used.

    `data`: the file's and its sidecar's bytes, already read (read_file_bytes); else read here.
    """
    path = _absolute(root, path)
    source = _source(root, path)
    _check_name(source)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(
            f"unsupported file type {path.suffix or '(no extension)'!r}", _unsupported_fr(path)
        )
    # Read once: the fingerprint describes exactly the bytes the text came from.
    raw, sidecar_raw = data if data is not None else read_file_bytes(root, path)
    if not raw:
        raise IngestError("the file is empty", "fichier vide")
    if not raw.strip():
        raise IngestError("the file holds only whitespace", _BLANK_FR)
    sidecar = parse_sidecar(sidecar_raw, sidecar_path(path))
    try:
        extracted = clean_extracted(fmt.read(raw))
    except IngestError:
        raise
    except Exception as exc:  # a reader bug or a library surprise costs one file, not the corpus
        raise IngestError(
            f"the {fmt.name} file could not be read ({type(exc).__name__})",
            f"fichier {fmt.name.upper()} illisible",
        ) from exc
    if not extracted.text.strip():  # a text file of spaces and invisible characters: blank too
        if fmt.verbatim:
            raise IngestError("the file holds only whitespace", _BLANK_FR)
        raise IngestError(
            "no text could be extracted from the file", "aucun texte n'a pu être extrait du fichier"
        )
    if not extracted.text[extracted.body_start :].strip():
        raise IngestError(
            "the file holds header lines but no text", "lignes d'en-tête seules, sans texte"
        )
    info = DocumentInfo(
        source=source,
        title=_title(sidecar, extracted, path),
        date=sidecar.date or extracted.date,
        organisation=sidecar.organisation or extracted.organisation,
        url=sidecar.url or extracted.url,
        format=fmt.name,
        content_hash=bytes_fingerprint(raw, sidecar_raw),
    )
    return Document(
        info=info,
        text=extracted.text,
        body_start=extracted.body_start,
        pages=extracted.pages,
        notes=_notes(source, sidecar, extracted),
    )


def _notes(source: str, sidecar: Sidecar, extracted: Extracted) -> tuple[DocumentNote, ...]:
    """What to fix in a document read all the same: a date in its header that is not one. A
    sidecar's bad date refuses the document (it was written for poleqa alone); a header is
    the file's own text, and refusing it would lose the document for a typo."""
    bad = extracted.bad_date
    if bad is None or sidecar.date is not None:  # the sidecar's date stands in for it
        return ()
    return (
        DocumentNote(
            source,
            f"indexed without a date: the date {shorten(bad, 60)!r} in its header is not one "
            "(expected YYYY-MM-DD, YYYY-MM or YYYY)",
            f"indexé sans date : la date « {shorten(bad, 40)} » de son en-tête n'en est pas "
            "une (attendu AAAA-MM-JJ, AAAA-MM ou AAAA)",
        ),
    )


def _title(sidecar: Sidecar, extracted: Extracted, path: Path) -> str:
    """The sidecar's title, else the file's, else the file name; at most 200 characters
    (a whole first line of 10,000 characters, a <title> stuffed with keywords)."""
    # the cleaned text's first line: a title the reader found may have been invisible characters
    title = sidecar.title or (extracted.title or "").strip() or first_line(extracted.text)
    return shorten(title or path.stem.replace("_", " ").replace("-", " ").strip() or path.name)


_BLANK_FR = "fichier vide, rien que des espaces"


def unsupported_reason(path: Path, listed: bool = True) -> str:
    """Why a file that is not a document is left out: its type (`listed`: with the supported
    ones), or a link to nothing."""
    broken = files.broken_link(path)
    if broken:
        return f"cannot read the file: {broken}"
    reason = f"unsupported file type {path.suffix or '(no extension)'!r}"
    return f"{reason} ({', '.join(SUPPORTED_EXTENSIONS)})" if listed else reason


def unsupported_reason_fr(path: Path) -> str:
    """`unsupported_reason` for the staff, in French: « type de fichier .xyz non pris en
    charge », « illisible : lien symbolique vers X, qui n'existe pas »."""
    broken = files.broken_link(path, french=True)
    return f"illisible : {broken}" if broken else _unsupported_fr(path)


def _unsupported_fr(path: Path) -> str:
    if not path.suffix:
        return "fichier sans extension, type non pris en charge"
    return f"type de fichier {shown_name(path.suffix)} non pris en charge"


def load_corpus(root: Path) -> CorpusScan:
    """Every document under `root`; unreadable or unsupported files go to `skipped`."""
    _check_root(root)
    documents: list[Document] = []
    skipped: list[Skipped] = []
    walked = files.walk(root)
    candidates = _walk(root, walked.entries)
    readable = _documents(candidates)
    once = set(readable)
    for path in candidates:
        source = shown_name(path.relative_to(root).as_posix())
        if path.suffix.lower() not in FORMATS:
            skipped.append(Skipped(source, unsupported_reason(path), unsupported_reason_fr(path)))
            continue
        if path not in once:  # a link to a document read under its own name
            continue
        try:
            documents.append(read_document(root, path))
        except IngestError as exc:
            skipped.append(Skipped(source, exc.message, exc.message_fr))
    skipped += _unused_sidecars(root, walked.entries, readable)
    skipped += _unreadable(root, walked)
    return CorpusScan(documents=tuple(documents), skipped=tuple(skipped))
