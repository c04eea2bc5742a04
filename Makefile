# Two entry points (see README):  make book   builds the website into _build/html
#                                  make test   runs unit tests and every chapter under nbval
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: book test venv clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "HTML written to _build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest tests book --nbval-lax -n 2 --dist loadfile

clean:
	rm -rf _build
