"""An evaluation set's Markdown documents converted into PDF, DOCX and HTML corpora (same words).

Usage: python bench/format_corpus.py SET_DIR OUT_DIR [--formats pdf,docx,html] [--font-dir DIR]

SET_DIR (e.g. eval/fresh6) holds corpus/*.md and questions.jsonl. Writes OUT_DIR/<format>/ (with
`.meta.json` sidecars, the seeds linked) and OUT_DIR/q-<ext>.jsonl (`sources` renamed). Formats:
pdf, docx, html; ablations pdf-nofooter, docx-nohdr. See docs/quality.md « Answers by file format ».
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from functools import partial
from itertools import groupby
from pathlib import Path
from typing import Any

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph
from fpdf import FPDF
from fpdf.fonts import FontFace

from poleqa.errors import PoleqaError
from poleqa.ingest import read_document

REPO = Path(__file__).resolve().parents[1]
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {"": "", "B": "-Bold", "I": "-Oblique", "BI": "-BoldOblique"}  # style: DejaVuSans<…>.ttf
FORMATS = ("pdf", "docx", "html", "pdf-nofooter", "docx-nohdr")
# The creator (PDF) and author (DOCX) of the corpora measured in docs/quality.md: a rerun matches.
CREATOR = "convert.py"

# ("heading", level, text) ("para", text with \n) ("list", ordered, start, [items])
# ("table", header cells, [row cells]) ("hr",)
Block = tuple[Any, ...]
Meta = dict[str, str]
Writer = Callable[[Meta, list[Block], Path], None]

_META = ("title", "date", "url", "organisation")  # what a sidecar carries (corpus/README.md)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_BULLET = re.compile(r"^[-*+][ \t]+(.*)$")
_ORDERED = re.compile(r"^(\d+)\.[ \t]+(.*)$")
_RULE_ROW = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")
_INLINE = re.compile(r"\*\*(.+?)\*\*|\*(.+?)\*")


class FormatError(ValueError):
    """A Markdown document outside the subset this converter reads."""


def parse(path: Path) -> tuple[Meta, list[Block]]:
    """The metadata poleqa's Markdown reader gives the document, and its body's blocks, title
    first (the converted document shows it, as a real one would)."""
    try:
        doc = read_document(path.parent, path)
    except PoleqaError as e:
        raise FormatError(f"{path}: {e.message}") from e
    meta: Meta = {k: v for k, v in asdict(doc.info).items() if k in _META and v}
    lines = doc.text[doc.body_start :].split("\n")
    return meta, [("heading", 1, meta["title"]), *_body(path, lines)]


def _kind(s: str) -> str:
    """What a stripped body line is: a run of paragraph, table or list lines is one block."""
    if not s:
        return "blank"
    if _HEADING.match(s):
        return "heading"
    if s in ("---", "***", "___"):
        return "hr"
    if s.startswith("|"):
        return "table"
    if _BULLET.match(s):
        return "bullet"
    return "ordered" if _ORDERED.match(s) else "para"


def _body(path: Path, lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    for kind, group in groupby((line.strip() for line in lines), key=_kind):
        rows = list(group)
        if kind == "para":
            blocks.append(("para", "\n".join(rows)))
        elif kind == "heading":
            blocks += [("heading", len(h[1]), h[2]) for h in map(_HEADING.match, rows) if h]
        elif kind == "hr":
            blocks += [("hr",)] * len(rows)
        elif kind == "table":
            if len(rows) < 2 or not _RULE_ROW.match(rows[1]):
                raise FormatError(f"{path}: a table without its |---| row: {rows[:2]}")
            cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
            blocks.append(("table", cells[0], cells[2:]))
        elif kind in ("bullet", "ordered"):
            ordered = kind == "ordered"
            found = [m for m in map((_ORDERED if ordered else _BULLET).match, rows) if m]
            start = int(found[0][1]) if ordered else 1
            blocks.append(("list", ordered, start, [m[2 if ordered else 1] for m in found]))
    return blocks


def runs(text: str) -> list[tuple[str, bool, bool]]:
    """Inline **bold** / *italic* as (text, bold, italic) runs."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            out.append((text[pos : m.start()], False, False))
        out.append((m[1], True, False) if m[1] is not None else (m[2], False, True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False, False))
    return out


def plain(text: str) -> str:
    return "".join(t for t, _, _ in runs(text))


def iso_datetime(value: str) -> datetime:
    """`2016`, `2016-05` or `2016-05-03` at 9:00 (a missing month or day is the first)."""
    parts = [int(p) for p in value.split("-")] + [1, 1]
    return datetime(parts[0], parts[1], parts[2], 9, 0, 0)


class _Pdf(FPDF):
    footer_text = ""
    with_footer = True

    def footer(self) -> None:  # a running footer as in real reports
        if self.with_footer:
            self.set_y(-14)
            self.set_font("dejavu", "", 8)
            self.set_text_color(110, 110, 110)
            self.cell(0, 6, f"{self.footer_text} – page {self.page_no()} / {{nb}}", align="C")
            self.set_text_color(0, 0, 0)


def _pdf_md(text: str) -> str:
    """fpdf2's markdown: **bold**, __italic__."""
    return "".join((f"**{t}**" if b else f"__{t}__" if it else t) for t, b, it in runs(text))


def _short(text: str, n: int = 70) -> str:
    cut = text[:n].rsplit(" ", 1)[0].rstrip(" ,;:–")
    return text if len(text) <= n else cut + "…"


def write_pdf(
    meta: Meta, blocks: list[Block], dest: Path, font_dir: Path, footer: bool = True
) -> None:
    pdf = _Pdf(format="A4", unit="mm")
    pdf.with_footer, pdf.footer_text = footer, _short(meta["title"])
    for style, suffix in FONTS.items():
        pdf.add_font("dejavu", style, str(font_dir / f"DejaVuSans{suffix}.ttf"))
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_title(meta["title"])
    pdf.set_creation_date(iso_datetime(meta["date"]))
    pdf.set_creator(f"{CREATOR} (fpdf2)")
    pdf.add_page()
    body, lh, nl = 10, 5.2, {"new_x": "LMARGIN", "new_y": "NEXT"}
    for block in blocks:
        if (kind := block[0]) == "heading":
            level, text = block[1], block[2]
            size = {1: 17, 2: 14, 3: 12}.get(level, 11)
            pdf.ln(2 if level == 1 else 3)
            pdf.set_font("dejavu", "B", size)
            pdf.multi_cell(0, size * 0.5, plain(text), align="L", **nl)
            pdf.ln(2)
        elif kind == "para":
            pdf.set_font("dejavu", "", body)
            pdf.multi_cell(0, lh, _pdf_md(block[1]), markdown=True, align="J", **nl)
            pdf.ln(2.5)
        elif kind == "list":
            _, ordered, start, items = block
            pdf.set_font("dejavu", "", body)
            for n, item in enumerate(items, start):
                pdf.set_x(pdf.l_margin + 4)
                pdf.cell(6, lh, f"{n}." if ordered else "•", new_x="RIGHT", new_y="TOP")
                pdf.multi_cell(pdf.epw - 10, lh, _pdf_md(item), markdown=True, align="L", **nl)
                pdf.ln(0.8)
            pdf.ln(2)
        elif kind == "table":
            _, header, rows = block
            pdf.set_font("dejavu", "", 9)
            longest = [max(len(plain(r[c])) for r in [header, *rows]) for c in range(len(header))]
            widths = [max(16, min(60, n)) + 3 for n in longest]  # no short date wrapped
            heads = FontFace(emphasis="BOLD", fill_color=(225, 230, 240))
            style = {"text_align": "LEFT", "markdown": True, "line_height": 4.6, "padding": 1.2}
            with pdf.table(col_widths=widths, headings_style=heads, **style) as t:  # row 1: header
                for r in [header, *rows]:
                    row = t.row()
                    for c in r:
                        row.cell(_pdf_md(c))
            pdf.ln(3)
        elif kind == "hr":
            pdf.ln(1)
            pdf.set_draw_color(150, 150, 150)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
            pdf.ln(3)
    pdf.output(str(dest))


def _docx_runs(paragraph: Paragraph, text: str, bold: bool = False) -> None:
    """The runs, a line break at each \\n (bold: a table's header cell, all in bold)."""
    for t, b, it in runs(text):
        pieces = t.split("\n")
        for k, piece in enumerate(pieces):
            run = paragraph.add_run(piece)
            run.bold, run.italic = bold or b or None, it or None
            if k < len(pieces) - 1:
                run.add_break()


def _ooxml(tag: str, **attrs: str) -> Any:
    el = OxmlElement(tag)
    for k, v in attrs.items():
        el.set(qn(f"w:{k}"), v)
    return el


def write_docx(meta: Meta, blocks: list[Block], dest: Path, header_row: bool = True) -> None:
    d = docx.Document()
    d.styles["Normal"].font.name = "Calibri"
    d.styles["Normal"].font.size = Pt(11)
    d.core_properties.title = meta["title"]
    d.core_properties.created = iso_datetime(meta["date"])
    d.core_properties.author = CREATOR
    for block in blocks:
        if (kind := block[0]) == "heading":
            # « # » the document's title (Title style), « ## » Heading 1, « ### » Heading 2
            _docx_runs(d.add_heading("", level=0 if block[1] == 1 else block[1] - 1), block[2])
        elif kind == "para":
            p = d.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            _docx_runs(p, block[1])
        elif kind == "list":
            style = "List Number" if block[1] else "List Bullet"
            for item in block[3]:
                _docx_runs(d.add_paragraph(style=style), item)
        elif kind == "table":
            _, header, rows = block
            t = d.add_table(rows=1 + len(rows), cols=len(header))
            t.style = "Table Grid"
            for r, cells in enumerate([header, *rows]):
                for c, text in enumerate(cells):
                    _docx_runs(t.cell(r, c).paragraphs[0], text, bold=r == 0)
            if header_row:  # Word's « repeat as header row »
                t.rows[0]._tr.get_or_add_trPr().append(_ooxml("w:tblHeader", val="true"))
            d.add_paragraph()  # the blank paragraph Word needs after a table
        elif kind == "hr":  # a bottom border
            border = _ooxml("w:pBdr")
            border.append(_ooxml("w:bottom", val="single", sz="6", space="1", color="999999"))
            d.add_paragraph()._p.get_or_add_pPr().append(border)
    d.save(str(dest))


def _html_inline(text: str) -> str:
    out = []
    for t, b, it in runs(text):
        e = html.escape(t, quote=False).replace("\n", "<br>\n")
        out.append(f"<strong>{e}</strong>" if b else f"<em>{e}</em>" if it else e)
    return "".join(out)


def _html_block(block: Block) -> str:
    if (kind := block[0]) == "heading":
        return f"<h{block[1]}>{_html_inline(block[2])}</h{block[1]}>"
    if kind == "para":
        return f"<p>{_html_inline(block[1])}</p>"
    if kind == "list":
        _, ordered, start, items = block
        tag = "ol" if ordered else "ul"
        attr = f' start="{start}"' if ordered and start != 1 else ""
        lis = "\n".join(f"  <li>{_html_inline(x)}</li>" for x in items)
        return f"<{tag}{attr}>\n{lis}\n</{tag}>"
    if kind == "table":
        head = "".join(f"<th>{_html_inline(c)}</th>" for c in block[1])
        tds = ["".join(f"<td>{_html_inline(c)}</td>" for c in r) for r in block[2]]
        trs = "\n".join(f"    <tr>{cells}</tr>" for cells in tds)
        head = f"<table>\n  <thead>\n    <tr>{head}</tr>\n  </thead>\n"
        return f"{head}  <tbody>\n{trs}\n  </tbody>\n</table>"
    return "<hr>"


_STYLE = "body{font-family:sans-serif;max-width:46em;margin:auto} table{border-collapse:collapse}"
_HTML = """<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta name="date" content="{date}">
<link rel="canonical" href="{url}">
<style>{style} td,th{{border:1px solid #999;padding:.2em .4em}}</style>
</head>
<body>
<main>
<article>
{body}
</article>
</main>
</body>
</html>
"""


def write_html(meta: Meta, blocks: list[Block], dest: Path) -> None:
    title, url = html.escape(meta["title"], quote=False), html.escape(meta.get("url", ""))
    body = "\n".join(_html_block(b) for b in blocks)
    page = _HTML.format(title=title, date=meta["date"], url=url, style=_STYLE, body=body)
    dest.write_text(page, "utf-8")


def convert(set_dir: Path, out_dir: Path, formats: list[str], font_dir: Path) -> None:
    """Every document is parsed first: a malformed one stops the run before a file is written."""
    corpus = set_dir / "corpus"
    parsed = {p: parse(p) for p in sorted(corpus.glob("*.md"))}
    names = {p.name for p in parsed}
    writers: dict[str, Writer] = {
        "pdf": partial(write_pdf, font_dir=font_dir),
        "docx": write_docx,
        "html": write_html,
        "pdf-nofooter": partial(write_pdf, font_dir=font_dir, footer=False),
        "docx-nohdr": partial(write_docx, header_row=False),
    }
    for name in formats:
        ext, out = name.split("-")[0], out_dir / name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        if (corpus / "seeds").exists():  # the seeds stay as they are (Markdown / text)
            os.symlink(os.path.relpath(corpus / "seeds", out), out / "seeds")
        for p, (meta, blocks) in parsed.items():
            writers[name](meta, blocks, out / f"{p.stem}.{ext}")
            side = {k: meta[k] for k in ("title", "organisation", "date", "url") if meta.get(k)}
            shown = p.relative_to(REPO) if p.is_relative_to(REPO) else p
            side["date_note"] = f"from the Markdown header of {shown}"
            side_text = json.dumps(side, ensure_ascii=False, indent=2) + "\n"
            (out / f"{p.stem}.{ext}.meta.json").write_text(side_text, "utf-8")
        q_in, q_out = set_dir / "questions.jsonl", out_dir / f"q-{ext}.jsonl"
        with open(q_in, encoding="utf-8") as f, open(q_out, "w", encoding="utf-8") as g:
            for q in map(json.loads, f):  # a source `X.md` converted: `X.<ext>`
                q["sources"] = [f"{x[:-3]}.{ext}" if x in names else x for x in q["sources"]]
                g.write(json.dumps(q, ensure_ascii=False) + "\n")
        print(name, len(list(out.glob(f"*.{ext}"))), "documents")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("set_dir", type=Path, metavar="SET_DIR", help="corpus/ + questions.jsonl")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    parser.add_argument("--formats", default="pdf,docx,html", help=", ".join(FORMATS))
    parser.add_argument("--font-dir", type=Path, default=FONT_DIR, help="DejaVu's TTF files")
    args = parser.parse_args(argv)
    set_dir, out_dir, formats = args.set_dir.resolve(), args.out_dir.resolve(), args.formats
    formats = [f.strip() for f in formats.split(",") if f.strip()]
    if not formats or set(formats) - set(FORMATS):
        parser.error(f"--formats: a comma-separated list of {', '.join(FORMATS)}")
    if not (set_dir / "questions.jsonl").is_file() or not any(set_dir.glob("corpus/*.md")):
        parser.error(f"{set_dir} holds no questions.jsonl or no corpus/*.md")
    # Converted files in a Markdown corpus would be indexed and measured with it.
    for kept in (REPO / "eval", REPO / "corpus", set_dir / "corpus"):
        if out_dir.is_relative_to(kept):
            parser.error(f"OUT_DIR must not be inside {kept}")
    fonts = [args.font_dir / f"DejaVuSans{suffix}.ttf" for suffix in FONTS.values()]
    if any(f.startswith("pdf") for f in formats) and not all(f.is_file() for f in fonts):
        parser.error(f"DejaVu's TTF fonts not found in {args.font_dir} (see --font-dir)")
    try:
        convert(set_dir, out_dir, formats, args.font_dir)
    except FormatError as e:
        parser.exit(1, f"format_corpus.py: {e}\n")


if __name__ == "__main__":
    main()
