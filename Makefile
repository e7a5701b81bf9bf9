# Everything runs from a virtual environment this Makefile creates from the project's own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: setup browser demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

# The browser test drives Debian's chromium (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser test..."; \
	    (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) \
	      || echo "chromium could not be installed: the browser test will be skipped"; \
	  else echo "chromium is not installed (needs root and apt-get): the browser test will be skipped"; fi; }

demo: setup
	$(BIN)/analyst demo

test: setup browser
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/bench_semantic.py
	$(BIN)/python bench/bench_assistant.py

clean:
	rm -rf $(VENV) demo-data demo.duckdb test-output
