# channelops — the two commands a new reader needs are `make run` and `make test`.
# Everything is installed into .venv inside this folder; nothing is taken from the machine
# but python3 (>= 3.11).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := data/demo
TINY   := data/tiny
# Notebooks and papermill use the kernel installed into .venv, never a machine-wide one.
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter

.PHONY: install run test test-heavy lab data lint clean-output nbval-prepare

install: $(STAMP)

$(STAMP): pyproject.toml
	@echo "==> [1/3] virtual environment $(VENV)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] channelops and its dependencies (test, lab, spark extras): about 2 minutes the first time; pip lists each package"
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -e ".[test,lab,spark]"
	@echo "==> [3/3] the channelops Jupyter kernel"
	$(BIN)/python -c "from channelops.run.runner import ensure_kernel; ensure_kernel()"
	@touch $(STAMP)
	@echo "==> installed: try '$(BIN)/channelops --help' or 'make run'"

$(DEMO)/dataset.yaml: | $(STAMP)
	$(BIN)/channelops synth --scenario multi_category --size demo --seed 42 --out $(DEMO)

$(TINY)/dataset.yaml: | $(STAMP)
	$(BIN)/channelops synth --scenario multi_category --size tiny --seed 7 --out $(TINY)

data: $(DEMO)/dataset.yaml

## make run: install if needed, generate the demo dataset if absent, run the whole report
run: install $(DEMO)/dataset.yaml
	$(BIN)/channelops run --params parameters/default.yaml

## make test: install if needed, run the whole suite (unit, bad input, run: two workers, a file each;
## the notebooks via nbval beside them, in a third process that fills the workers' idle time: its
## report, in build/nbval.log, is printed after theirs)
test: install $(TINY)/dataset.yaml
	$(BIN)/channelops nbval-prepare --params parameters/ci.yaml --dataset $(TINY) --into build/nbval --output build/nbval-run
	$(BIN)/python -m pytest build/nbval --nbval-lax --nbval-kernel-name channelops -p no:cacheprovider > build/nbval.log 2>&1 & nbval=$$!; \
	$(BIN)/python -m pytest tests -p no:cacheprovider -m "not heavy" -n 2 --dist loadfile --durations=15; tests=$$?; \
	wait $$nbval; notebooks=$$?; echo "==> the notebooks (nbval)"; cat build/nbval.log; \
	test $$tests -eq 0 && test $$notebooks -eq 0

## make test-heavy: the tests that take minutes each (Spark identity parity), left out of make test
test-heavy: install $(TINY)/dataset.yaml
	$(BIN)/python -m pytest tests -p no:cacheprovider -m heavy

## make lab: JupyterLab on the notebooks, with the project's own kernel, opening START_HERE.ipynb
lab: install
	cd notebooks && ../$(BIN)/jupyter lab START_HERE.ipynb

## make lint: ruff's rules over the library, tests, benchmarks and notebooks; formatting of the code
lint: install
	$(BIN)/ruff check lib tests benchmarks notebooks
	$(BIN)/ruff format --check lib tests benchmarks

clean-output:
	rm -rf output build
