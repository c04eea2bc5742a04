# Entry points (see README):
#   make book          build the website into _build/html (warnings are errors, -W -n)
#   make test          unit tests and every chapter executed under nbval
#   make browser-test  drive the built site in headless Chromium (tests/browser)
#   make pdf           the whole book as one PDF, _build/pdf/book.pdf, checked by tests/pdf
#   make linkcheck     check external URLs (needs the internet; not part of CI)
#   make stats         count pages, figures, exercises and citations of the built site
#
# VENV: by default make creates .venv and installs requirements.txt into it (a fresh clone
# installs everything). Pointing VENV at an existing environment (make book VENV=/work/venv)
# never installs into it: scripts/check_env.py verifies it matches the pins instead.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
EXP_STAMP = $(VENV)/.installed-experiments
RUN     = PYTHONPATH=$(CURDIR) $(BIN)
SITE    = _build/html/index.html
SITE_SOURCES = _config.yml _toc.yml references.bib $(wildcard book/*.md) \
               $(wildcard analysis/*.py) $(wildcard _ext/*.py) $(wildcard _static/*)

ifeq ($(VENV),.venv)
ENV_READY = $(STAMP)
# The tests also train tiny models on the CPU (tests/test_experiments.py): PyTorch is
# installed for `make test` only; `make book` never needs it.
TEST_READY = $(STAMP) $(EXP_STAMP)
else
ENV_READY = check-venv
TEST_READY = check-venv
endif

.PHONY: book test browser-test pdf linkcheck stats venv check-venv clean

venv: $(ENV_READY)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

$(EXP_STAMP): experiments/requirements.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r experiments/requirements.txt
	touch $(EXP_STAMP)

check-venv:
	$(BIN)/python scripts/check_env.py requirements.txt

# --all: re-read and re-execute every page, also when only analysis/*.py changed
book: $(ENV_READY)
	$(RUN)/jupyter-book build . --all --warningiserror --nitpick --keep-going
	@echo "HTML written to _build/html/index.html"

# The browser tests need a built site; rebuild only when a source is newer than it.
$(SITE): $(SITE_SOURCES)
	$(MAKE) book VENV=$(VENV)

test: $(TEST_READY)
	$(RUN)/python -m pytest tests book --nbval-lax -n 2 --dist loadfile --ignore=tests/browser \
		--ignore=tests/pdf

# DSL_REQUIRE_BROWSER=1 turns every skip (no site, no Chromium, no Playwright) into a failure.
browser-test: $(ENV_READY) $(SITE)
	DSL_REQUIRE_BROWSER=1 $(RUN)/python -m pytest tests/browser -q

# The single-page build reuses the executed chapters of the site's build (same doctrees, same
# configuration: nothing is executed again); Chromium prints it, then tests/pdf checks the PDF.
pdf: $(ENV_READY) $(SITE)
	$(RUN)/jupyter-book build . --builder singlehtml --warningiserror --nitpick --keep-going
	$(RUN)/python scripts/make_pdf.py --site _build/singlehtml --out _build/pdf/book.pdf
	DSL_REQUIRE_PDF=1 $(RUN)/python -m pytest tests/pdf -q

linkcheck: $(ENV_READY)
	$(RUN)/jupyter-book build . --builder linkcheck
	@echo "Report: _build/linkcheck/output.txt"

stats: $(SITE)
	$(RUN)/python scripts/site_stats.py

clean:
	rm -rf _build
