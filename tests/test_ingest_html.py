"""Ingestion of HTML pages: deeply nested markup, and the site's banner and footer left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from poleqa.ingest import load_corpus, read_document


@pytest.mark.parametrize(("tag", "depth"), [("div", 5000), ("span", 3000)])
def test_deeply_nested_page_is_read(tmp_path: Path, tag: str, depth: int) -> None:
    nested = f"<{tag}>" * depth + "Le pôle compte 120 membres." + f"</{tag}>" * depth
    (tmp_path / "deep.html").write_text(
        f"<html><body><p>Avant.</p>{nested}<p>Après.</p></body></html>", encoding="utf-8"
    )
    scan = load_corpus(tmp_path)
    assert scan.skipped == ()
    assert scan.documents[0].text == "Avant.\n\nLe pôle compte 120 membres.\n\nAprès."


PAGE = """<html><head><title>Le pôle Vert</title></head><body>
<header role="banner"><a href="/">Région Exemple</a> Accueil | Contact</header>
<div id="page">
  <header class="site">Bandeau du site</header>
  <main>
    <article>
      <header><h2>Le pôle Vert</h2><p>Publié le 3 mars 2023</p></header>
      <p>Le pôle compte 120 membres.</p>
      <footer>Article de la rédaction.</footer>
    </article>
    <section><header>Chiffres clés</header><p>Budget : 2 M€.</p></section>
  </main>
  <footer>Mentions légales – Plan du site</footer>
</div>
<div role="contentinfo">© Région Exemple</div>
</body></html>"""


def test_site_banner_and_footer_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    doc = read_document(tmp_path, tmp_path / "page.html")
    # The article's and the section's own header and footer stay: they are the page's text.
    assert doc.text == (
        "Le pôle Vert\n\nPublié le 3 mars 2023\n\nLe pôle compte 120 membres.\n\n"
        "Article de la rédaction.\n\nChiffres clés\n\nBudget : 2 M€."
    )


def test_page_header_holding_the_h1_is_kept(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        "<html><body><header><h1>Le pôle Bleu</h1><p>Fiche du pôle</p></header>"
        "<p>Le pôle compte 80 membres.</p>"
        "<div role='banner'><h1>Autre titre</h1></div>"
        "<footer><h1>Pas un titre</h1>Pied de page</footer></body></html>",
        encoding="utf-8",
    )
    doc = read_document(tmp_path, tmp_path / "page.html")
    assert doc.text == (
        "Le pôle Bleu\n\nFiche du pôle\n\nLe pôle compte 80 membres.\n\nAutre titre"
    )
    assert doc.info.title == "Le pôle Bleu"


@pytest.mark.parametrize("role", ["main", "article", "region"])
def test_headers_inside_an_element_of_a_sectioning_role_are_kept(tmp_path: Path, role: str) -> None:
    # themes wrap the content in <div role="main">: its header and footer are the article's
    (tmp_path / "page.html").write_text(
        "<html><body><header>Menu du site</header>"
        f"<div role='{role}'><header><h2>Le pôle Gris</h2>Publié le 3 mars 2023</header>"
        "<p>Le pôle compte 120 membres.</p><footer>Contact presse : 01 02 03 04 05</footer>"
        "</div><footer>Mentions légales</footer></body></html>",
        encoding="utf-8",
    )
    doc = read_document(tmp_path, tmp_path / "page.html")
    assert doc.text == (
        "Le pôle Gris\n\nPublié le 3 mars 2023\n\nLe pôle compte 120 membres.\n\n"
        "Contact presse : 01 02 03 04 05"
    )
