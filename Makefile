# Two commands for a fresh clone with only Python 3.11 present:
#   make book   execute and render the book (default profile: quick, CPU)
#   make test   lint, unit tests and every chapter notebook under nbmake
#   make check-book   after make book: every page in headless Chromium
#   make lab    JupyterLab on the chapters
# Both create .venv from requirements.txt when it is missing or out of date.

PYTHON ?= python3
# No model hub is reachable: every model loads from local files (DESIGN.md section 5).
export HF_HUB_OFFLINE = 1
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: book check-book lab test lint venv clean

# One switch turns progress bars off where nobody watches them (the rendered book and
# nbmake); at a terminal and in JupyterLab they stay.
book test: export TQDM_DISABLE = 1

# MPLBACKEND is unset: a non-interactive backend (Agg, as CI sets for the tests) would
# keep every figure out of the pages
book: $(INSTALLED)
	env -u MPLBACKEND $(BIN)/jupyter-book build . -W -n --keep-going

# every built page in headless Chromium (Debian's `chromium` package): no error output,
# machine paths, broken images/links/maths/audio; screenshots in _build/screenshots
check-book: $(INSTALLED)
	$(BIN)/python scripts/check_book.py

# JupyterLab on the chapters, to run them step by step (localhost only; --allow-root
# for containers that run as root)
lab: $(INSTALLED)
	$(BIN)/jupyter-lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=book --allow-root

test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .

venv: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

clean:
	rm -rf _build .pytest_cache .ruff_cache
