# Two entry points, each installing what it needs into .venv first:
#   make demo   audit the bundled demo session
#   make test   lint, type-check and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-mitm12 lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/toyaudit audit captures/demo-plushbear

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The mitmproxy addon must also work under mitmproxy 12, which needs Python 3.12:
# its tests run a second time in .venv-mitm12 (set PYTHON312 to use another path).
# A pyenv or system 3.12 is found even when it is not the active version.
PYTHON312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12 \
  /usr/local/bin/python3.12 /usr/bin/python3.12) python3.12)
MITM12 := .venv-mitm12

$(MITM12)/.installed-stamp:
	@$(PYTHON312) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' || { \
	  echo "make test needs Python 3.12 ('$(PYTHON312)') to test the mitmproxy addon" \
	    "under mitmproxy 12: install it, or run make PYTHON312=/path/to/python3.12" >&2; \
	  exit 1; }
	$(PYTHON312) -m venv $(MITM12)
	$(MITM12)/bin/python -m pip install --quiet --disable-pip-version-check \
	  'mitmproxy>=12,<13' pytest
	touch $@

test-mitm12: $(MITM12)/.installed-stamp
	$(MITM12)/bin/pytest -p no:cacheprovider --noconftest tests/capture/test_mitm_addon.py

test: lint test-mitm12
	$(BIN)/pytest

clean:
	rm -rf $(VENV) $(MITM12) .pytest_cache .mypy_cache .ruff_cache
