# kanjiedge — ETL Character Database -> handwritten Japanese character recognizers on edge devices.
#
#   make all ............. dataset -> train -> edge-all -> bench (synthetic data unless ETL files are given)
#   make dataset ......... ETL files in $(ETL_DIR) (or the built-in synthetic ETL6/7/8G/9G sets) -> artifacts/dataset/
#   make train ARCH=cnn .. train one registered architecture -> artifacts/models/$(ARCH)/
#   make edge TARGET=rpi . quantize + export + verify one target -> artifacts/edge/$(TARGET)/
#   make edge-all ........ every target in targets/*.toml
#   make bench ........... accuracy / size / latency report -> artifacts/reports/bench.md (+ plots)
#   make fonts ........... install the Debian Japanese fonts (training writers, OOD check) with apt-get
#   make test ............ the test suite (installs what it needs)
#   make clean ........... remove artifacts/ (keeps .venv)
#
# Variables: ETL_DIR (real ETL files, default data/etl), ARCH (default cnn), TARGET, NPROC (torchrun workers),
# A (artifacts folder), SYNTH_WRITERS (writers per synthetic set), SYNTH_SETS, SYNTH_REALISM (scan/clean), SYNTH_ARGS /
# TRAIN_ARGS / EDGE_ARGS (extra options for `kanjiedge synth` (ETL9G) / `train` / `edge`), EVAL_DIR (ETL files
# the report also measures accuracy on), FONT_WRITERS=1 (the training split of the Debian fonts joins the data as
# extra writers, training split only; FONT_FORMATS, FONT_ARGS: their ETL formats and extra `kanjiedge fonts write`
# options, e.g. --chars).
# Make sees files, not variables: after changing one of these, `make clean` (or delete the affected artifacts).
# Every rule below produces a real file; the phony words are only aliases, so a rerun with nothing changed
# does nothing.

SHELL        := bash
.SHELLFLAGS  := -eu -o pipefail -c
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

PYTHON       ?= python3
VENV         := .venv
PY           := $(VENV)/bin/python
A            ?= artifacts
ETL_DIR      ?= data/etl
ARCH         ?= cnn
EDGE_ARCH    ?= cnn
TARGET       ?= rpi
NPROC        ?= 1
SYNTH_WRITERS ?= 16
# The synthetic stand-in is one folder per set, merged by character in `make dataset` (3,154 classes): ETL9G (every
# level-1 kanji and hiragana), ETL8G hiragana (adds small っゃゅょ), ETL7 (hiragana, ゛゜) and ETL6 (katakana, digits,
# Latin capitals, 32 symbols), the M-type sets in faint pencil on grey paper. SYNTH_ARGS applies to ETL9G only.
# (Adding etl1 doubles the katakana writers, but its cnn lost 1.1-1.7 pt in int8, over the rpi/jetson budgets:
# BENCHMARKS.md "The default synthetic mix".)
SYNTH_SETS   ?= etl9g etl8g etl7 etl6
# scan: records look like real scans (neighbours' fragments at the frame edges, grey M-type paper); clean: white
# paper, full ink, no fragments. BENCHMARKS.md: with all-ink moment normalization the scan look costs a
# 300-class cnn 22 points on synthetic writers; removing the edge fragments gives them back (97.3 vs 97.7 % clean).
SYNTH_REALISM ?= scan
SYNTH_CHARS_etl8g := --chars hiragana
SYNTH_SEED   ?= 0
SYNTH_ARGS   ?=
TRAIN_ARGS   ?=
EDGE_ARGS    ?=
EVAL_DIR     ?=
FONT_WRITERS ?= 0
FONT_FORMATS ?= etl9g
FONT_ARGS    ?=
# Debian Japanese fonts: extra training writers and the out-of-distribution check (kanjiedge/fonts.py splits them
# by glyph design). fonts-seto, fonts-kiloji, fonts-yozvox-yozfont, fonts-kouzan-mouhitsu, fonts-aoyagi-kouzan-t
# are reserved for independent checks and never installed or used here.
FONT_PACKAGES := fonts-ipafont-gothic fonts-ipafont-mincho fonts-ipaexfont-gothic fonts-ipaexfont-mincho \
  fonts-takao-gothic fonts-takao-mincho fonts-monapo fonts-migmix fonts-mplus fonts-vlgothic fonts-umeplus \
  fonts-horai-umefont fonts-komatuna fonts-klee fonts-motoya-l-cedar fonts-motoya-l-maruberi \
  fonts-sawarabi-gothic fonts-sawarabi-mincho fonts-hanazono
TARGETS      := $(basename $(notdir $(wildcard targets/*.toml)))

# Sources per step: every module its command imports (transitively, imports inside functions included) and every
# data file those modules read, so that editing one rebuilds what depends on it. tests/test_layout.py checks these
# lists against the imports. ($(wildcard) of a file keeps a list valid while that module is being introduced.)
CLI_SRC      := $(addprefix kanjiedge/,__init__.py __main__.py cli.py errors.py atomic.py hashing.py outputs.py \
                checks.py)
ETL_SRC      := $(addprefix kanjiedge/,etl.py etlcheck.py formats.py codes.py charsets.py native.py kanjivg.py \
                data/co59.tsv)
DATASET_SRC  := $(CLI_SRC) $(ETL_SRC) kanjiedge/dataset.py kanjiedge/symbol_strokes.py
MODEL_SRC    := $(DATASET_SRC) $(wildcard kanjiedge/models/*.py kanjiedge/preprocess.py kanjiedge/train*.py) \
                $(addprefix kanjiedge/,augment.py modelcard.py dataname.py)
EXPORT_SRC   := $(MODEL_SRC) $(wildcard kanjiedge/export/*.py kanjiedge/export/*.mjs kanjiedge/export/pipeline/*.py \
                kanjiedge/web/* kanjiedge/ortweb_files.py) $(addprefix kanjiedge/,edge.py profile.py webpage.py webserve.py confidence.py)
BENCH_SRC    := $(EXPORT_SRC) $(wildcard bench/*.py) \
                $(addprefix kanjiedge/,evaluate.py breakdown.py fonts.py fontwriter.py) $(wildcard kanjiedge/synth*.py)

# Real ETL files if the user put any in ETL_DIR (INFO files are not data), else the synthetic stand-in.
ETL_FILES    := $(shell find $(ETL_DIR) -type f -name 'ETL*' ! -name '*INFO*' 2>/dev/null | sort)
ifeq ($(strip $(ETL_FILES)),)
DATASET      ?= synth-etl9g
SOURCE       := $(SYNTH_SETS:%=$(A)/synth/sets/%/.done)
SOURCE_DIR   := $(A)/synth/sets
else
DATASET      ?= etl
SOURCE       := $(ETL_FILES)
SOURCE_DIR   := $(ETL_DIR)
endif
DATA         := $(A)/dataset/$(DATASET)/manifest.json
ifeq ($(FONT_WRITERS),1)
FONT_DONE    := $(A)/synth/fonts/.done
endif

.PHONY: all setup fonts dataset synth train edge edge-all bench test clean help
all: dataset train edge-all bench

help:
	@sed -n '2,18p' Makefile | sed 's/^# \{0,1\}//'

## setup: virtual environment with the project installed (editable) and its C extension compiled
$(VENV)/.installed: pyproject.toml setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

build/ffi.stamp: $(VENV)/.installed $(wildcard csrc/*.c csrc/*.h) kanjiedge/_build_ffi.py
	$(PY) setup.py -q build_ext --inplace
	@mkdir -p $(@D) && touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: build/ffi.stamp node_modules/.installed

## fonts: installs the missing FONT_PACKAGES when it can (root + apt-get); otherwise says what is missing and goes
## on (the font writers and the OOD check then say they found no font)
fonts:
	@missing=$$(for p in $(FONT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "make fonts: not installed: "$$missing" (run as root: apt-get install them); font writers and the" \
	  "out-of-distribution check use what is installed" >&2; fi

## dataset
SYNTH_SRC    := $(wildcard kanjiedge/synth*.py) kanjiedge/formats.py kanjiedge/kanjivg.py kanjiedge/charsets.py \
                kanjiedge/symbol_strokes.py
synth: $(SYNTH_SETS:%=$(A)/synth/sets/%/.done)
$(A)/synth/sets/%/.done: $(VENV)/.installed $(SYNTH_SRC) $(CLI_SRC) $(ETL_SRC) build/ffi.stamp
	$(PY) -m kanjiedge synth --format $* --writers $(SYNTH_WRITERS) --seed $(SYNTH_SEED) --realism $(SYNTH_REALISM) \
	  $(SYNTH_CHARS_$*) $(if $(filter etl9g,$*),$(SYNTH_ARGS)) --out $(@D) --preview $(A)/synth/samples-$*.png
	@touch $@

# font writers: one ETL file per training face (kanjiedge/fontwriter.py), pinned to the training split
$(A)/synth/fonts/.done: kanjiedge/fonts.py kanjiedge/fontwriter.py $(SYNTH_SRC) | $(VENV)/.installed fonts
	for f in $(FONT_FORMATS); do $(PY) -m kanjiedge fonts write --split train --format $$f --seed $(SYNTH_SEED) \
	  $(FONT_ARGS) --out $(@D)/$$f; done
	@touch $@

# what `kanjiedge synth` and `kanjiedge fonts write` also run (the ETL writer checks its records with the reader)
$(A)/synth/fonts/.done: $(CLI_SRC) $(ETL_SRC) build/ffi.stamp

# every module `kanjiedge dataset` imports, and the CO-59 table: a label or format fix rebuilds the dataset
dataset: $(DATA)
$(DATA): $(SOURCE) $(FONT_DONE) build/ffi.stamp $(DATASET_SRC)
	$(PY) -m kanjiedge dataset --etl-dir $(SOURCE_DIR) --out $(@D) $(if $(FONT_DONE),--train-only $(A)/synth/fonts)

## train
train: $(A)/models/$(ARCH)/model-card.md
$(A)/models/%/model-card.md: $(DATA) $(MODEL_SRC)
	$(if $(filter-out 1,$(NPROC)),$(VENV)/bin/torchrun --standalone --nproc-per-node=$(NPROC) -m kanjiedge.train,$(PY) -m kanjiedge train) \
	  $* --data $(<D) --out $(@D) $(TRAIN_ARGS)

## edge
ifneq ($(filter $(TARGET),$(TARGETS)),)
edge: $(A)/edge/$(TARGET)/verify.json
else
edge:
	@echo "make edge: unknown TARGET '$(TARGET)'; valid: $(TARGETS) (one per targets/*.toml)" >&2; exit 2
endif
edge-all: $(TARGETS:%=$(A)/edge/%/verify.json)
$(A)/edge/%/verify.json: targets/%.toml $(A)/models/$(EDGE_ARCH)/model-card.md $(EXPORT_SRC) node_modules/.installed
	$(PY) -m kanjiedge edge $* --model $(A)/models/$(EDGE_ARCH) --data $(DATA:/manifest.json=) --out $(@D) $(EDGE_ARGS)

## bench (+ the pytest-benchmark micro-benchmarks of bench/, marker `microbench`)
bench: $(A)/reports/bench.json $(A)/reports/microbench.json
$(A)/reports/microbench.json: $(BENCH_SRC) build/ffi.stamp
	@mkdir -p $(@D)
	$(PY) -m pytest -q -p no:cacheprovider -o python_files='bench_*.py' -m microbench bench/ --benchmark-json=$@
$(A)/reports/bench.json: $(TARGETS:%=$(A)/edge/%/verify.json) $(wildcard $(A)/models/*/best.pt) $(BENCH_SRC) build/ffi.stamp \
  | fonts
	$(PY) -m bench.report --data $(DATA:/manifest.json=) --edge $(A)/edge --models $(A)/models --out $(@D) \
	  $(if $(EVAL_DIR),--etl-dir $(EVAL_DIR))

## tests: installs the browser the web-page test drives, if missing
build/chromium.stamp:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium fonts-ipafont-gothic >/dev/null; }
	@mkdir -p $(@D) && touch $@

test: build/ffi.stamp node_modules/.installed build/chromium.stamp fonts
	$(PY) -m pytest -q tests

clean:
	rm -rf $(A) build
