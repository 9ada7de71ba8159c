# Two commands do everything: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test system bench clean

$(STAMP): setup.cfg pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
# The GE2E judge's weights (dubber.models.ge2e): --no-deps, as the package's own dependencies pull torch
	$(BIN)/python -m pip install --quiet --no-deps resemblyzer==0.1.4
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/dubber dub samples/demo.mp4 samples/demo.en.srt -o out/demo.dubbed.mp4 \
		--lang en --mix duck --report out/demo.report.json --stem out/demo.dub.wav \
		--loudness web --export otio,srt,stems --overwrite
	@echo "Wrote out/demo.dubbed.mp4, out/demo.dub.wav, out/demo.report.json and, for an editor,"
	@echo "out/demo.dubbed.otio (a clip per line), out/demo.dubbed.srt and out/demo.dubbed.stems/"

test: system $(STAMP)
	$(BIN)/python -m pytest -q --durations=30

# The system packages the panel and the tests need (ui/system-packages.txt); the demo needs none.
system:
	@bash .ci/system-packages

bench: $(STAMP)
	$(BIN)/python bench/duration.py
	$(BIN)/python bench/e2e.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/language.py
	$(BIN)/python bench/voice.py
	$(BIN)/python bench/background.py
	$(BIN)/python bench/mandarin.py

clean:
	rm -rf $(VENV) out build *.egg-info
