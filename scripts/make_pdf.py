"""Print the book's single-page HTML build to one PDF with headless Chromium.

    python scripts/make_pdf.py [--site _build/singlehtml] [--out _build/pdf/book.pdf]

``make pdf`` builds ``_build/singlehtml`` (every chapter on one page, figures numbered as on the
site) and runs this script. It serves that folder on 127.0.0.1, so MathJax and the images load
exactly as on the website and nothing comes from the internet; opens it in the system Chromium
(``$DSL_CHROMIUM``, default the Debian package's ``/usr/bin/chromium``, driven by Playwright,
never a Playwright browser download) with the print stylesheet; waits until every image has
loaded and MathJax has typeset every formula; refuses to print (exit 1, naming them) if an image
is broken, a formula is untypeset, MathJax reports a TeX error or something is wider than the
page (display equations and tables wider than the text column are first scaled to fit it);
then prints a tagged PDF of A4 pages with page numbers and an outline of the headings. What it
saw is written beside the PDF (``book.json``: images, formulas and sections of the HTML) for
``tests/pdf``, which checks the PDF itself.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("DSL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# A4 with 14 mm side margins: 182 mm of text width, in CSS pixels (96 per inch).
PAGE = {"format": "A4", "margin": {"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"}}
TEXT_WIDTH_PX = round((210 - 2 * 14) / 25.4 * 96)
FOOTER = ('<div style="font-size:8px; width:100%; text-align:center; color:#555;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')

# Everything the page must have finished before it is printed: images decoded (lazy ones
# forced to load) and MathJax's typesetting promise settled. Returns what was seen.
_SETTLE = """async () => {
    const imgs = Array.from(document.querySelectorAll('img'));
    for (const img of imgs) { img.loading = 'eager'; }
    await Promise.all(imgs.map(img => img.complete ? null : new Promise(resolve => {
        img.addEventListener('load', resolve); img.addEventListener('error', resolve);
    })));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
    }
    const main = document.querySelector('main') || document.body;
    // Paper cannot scroll: a display equation or table wider than the text column is scaled
    // down to fit it (as LaTeX's \\resizebox would), instead of Chromium shrinking every page.
    let scaled = 0;
    for (const el of main.querySelectorAll('mjx-container[display="true"], table')) {
        const room = el.parentElement.clientWidth;
        const wide = el.scrollWidth;
        if (wide > room + 1) {
            const size = parseFloat(getComputedStyle(el).fontSize);
            el.style.fontSize = (size * room / wide * 0.98) + 'px';
            el.style.overflow = 'visible';
            scaled += 1;
        }
    }
    const page = document.documentElement.clientWidth;
    const overflowing = Array.from(main.querySelectorAll('*'))
        .filter(el => !el.closest('mjx-assistive-mml')  // MathJax's hidden copy for screen readers
                      && el.getBoundingClientRect().right > page + 1
                      && el.parentElement.getBoundingClientRect().right <= page + 1)
        .map(el => `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}"`);
    return {
        scaled_to_fit: scaled,
        overflowing: overflowing,
        images: imgs.length,
        broken: imgs.filter(i => !(i.naturalWidth > 0 && i.naturalHeight > 0))
                    .map(i => i.currentSrc || i.src),
        image_sources: Array.from(new Set(imgs.map(i => i.currentSrc || i.src))).length,
        math: main.querySelectorAll('.math').length,
        typeset: main.querySelectorAll('mjx-container').length,
        tex_errors: main.querySelectorAll('mjx-merror').length,
        figures: main.querySelectorAll('figure').length,
        sections: main.querySelectorAll('section').length,
    };
}"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - keep the output clean
        pass


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def print_page(site: Path) -> Path:
    """The book's single page, placed where its links point.

    Sphinx writes the page to ``book/index.html`` (the root document's name) but resolves
    its images, styles and scripts from the site's root, and its cross-references as
    ``book/index.html#target``. A copy at the root, ``print.html``, with those
    cross-references made plain fragments, loads everything and keeps the links inside
    the PDF.
    """
    page = site / "book" / "index.html"
    if not page.exists():
        raise SystemExit(f"{page} is missing: build it with "
                         "`jupyter-book build . --builder singlehtml` (make pdf does)")
    html = page.read_text(encoding="utf-8").replace('href="book/index.html#', 'href="#')
    target = site / "print.html"
    target.write_text(html, encoding="utf-8")
    return target


def print_pdf(site: Path, out: Path) -> dict:
    """Print the single-page build in ``site`` to ``out``; return what the page held
    (see ``_SETTLE``)."""
    from playwright.sync_api import sync_playwright

    page_file = print_page(site)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM} (apt-get install -y chromium, "
                         "or set DSL_CHROMIUM)")
    server, base = _serve(site)
    external: list[str] = []

    def route(r):
        if r.request.url.startswith(base) or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:  # the PDF must not depend on the internet
            external.append(r.request.url)
            r.abort()

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS)
            # the viewport is the printed text width, so the layout is the printed one
            page = browser.new_page(viewport={"width": TEXT_WIDTH_PX, "height": 1000})
            page.route("**/*", route)
            page.emulate_media(media="print")
            page.goto(base + page_file.name, wait_until="load", timeout=120_000)
            seen = page.evaluate(_SETTLE)
            problems = []
            if seen["broken"]:
                problems.append(f"images that did not load: {seen['broken']}")
            if seen["typeset"] < seen["math"]:
                problems.append(f"only {seen['typeset']} of {seen['math']} formulas typeset")
            if seen["tex_errors"]:
                problems.append(f"{seen['tex_errors']} TeX errors")
            if seen["overflowing"]:
                problems.append(f"wider than the page: {seen['overflowing'][:5]}")
            if external:
                problems.append(f"requests outside the site: {external[:5]}")
            if problems:
                raise SystemExit("not printing the PDF: " + "; ".join(problems))
            out.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(out), print_background=True, outline=True, tagged=True, **PAGE,
                     display_header_footer=True, header_template="<span></span>",
                     footer_template=FOOTER)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return seen


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "singlehtml")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf" / "book.pdf")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    seen = print_pdf(args.site, args.out)
    seen.pop("broken")
    seen.pop("overflowing")
    seen["print_seconds"] = round(time.perf_counter() - start, 1)
    args.out.with_suffix(".json").write_text(json.dumps(seen, indent=2) + "\n", encoding="utf-8")
    size = args.out.stat().st_size / 1e6
    print(f"{args.out}: {size:.1f} MB, {seen['images']} images and {seen['typeset']} formulas "
          f"printed in {seen['print_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
