"""scripts/site_stats.py counts what a reader sees, on a tiny hand-written site."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("site_stats", ROOT / "scripts" / "site_stats.py")
site_stats = importlib.util.module_from_spec(spec)
spec.loader.exec_module(site_stats)

CHAPTER = """<html><body><article>
<h1>Chapter<a class="headerlink">#</a></h1>
<p>Inline <span class="math">\\(x\\)</span> and
<a class="reference internal" href="references.html#id1">[1]</a>,
<a class="reference internal" href="references.html#id1">[1]</a>,
<a class="reference internal" href="#fig-a">Fig. 1</a>.</p>
<figure id="fig-a"><img src="a.png"><figcaption><span class="caption-number">Fig. 1 </span>
</figcaption></figure>
<figure id="fig-b"><pre>&lt;Figure size 770x462 with 1 Axes&gt;</pre></figure>
<div class="exercise admonition" id="ex-c-1"></div><div class="solution dropdown admonition"></div>
<div class="exercise admonition" id="ex-c-2"></div>
<div class="admonition tip"><p class="admonition-title">Takeaway</p></div>
<h2>Reproduction check</h2>
</article></body></html>"""

REFERENCES = """<html><body><article><h1>References</h1>
<div class="citation" id="id1"></div><div class="citation" id="id2"></div>
<dl class="glossary"><dt id="term-a">a</dt><dd>x</dd></dl>
</article></body></html>"""


def make_site(tmp_path: Path) -> tuple[Path, Path]:
    book = tmp_path / "repo"
    (book / "book").mkdir(parents=True)
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nparts:\n  - caption: A\n    chapters:\n"
        "      - file: book/chapter\n      - file: book/references\n      - file: book/absent\n")
    site = tmp_path / "html"
    (site / "book").mkdir(parents=True)
    (site / "_sources" / "book").mkdir(parents=True)
    (site / "_sources" / "book" / "chapter.ipynb").write_text("{}")
    (site / "index.html").write_text("<html></html>")
    (site / "book" / "index.html").write_text("<html><body><article><h1>Home</h1></article></body></html>")
    (site / "book" / "chapter.html").write_text(CHAPTER)
    (site / "book" / "references.html").write_text(REFERENCES)
    return book, site


def test_counts_on_a_small_site(tmp_path):
    book, site = make_site(tmp_path)
    stats = site_stats.collect(site, root=book)
    chapter = next(p for p in stats["pages"] if p["page"] == "book/chapter")
    assert chapter["title"] == "Chapter"
    assert chapter["figures"] == 2 and chapter["numbered_figures"] == 1
    assert chapter["figures_without_image"] == 1
    assert chapter["exercises"] == 2 and chapter["solutions"] == 1
    assert chapter["takeaways"] == 1 and chapter["reproduction_checks"] == 1
    assert chapter["formulas"] == 1
    assert chapter["citations"] == 2  # the figure link is not a citation
    totals = stats["totals"]
    assert totals["pages"] == 3 and totals["bibliography_entries"] == 2
    assert totals["glossary_terms"] == 1 and totals["ipynb_downloads"] == 1
    assert stats["missing_pages"] == ["book/absent"]


def test_main_reports_an_unbuilt_site(tmp_path, capsys):
    assert site_stats.main(["--site", str(tmp_path)]) == 1
    assert "site not built" in capsys.readouterr().err
