# kanjiedge — ETL Character Database -> handwritten Japanese character recognizers on edge devices.
#
#   make all ............. dataset -> train -> edge-all -> bench (synthetic data unless ETL files are given)
#   make dataset ......... ETL files in $(ETL_DIR) (or the built-in synthetic ETL9G set) -> artifacts/dataset/
#   make train ARCH=cnn .. train one registered architecture -> artifacts/models/$(ARCH)/
#   make edge TARGET=rpi . quantize + export + verify one target -> artifacts/edge/$(TARGET)/
#   make edge-all ........ every target in targets/*.toml
#   make bench ........... accuracy / size / latency report -> artifacts/reports/bench.md (+ plots)
#   make fonts ........... install the Debian Japanese fonts (training writers, OOD check) with apt-get
#   make test ............ the test suite (installs what it needs)
#   make clean ........... remove artifacts/ (keeps .venv)
#
# Variables: ETL_DIR (real ETL files, default data/etl), ARCH (default cnn), TARGET, NPROC (torchrun workers),
# A (artifacts folder), SYNTH_WRITERS (writers in the synthetic set), SYNTH_ARGS / TRAIN_ARGS / EDGE_ARGS (extra
# options for `kanjiedge synth` / `train` / `edge`), EVAL_DIR (ETL files the report also measures accuracy on),
# FONT_WRITERS=1 (the training split of the Debian fonts joins the data as extra writers, training split only;
# FONT_FORMATS, FONT_ARGS: their ETL formats and extra `kanjiedge fonts write` options, e.g. --chars).
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

PKG_SRC      := $(wildcard kanjiedge/*.py kanjiedge/data/*)
MODEL_SRC    := $(wildcard kanjiedge/models/*.py kanjiedge/train*.py) kanjiedge/augment.py
EXPORT_SRC   := $(wildcard kanjiedge/export/*.py kanjiedge/web/*) kanjiedge/edge.py kanjiedge/profile.py
BENCH_SRC    := $(wildcard bench/*.py)

# Real ETL files if the user put any in ETL_DIR (INFO files are not data), else the synthetic stand-in.
ETL_FILES    := $(shell find $(ETL_DIR) -type f -name 'ETL*' ! -name '*INFO*' 2>/dev/null | sort)
ifeq ($(strip $(ETL_FILES)),)
DATASET      ?= synth-etl9g
SOURCE       := $(A)/synth/etl9g/.done
SOURCE_DIR   := $(A)/synth/etl9g
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
synth: $(A)/synth/etl9g/.done
$(A)/synth/etl9g/.done: $(VENV)/.installed kanjiedge/synth.py kanjiedge/formats.py kanjiedge/kanjivg.py kanjiedge/charsets.py
	$(PY) -m kanjiedge synth --format etl9g --writers $(SYNTH_WRITERS) --seed $(SYNTH_SEED) $(SYNTH_ARGS) --out $(@D) --preview $(A)/synth/samples.png
	@touch $@

# font writers: one ETL file per training face (kanjiedge/fontwriter.py), pinned to the training split
$(A)/synth/fonts/.done: kanjiedge/fonts.py kanjiedge/fontwriter.py kanjiedge/synth.py kanjiedge/formats.py | $(VENV)/.installed fonts
	for f in $(FONT_FORMATS); do $(PY) -m kanjiedge fonts write --split train --format $$f --seed $(SYNTH_SEED) \
	  $(FONT_ARGS) --out $(@D)/$$f; done
	@touch $@

# every module `kanjiedge dataset` imports, and the CO-59 table: a label or format fix rebuilds the dataset
DATASET_SRC  := $(addprefix kanjiedge/,dataset.py etl.py etlcheck.py formats.py codes.py charsets.py native.py \
                kanjivg.py atomic.py errors.py cli.py __main__.py __init__.py data/co59.tsv)
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

## bench
bench: $(A)/reports/bench.json
$(A)/reports/bench.json: $(TARGETS:%=$(A)/edge/%/verify.json) $(wildcard $(A)/models/*/best.pt) $(BENCH_SRC) build/ffi.stamp \
  | fonts
	$(PY) -m bench.report --data $(DATA:/manifest.json=) --edge $(A)/edge --models $(A)/models --out $(@D) \
	  $(if $(EVAL_DIR),--etl-dir $(EVAL_DIR))

## tests: installs the browser the web-page test drives, if missing
chromium-installed:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium fonts-ipafont-gothic >/dev/null; }

test: build/ffi.stamp node_modules/.installed chromium-installed fonts
	$(PY) -m pytest -q tests

clean:
	rm -rf $(A) build
