"""The site's configuration: TOC parts, launch/download settings, Binder files, citation
metadata and licences. These run without building the book."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            found[name.strip().lower()] = version.strip()
    return found


# --- table of contents ------------------------------------------------------------------

PART_ORDER = ["Foundations", "Fitting", "Recipes", "Replication", "Appendices"]


def test_toc_parts_are_captioned_numbered_and_in_order():
    toc = load("_toc.yml")
    assert toc["format"] == "jb-book" and toc["root"] == "book/index"
    captions = [part["caption"] for part in toc["parts"]]
    assert captions == [c for c in PART_ORDER if c in captions], captions
    assert captions[0] == "Foundations" and captions[-1] == "Appendices"
    for part in toc["parts"]:
        assert part.get("numbered") is True, part["caption"]
        assert part["chapters"], part["caption"]


def test_every_toc_file_exists():
    from conftest import toc_chapters

    for path in toc_chapters(ROOT):
        assert path.exists(), path


def test_appendices_hold_the_site_pages():
    toc = load("_toc.yml")
    appendix = next(p for p in toc["parts"] if p["caption"] == "Appendices")
    files = [c["file"] for c in appendix["chapters"]]
    for page in ("book/notation", "book/glossary", "book/reproducibility", "book/teaching",
                 "book/cite", "book/references"):
        assert page in files
    assert files[-1] == "book/references"


# --- _config.yml ------------------------------------------------------------------------

def test_config_launch_and_download_buttons():
    config = load("_config.yml")
    launch = config["launch_buttons"]
    assert launch["binderhub_url"] == "https://mybinder.org"
    assert launch["notebook_interface"] == "jupyterlab"
    assert config["html"]["use_download_button"] is True
    repo = config["repository"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repo["url"])
    assert repo["branch"] == "main"


def test_config_footer_states_both_licences():
    footer = load("_config.yml")["html"]["extra_footer"]
    assert "MIT" in footer and "CC BY 4.0" in footer


def test_config_enables_exercises_and_strict_execution():
    config = load("_config.yml")
    assert "sphinx_exercise" in config["sphinx"]["extra_extensions"]
    assert config["execute"]["execute_notebooks"] == "force"
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert config["only_build_toc_files"] is True


# --- Binder -------------------------------------------------------------------------------

def test_binder_requirements_match_the_main_pins():
    main = pins(ROOT / "requirements.txt")
    binder = pins(ROOT / "binder" / "requirements.txt")
    for needed in ("jupyterlab", "jupytext", "ipykernel", "numpy", "matplotlib", "seaborn"):
        assert needed in binder, needed
    for name, version in binder.items():
        if name in main:
            assert version == main[name], f"{name}: binder {version} != requirements {main[name]}"


def test_binder_postbuild_installs_package_and_sets_the_jupytext_viewer():
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text()
    assert "pip install --no-deps -e ." in text
    assert "jupytext-config set-default-viewer" in text


def test_chapters_convert_to_notebooks_with_jupytext():
    import jupytext

    from conftest import is_notebook, toc_chapters

    notebooks = [p for p in toc_chapters(ROOT) if is_notebook(p)]
    assert notebooks
    for path in notebooks:
        nb = jupytext.read(path)
        assert nb.metadata["kernelspec"]["name"] == "python3", path
        assert any(c.cell_type == "code" for c in nb.cells), path


# --- citation and licences ----------------------------------------------------------------

def test_citation_cff_has_the_required_keys():
    cff = load("CITATION.cff")
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors"):
        assert cff.get(key), key
    for author in cff["authors"]:
        assert author.get("name") or author.get("family-names"), author
    dt.date.fromisoformat(str(cff["date-released"]))
    assert cff["license"] == "MIT"
    assert cff["repository-code"] == load("_config.yml")["repository"]["url"]
    ref = cff["preferred-citation"]
    for key in ("type", "title", "authors", "year"):
        assert ref.get(key), key
    assert ref["title"] == "Distillation Scaling Laws"
    assert [a["family-names"] for a in ref["authors"]][0] == "Busbridge"


def test_citation_cff_matches_the_bibtex_of_the_paper():
    bib = (ROOT / "references.bib").read_text()
    entry = bib.split("@inproceedings{busbridge2025distillation,")[1].split("\n}")[0]
    cff = load("CITATION.cff")["preferred-citation"]
    for author in cff["authors"]:
        assert author["family-names"] in entry
    assert str(cff["volume"]) in entry and str(cff["year"]) in entry


@pytest.mark.parametrize("name, needle", [("LICENSE", "MIT License"),
                                          ("LICENSE-text", "CC BY 4.0")])
def test_licence_files(name, needle):
    assert needle in (ROOT / name).read_text()


def test_cli_reference_is_generated_from_the_parser():
    page = (ROOT / "book" / "cli_reference.md").read_text()
    assert "```{argparse}" in page and ":module: analysis.cli" in page and ":func: build_parser" in page
    config = load("_config.yml")
    assert "sphinxarg.ext" in config["sphinx"]["extra_extensions"]
    assert "sphinx-argparse" in pins(ROOT / "requirements.txt")
    toc = (ROOT / "_toc.yml").read_text()
    for page_name in ("book/cli_reference", "book/recipe_sheet", "book/problem_sets", "book/answer_keys"):
        assert f"file: {page_name}\n" in toc, page_name
