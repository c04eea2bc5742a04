"""The book's PDF (``make pdf``): every chapter is in it, in order, with its figures and its
typeset equations.

``scripts/make_pdf.py`` prints the single-page build (``_build/singlehtml/print.html``) to
``_build/pdf/book.pdf``. These tests read the PDF itself with pypdf and hold it against that
HTML: the PDF's outline lists every chapter of _toc.yml in order, each starting on a new page;
the page count is in a plausible range; each chapter's pages draw at least as many images as
the chapter has, and the pages of every chapter with equations use MathJax's fonts (the
glyphs of typeset math), with no raw TeX left in the text. The tests skip when the PDF is not
built; ``DSL_REQUIRE_PDF=1`` (set by ``make pdf``) turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from analysis.toc import toc_chapters

ROOT = Path(__file__).resolve().parents[2]
PDF = Path(os.environ.get("DSL_PDF", ROOT / "_build" / "pdf" / "book.pdf"))
HTML = Path(os.environ.get("DSL_PDF_HTML", ROOT / "_build" / "singlehtml" / "print.html"))
REQUIRED = os.environ.get("DSL_REQUIRE_PDF", "") == "1"

#: Pages per chapter: the book has chapters of 2 to 40 pages; fewer than 2 on average means
#: content went missing, more than 40 on average that the layout broke (e.g. one line a page).
PAGES_PER_CHAPTER = (2, 40)
RAW_TEX = ("$$", "\\frac", "\\begin{", "\\mathrm", "\\left(", "\\(", "\\[")


def _squash(text: str) -> str:
    """Text with whitespace and Sphinx's permalink signs removed (the PDF's outline loses
    the spaces at line breaks of long headings)."""
    return re.sub(r"[\s#¶]", "", text)


@pytest.fixture(scope="module")
def reader():
    if not PDF.exists() or not HTML.exists():
        reason = f"the PDF is not built: {PDF} or {HTML} is missing (run `make pdf`)"
        if REQUIRED:
            pytest.fail(f"DSL_REQUIRE_PDF=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    import pypdf

    return pypdf.PdfReader(PDF)


@pytest.fixture(scope="module")
def chapters(reader):
    """Each TOC chapter as it is in the HTML that was printed: its title, images and
    formulas, with the PDF page where its outline entry points."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(HTML.read_text(encoding="utf-8"), "html.parser")
    found = []
    for marker in soup.select('span[id^="document-"]'):
        section = marker.find_next_sibling("section")
        heading = section.find(["h1", "h2", "h3"])
        found.append({"doc": marker["id"].removeprefix("document-"),
                      "title": _squash(heading.get_text()),
                      "images": len(section.select("img")),
                      "math": len(section.select(".math"))})
    outline = {}
    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                outline.setdefault(_squash(item.title), reader.get_destination_page_number(item))
    walk(reader.outline)
    for chapter in found:
        chapter["page"] = outline.get(chapter["title"])
    return found


def test_every_toc_chapter_is_printed_in_order(chapters):
    docs = [c["doc"] for c in chapters]
    expected = [p.relative_to(ROOT).with_suffix("").as_posix() for p in toc_chapters(ROOT)]
    assert docs == [d for d in expected if d != "book/index"]
    missing = [c["title"] for c in chapters if c["page"] is None]
    assert missing == [], f"chapters without an entry in the PDF's outline: {missing}"
    pages = [c["page"] for c in chapters]
    assert pages == sorted(pages) and len(set(pages)) == len(pages), \
        f"chapters do not start on pages of their own, in order: {pages}"


def test_page_count(reader, chapters):
    n = len(reader.pages)
    lo, hi = PAGES_PER_CHAPTER
    assert lo * len(chapters) <= n <= hi * len(chapters), \
        f"{n} pages for {len(chapters)} chapters"
    assert chapters[-1]["page"] < n


def _page_ranges(reader, chapters):
    starts = [c["page"] for c in chapters] + [len(reader.pages)]
    return [range(a, b) for a, b in zip(starts, starts[1:])]


def test_each_chapter_draws_its_images(reader, chapters):
    assert sum(c["images"] for c in chapters) > 0
    short = []
    for chapter, pages in zip(chapters, _page_ranges(reader, chapters)):
        drawn = []
        for i in pages:
            for image in reader.pages[i].images:
                drawn.append(image.image.size)  # decodes it: a broken image raises here
        # figures are hundreds of pixels wide; smaller images are icons (the explorer's
        # toolbar, whose plot Chromium prints as an image too)
        figures = [size for size in drawn if min(size) >= 50]
        if len(figures) < chapter["images"]:
            short.append(f"{chapter['doc']}: {len(figures)} of {chapter['images']} images, "
                         f"sizes {drawn}")
    assert short == [], "\n".join(short)


def _mathjax_fonts(page) -> set[str]:
    fonts = set()
    for font in (page.get("/Resources", {}).get("/Font") or {}).values():
        descriptor = font.get_object().get("/FontDescriptor")
        name = str(descriptor.get_object().get("/FontName", "")) if descriptor else ""
        if "MathJax_" in name:
            fonts.add(name.split("+")[-1])
    return fonts


def test_equations_are_typeset(reader, chapters):
    record = json.loads(PDF.with_suffix(".json").read_text(encoding="utf-8"))
    html_math = sum(c["math"] for c in chapters)
    assert html_math > 0 and record["typeset"] >= record["math"] >= html_math
    assert record["tex_errors"] == 0
    untypeset = []
    for chapter, pages in zip(chapters, _page_ranges(reader, chapters)):
        fonts = set().union(*(_mathjax_fonts(reader.pages[i]) for i in pages))
        if chapter["math"] and not fonts:
            untypeset.append(f"{chapter['doc']}: {chapter['math']} formulas, no MathJax font")
    assert untypeset == [], "\n".join(untypeset)
    prose = [_prose(page) for page in reader.pages]
    raw = [(i + 1, marker) for i, text in enumerate(prose) for marker in RAW_TEX if marker in text]
    assert raw == [], f"raw TeX in the PDF's prose (page, marker): {raw[:10]}"


def _prose(page) -> str:
    """The page's text outside monospaced fonts: code may hold backslashes and dollars, prose
    and formulas must not."""
    parts = []

    def keep(text, cm, tm, font, size):
        if font is None or "Mono" not in str(font.get("/BaseFont", "")):
            parts.append(text)

    page.extract_text(visitor_text=keep)
    return "".join(parts)
