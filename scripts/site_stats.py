"""Count what the built site holds: pages, figures, exercises, citations and more.

Reads the HTML that ``make book`` wrote (default ``_build/html``) and the page list of
``_toc.yml``, so the numbers describe what a reader sees, after every merge:

    python scripts/site_stats.py [--site _build/html] [--json]

Counts per TOC page: numbered figures, images, exercises and their solutions, takeaway
boxes, reproduction checks, typeset formulas (Sphinx ``.math`` elements) and citations
(in-text links into the bibliography); plus the bibliography's entries and the glossary's
terms. Exits 1 if the site is not built.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bs4 import BeautifulSoup

from analysis.toc import toc_chapters

ROOT = Path(__file__).resolve().parents[1]


def toc_files(root: Path = ROOT) -> list[str]:
    """Document names (``book/x``) listed in _toc.yml, in order."""
    return [p.relative_to(root).with_suffix("").as_posix() for p in toc_chapters(root)]


def bibliography_ids(site: Path) -> set[str]:
    """(page, id) keys of every bibliography entry in the built site."""
    ids = set()
    for html in site.rglob("*.html"):
        soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
        for entry in soup.select("div.citation[id]"):
            ids.add(f"{html.relative_to(site).as_posix()}#{entry['id']}")
    return ids


def page_stats(site: Path, doc: str, bib: set[str]) -> dict:
    path = site / f"{doc}.html"
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    article = soup.select_one("article") or soup
    citations = 0
    for link in article.select("a.reference.internal[href]"):
        target = (path.parent / link["href"].split("#")[0]).resolve()
        fragment = link["href"].split("#")[1] if "#" in link["href"] else ""
        try:
            key = f"{target.relative_to(site.resolve()).as_posix()}#{fragment}"
        except ValueError:
            continue
        if key in bib:
            citations += 1
    titles = [t.get_text(strip=True).lower() for t in article.select(".admonition-title")]
    return {
        "page": doc,
        "title": (article.select_one("h1").get_text(" ", strip=True).rstrip("#").strip()
                  if article.select_one("h1") else ""),
        "figures": len(article.select("figure")),
        "numbered_figures": len([f for f in article.select("figure")
                                 if f.select_one(".caption-number")]),
        "figures_without_image": len([f for f in article.select("figure")
                                      if not f.select_one("img, svg, object")]),
        "images": len(article.select("img")),
        "exercises": len(article.select("div.exercise")),
        "solutions": len(article.select("div.solution")),
        "takeaways": sum(1 for t in titles if t.startswith("takeaway")),
        "reproduction_checks": sum(1 for h in article.select("h2")
                                   if "reproduction check" in h.get_text(" ").lower()),
        "formulas": len(article.select(".math")),
        "citations": citations,
    }


def collect(site: Path, root: Path = ROOT) -> dict:
    """Per-page and total counts for the site built from the book at ``root``."""
    bib = bibliography_ids(site)
    docs = toc_files(root)
    pages = [page_stats(site, doc, bib) for doc in docs if (site / f"{doc}.html").exists()]
    missing = [doc for doc in docs if not (site / f"{doc}.html").exists()]
    glossary_terms = 0
    for html in site.rglob("*.html"):
        soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
        glossary_terms += len(soup.select("dl.glossary > dt"))
    keys = ["figures", "numbered_figures", "figures_without_image", "images", "exercises", "solutions", "takeaways",
            "reproduction_checks", "formulas", "citations"]
    totals = {k: sum(p[k] for p in pages) for k in keys}
    totals.update(pages=len(pages), html_files=len(list(site.rglob("*.html"))),
                  bibliography_entries=len(bib), glossary_terms=glossary_terms,
                  ipynb_downloads=len(list((site / "_sources").rglob("*.ipynb"))))
    return {"site": str(site), "totals": totals, "pages": pages, "missing_pages": missing}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").exists():
        print(f"site not built: {args.site / 'index.html'} is missing (run `make book`)",
              file=sys.stderr)
        return 1
    stats = collect(args.site)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    cols = ["figures", "exercises", "solutions", "takeaways", "reproduction_checks",
            "formulas", "citations"]
    print(f"{'page':34s} " + " ".join(f"{c[:10]:>10s}" for c in cols))
    for p in stats["pages"]:
        print(f"{p['page']:34s} " + " ".join(f"{p[c]:>10d}" for c in cols))
    print()
    for key, value in stats["totals"].items():
        print(f"{key:22s} {value}")
    if stats["missing_pages"]:
        print("TOC pages without HTML:", ", ".join(stats["missing_pages"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
