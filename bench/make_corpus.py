"""A large French corpus for benchmarks, recombined offline and seeded from the repo's documents.

Usage: python bench/make_corpus.py OUT_DIR [--docs 1200] [--seed 0] [--min-kb 2] [--max-kb 20]

Each document (Markdown: `# title`, `Source:`, `Date:`, then the body) is cut from the paragraphs,
lists and tables of corpus/, eval/domain/corpus and eval/dev/corpus: runs of consecutive blocks of
one source document (so the prose reads on), then a jump to another. Within a document, pôle
names, cities and people are swapped consistently for others, years shifted, other figures
scaled and days of the month redrawn: the same paragraph reads differently in every document,
so BM25 and FAISS meet realistic near-duplicates, not copies. Sizes are log-uniform between
--min-kb and --max-kb (UTF-8 bytes of the body). Not a test set: the facts are scrambled.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = (REPO / "corpus", REPO / "eval" / "domain" / "corpus", REPO / "eval" / "dev" / "corpus")
CONTINUE = 0.75  # chance that the next block is the next one of the same source document

POLES = """Axelera|Lyonbiopole|Minalogic|Techtera|Medicen|Systematic|Cap Digital|Aerospace Valley
|Images & Réseaux|Vitagora|Valorial|Xylofutur|Aqua-Valley|Eurobiomed|Atlanpole Biothérapies
|Alsace BioValley|Fibres-Energivie|Plastipolis|Mont-Blanc Industries|Imaginove|S2E2|Capenergies
|Tenerrdis|Derbi|Pôle Mer Bretagne Atlantique|Pôle Mer Méditerranée|Nuclear Valley|Materalia
|Microtechniques|ID4Car|EMC2|Cosmetic Valley|Finance Innovation|Mov'eo|Advancity|Hydreos
|Agri Sud-Ouest Innovation|Qualitropic|Cancer-Bio-Santé|Optitec|SCS|Safe|Céréales Vallée
|Alpha-RLH|Avenia|Nov@log|Polymeris|Nutrition Santé Longévité|Clubster NSL|Team2|Trimatec
|Viameca|Vegepolys Valley|Hippolia|Elopsys|Matikem|Dream|Atlanpole|BioValley|Innov'Alliance
|Pôle Véhicule du Futur|Cimes|Biomedical Alliance|Photonics Bretagne|Aquimer|Up-Tex"""
CITIES = """Lyon|Grenoble|Paris|Marseille|Toulouse|Bordeaux|Nantes|Rennes|Lille|Strasbourg|Dijon
|Besançon|Montpellier|Nice|Brest|Caen|Rouen|Orléans|Tours|Poitiers|Limoges|Clermont-Ferrand
|Saint-Étienne|Annecy|Chambéry|Valence|Metz|Nancy|Reims|Amiens|Angers|Le Mans|Pau|Perpignan
|Nîmes|Avignon|Toulon|Mulhouse|Troyes|Lorient|Vannes|Quimper|Bourges|Chartres|Évry|Solaize
|Sophia Antipolis|Saclay|Compiègne|Valenciennes|Dunkerque|La Rochelle|Angoulême|Agen|Albi"""
FIRST = """Pierre|Jean|Marie|Anne|Philippe|Christian|Frédéric|Sophie|Isabelle|Catherine|Nicolas
|François|Laurent|Olivier|Michel|Patrick|Alain|Bernard|Christophe|Éric|Thierry|Stéphane|Pascal
|Nathalie|Valérie|Sylvie|Hélène|Claire|Julien|Sébastien|Vincent|Arnaud|Guillaume|Emmanuel
|Jacques|Dominique|Gilles|Hervé|Yves|Bruno|Didier|Denis|Luc|Marc|Paul|Louis|Céline|Agnès
|Florence|Martine|Véronique|Christine|Caroline|Élisabeth|Laure|Delphine|Aurélie|Mathieu"""
LAST = """Martin|Bernard|Dubois|Thomas|Robert|Richard|Petit|Durand|Leroy|Moreau|Simon|Laurent
|Lefebvre|Michel|Garcia|David|Bertrand|Roux|Vincent|Fournier|Morel|Girard|André|Lefèvre
|Mercier|Dupont|Lambert|Bonnet|François|Martinez|Legrand|Garnier|Faure|Rousseau|Blanc|Guérin
|Muller|Henry|Roussel|Nicolas|Perrin|Morin|Mathieu|Clément|Gauthier|Dumont|Lopez|Fontaine
|Chevalier|Robin|Masson|Sanchez|Gérard|Nguyen|Boyer|Denis|Lemaire|Duval|Joly|Gautier|Roger
|Roche|Roy|Noël|Meyer|Lucas|Meunier|Jean|Perez|Marchand|Dufour|Blanchard|Marie|Barbier|Brun"""
MONTHS = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"


def _names(block: str) -> list[str]:
    return [n.strip() for n in block.split("|") if n.strip()]


def _alternation(names: list[str]) -> re.Pattern[str]:
    # Longest first, so that "Pôle Mer Bretagne Atlantique" wins over a shorter name inside it.
    alts = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alts})(?!\w)")


POLE_RE = _alternation(_names(POLES))
CITY_RE = _alternation(_names(CITIES))
PERSON_RE = re.compile(
    rf"(?<!\w)(?:{'|'.join(_names(FIRST))})(?:-\w+)?\s+[A-ZÉÈ][\w'’-]+(?:\s+[A-ZÉ][\w'’-]+)?"
)
FIGURE_RE = re.compile(
    rf"(?P<day>\b[0-3]?\d)(?P<er>er)?(?P<sp>[  ]+)(?P<month>{MONTHS})\b"
    r"|(?P<year>\b(?:19[5-9]\d|20[0-3]\d)\b)"
    r"|(?P<num>\b\d{1,3}(?:[  .]\d{3})+(?:,\d+)?\b|\b\d+(?:,\d+)?\b)"
)
HEADER_RE = re.compile(r"^(?:Source|Date|Organisation|Auteur)\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    """A document of the repo, as a title and its blocks (paragraphs, lists, tables, headings)."""

    title: str
    blocks: tuple[str, ...]


def read_sources(folders: tuple[Path, ...] = SOURCES) -> list[Source]:
    """Every Markdown or text document of the folders (README files left out), in blocks."""
    out = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix not in (".md", ".txt") or path.name.lower() == "readme.md":
                continue
            title, blocks = _split(path.read_text(encoding="utf-8"), path.stem)
            if blocks:
                out.append(Source(title, tuple(blocks)))
    return out


def _split(text: str, fallback: str) -> tuple[str, list[str]]:
    """The title (first `# ` line, else the file name) and the blocks of the body."""
    title = fallback.replace("_", " ").replace("-", " ")
    blocks = []
    for raw in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        block = raw.strip()
        lines = block.splitlines()
        if lines and lines[0].startswith("# ") and not blocks:
            title = lines[0][2:].strip()
            lines = lines[1:]
        lines = [ln for ln in lines if not HEADER_RE.match(ln)]
        block = "\n".join(lines).strip()
        if len(block) >= 30 or block.startswith("#"):
            blocks.append(block)
    return title, blocks


class Variation:
    """The substitutions of one document: names swapped consistently, years shifted by the same
    amount, figures scaled by the same factor."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.shift = rng.randint(-4, 4)
        self.scale = rng.uniform(0.6, 1.6)
        self.poles = self._permutation(_names(POLES))
        self.cities = self._permutation(_names(CITIES))
        self.people: dict[str, str] = {}

    def _permutation(self, names: list[str]) -> dict[str, str]:
        shuffled = names[:]
        self.rng.shuffle(shuffled)
        return dict(zip(names, shuffled, strict=True))

    def apply(self, text: str) -> str:
        text = FIGURE_RE.sub(self._figure, text)
        text = POLE_RE.sub(lambda m: self.poles.get(m.group(0), m.group(0)), text)
        text = CITY_RE.sub(lambda m: self.cities.get(m.group(0), m.group(0)), text)
        return PERSON_RE.sub(self._person, text)

    def _person(self, m: re.Match[str]) -> str:
        name = m.group(0)
        if name not in self.people:
            first = self.rng.choice(_names(FIRST))
            self.people[name] = f"{first} {self.rng.choice(_names(LAST))}"
        return self.people[name]

    def _figure(self, m: re.Match[str]) -> str:
        if m.group("day"):
            day = self.rng.randint(1, 28)
            return f"{day}{'er' if day == 1 else ''}{m.group('sp')}{m.group('month')}"
        if m.group("year"):
            return str(min(2039, max(1950, int(m.group("year")) + self.shift)))
        digits = re.sub(r"\D", "", m.group("num").split(",")[0])
        value = int(digits or 0)
        if value <= 12:  # phases, ranks, small counts: keep them (numbering stays plausible)
            return m.group("num")
        scaled = max(13, round(value * self.scale))
        return f"{scaled:,}".replace(",", " ") if value >= 10_000 else str(scaled)


def make_document(sources: list[Source], rng: random.Random, min_kb: float, max_kb: float) -> str:
    """One document: a title, header lines, and blocks until the drawn size is reached."""
    target = math.exp(rng.uniform(math.log(min_kb * 1024), math.log(max_kb * 1024)))
    var = Variation(rng)
    base = rng.choice(sources)
    src, pos = base, rng.randrange(len(base.blocks))
    body: list[str] = []
    size = 0
    while size < target:
        if pos >= len(src.blocks) or rng.random() > CONTINUE:
            src = rng.choice(sources)
            pos = rng.randrange(len(src.blocks))
        block = var.apply(src.blocks[pos])
        pos += 1
        n = len(block.encode("utf-8")) + 2
        if size + n > max_kb * 1024:
            if size >= min_kb * 1024:
                break
            continue  # too big to fit: take another block
        body.append(block)
        size += n
    year = rng.randint(2005, 2026)
    date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    title = var.apply(base.title)
    header = f"# {title}\nSource: https://exemple.fr/bench/{_slug(title)}\nDate: {date}"
    return header + "\n\n" + "\n\n".join(body) + "\n"


def _slug(text: str, width: int = 60) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:width] or "document"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder to write (created; existing files kept)")
    ap.add_argument("--docs", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-kb", type=float, default=2.0)
    ap.add_argument("--max-kb", type=float, default=20.0)
    args = ap.parse_args()
    sources = read_sources()
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = []
    for i in range(args.docs):
        rng = random.Random(f"{args.seed}-{i}")  # one stream per document: --docs N is a prefix
        text = make_document(sources, rng, args.min_kb, args.max_kb)
        title = text.splitlines()[0][2:]
        (args.out / f"doc{i:05d}_{_slug(title, 40)}.md").write_text(text, encoding="utf-8")
        sizes.append(len(text.encode("utf-8")))
    blocks = sum(len(s.blocks) for s in sources)
    kb = [s / 1024 for s in sizes]
    print(
        f"{args.docs} documents in {args.out}: {sum(sizes) / 1e6:.1f} MB, "
        f"{min(kb):.1f}–{max(kb):.1f} KB (mean {sum(kb) / len(kb):.1f}), "
        f"from {len(sources)} source documents ({blocks} blocks)"
    )


if __name__ == "__main__":
    main()
