"""Bytes to text for French documents: UTF-8 (BOM or not) or Windows-1252, mojibake repaired."""

from __future__ import annotations

import codecs
import re

import ftfy
from charset_normalizer import from_bytes

from poleqa.errors import IngestError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Valid multi-byte UTF-8 sequences: many of them in a file that is not valid UTF-8 means a
# UTF-8 file with a few stray Windows-1252 bytes (a file edited with two editors).
_UTF8_SEQ = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")

# Characters that never sit inside a French word: between two letters they betray text
# decoded with the wrong code page (cp850 "caf‚", mac-roman "rŽseau", latin-9 "c½ur").
_SUSPICIOUS_IN_WORD = re.compile(r"(?<=[^\W\d_])[‚ƒ„†‡ˆ‰‹›˜¤¦¨¸¼½¾ŠŽ“”•…](?=[^\W\d_])")

# Accented letters of French: a guessed decoding must produce (almost) only these.
_FRENCH_LETTERS = set("éèêëàâçîïôùûüÿœæÉÈÊËÀÂÇÎÏÔÙÛÜŸŒÆ")
# Legacy encodings of French text, tried when Windows-1252 reads wrong.
_LEGACY = ("iso8859-15", "cp850", "mac_roman")

# Control characters other than tab, newline, vertical tab, form feed and carriage return (a
# vertical tab is Word's line break in text it exports: cleaning.py makes it a newline).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")

_BINARY_FR = "fichier binaire, pas du texte"  # the staff's reason, whatever gave it away

_CP1252_FAMILY = {"cp1252", "windows-1252", "latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1"}


def decode_bytes(raw: bytes, declared: str | None = None) -> str:
    """The text of `raw` (`_decoded`), mojibake repaired in every outcome (`_check_controls`):
    text that went through UTF-8 read as Windows-1252 or Latin-1 before it was saved
    (« crÃ©Ã© », « lâ€™Ã‰tat ») reads « créé », « l’État » again, since neither search nor the
    reader would match it otherwise. ftfy repairs only sequences that cannot be French as
    written and leaves any other text as it is."""
    return _decoded(raw, declared)


def _utf16_without_bom(raw: bytes) -> str | None:
    """The text of a file in UTF-16 without its byte-order mark (saved so by some Windows
    tools: every other byte NUL, the Latin letters' high bytes), or None: it was said to be
    binary. Read only if it decodes and its controls are a text's."""
    sample = raw[:4096]
    if len(raw) % 2 or len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    for zeros, letters, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.9 * len(zeros) and letters.count(0) <= 0.1 * len(letters):
            try:
                return _check_controls(raw.decode(encoding))
            except (UnicodeDecodeError, IngestError):
                return None
    return None


def _decoded(raw: bytes, declared: str | None) -> str:
    """The text of `raw`, without BOM; IngestError if binary or of no recognisable encoding.

    Order: BOM, strict UTF-8, the declared charset (HTML), UTF-8 with a few stray Windows-1252
    bytes, Windows-1252 (a superset of the printable Latin-1); only when that reads wrong
    (letters of another code page inside words), the legacy French encodings and
    charset-normalizer's guess, kept only if the result reads as French.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return _check_controls(raw[len(bom) :].decode(encoding))
            except UnicodeDecodeError as exc:
                raise IngestError(
                    f"not valid {encoding.upper()} despite its byte-order mark",
                    f"encodage du texte non reconnu, marqué {encoding.upper()} sans en être",
                ) from exc
    if b"\x00" in raw:
        wide = _utf16_without_bom(raw)
        if wide is not None:
            return wide
        raise IngestError("binary file (it holds NUL bytes), not text", _BINARY_FR)
    try:
        return _check_controls(raw.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if declared and _codec_name(declared) not in (None, "utf-8", "cp1252"):
        try:
            text = raw.decode(_codec_name(declared) or "")
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            if not _SUSPICIOUS_IN_WORD.search(text) and _french_score(text) >= 0.95:
                return _check_controls(text)
    utf8_seqs = len(_UTF8_SEQ.findall(raw))
    high_bytes = len(_HIGH_BYTE.findall(raw))
    if utf8_seqs and 2 * _seq_bytes(raw) >= high_bytes:
        # Mostly UTF-8: keep the UTF-8 characters and read the stray bytes as Windows-1252.
        text = _decode_mixed(raw)
        # A lone "valid" pair may be two Windows-1252 letters ("É" + nbsp): demand evidence.
        if text is not None and (utf8_seqs >= 3 or _french_score(text) >= 0.95):
            return _check_controls(text)
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _SUSPICIOUS_IN_WORD.search(text):
        return _check_controls(text)
    guessed = _guess(raw)
    if guessed is not None:
        return _check_controls(guessed)
    raise IngestError(
        "could not determine the text encoding (neither UTF-8 nor Windows-1252); "
        "save the file as UTF-8",
        "encodage du texte non reconnu : enregistrez le fichier en UTF-8",
    )


def _codec_name(name: str) -> str | None:
    try:
        codec = codecs.lookup(name.strip().strip("\"'"))
    except LookupError:
        return None
    if codec.name in ("utf-8", "utf-8-sig"):
        return "utf-8"
    # Browsers read latin-1 declarations as Windows-1252 (WHATWG Encoding standard).
    if codec.name in ("cp1252", "iso8859-1", "latin-1") or name.lower() in _CP1252_FAMILY:
        return "cp1252"
    return codec.name


def _seq_bytes(raw: bytes) -> int:
    return sum(len(m) for m in _UTF8_SEQ.findall(raw))


class _Undecodable(Exception):
    pass


def _cp1252_fallback(err: UnicodeError) -> tuple[str, int]:
    assert isinstance(err, UnicodeDecodeError)
    bad = err.object[err.start : err.end]
    try:
        return bad.decode("cp1252"), err.end
    except UnicodeDecodeError as exc:
        raise _Undecodable from exc


codecs.register_error("poleqa-cp1252-fallback", _cp1252_fallback)


def _decode_mixed(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8", errors="poleqa-cp1252-fallback")
    except _Undecodable:
        return None


def _french_score(text: str) -> float:
    """Share of the non-ASCII letters that are French accented letters in a plausible place."""
    letters = good = 0
    previous = ""
    for ch in text:
        if ord(ch) >= 128 and ch.isalpha():
            letters += 1
            # A capital inside a lower-case word ("cafÇ") betrays a wrong code page.
            good += ch in _FRENCH_LETTERS and not (ch.isupper() and previous.islower())
        previous = ch
    return good / letters if letters else 1.0


def _guess(raw: bytes) -> str | None:
    """The best reading among legacy French encodings and charset-normalizer's guess, if it
    reads as French (else None: better skipped with a reason than indexed as mojibake)."""
    candidates: list[str] = []
    for encoding in _LEGACY:
        try:
            candidates.append(raw.decode(encoding))
        except UnicodeDecodeError:
            continue
    best = from_bytes(raw).best()
    if best is not None:
        candidates.append(str(best))
    best_text, best_score = None, 0.0
    for text in candidates:
        if _CONTROL.search(text) or _SUSPICIOUS_IN_WORD.search(text):
            continue
        score = _french_score(text)
        if score > best_score:
            best_text, best_score = text, score
    return best_text if best_score >= 0.95 else None


def _check_controls(text: str) -> str:
    """`text` without BOM, mojibake repaired (before controls are counted: UTF-8 read as
    Latin-1 turns « ’ » into « â\x80\x99 »), or IngestError if it is binary."""
    text = ftfy.fix_encoding(text.removeprefix("\ufeff"))
    if "\x00" in text:
        raise IngestError("binary file (it holds NUL characters), not text", _BINARY_FR)
    controls = len(_CONTROL.findall(text))
    if controls and controls > max(2, len(text) // 100):
        raise IngestError("binary file (too many control characters), not text", _BINARY_FR)
    return text
