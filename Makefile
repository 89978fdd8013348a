# Layer-W: `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LAYERW := $(VENV)/bin/layerw
DEBS := mesa-vulkan-drivers xvfb xauth chromium redis-server lldb
DEMO_GAMES := pong asteroids sprites
OUT := out

export ZIG_GLOBAL_CACHE_DIR := $(CURDIR)/.cache/zig
export LAYERW_CACHE_DIR := $(CURDIR)/.cache/layerw
export XDG_RUNTIME_DIR ?= /tmp

.PHONY: setup demo stop test bench lint codegen clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

setup: $(VENV)/.installed
	@tools/ensure-system-deps $(DEBS)
	@command -v npm >/dev/null || tools/ensure-system-deps npm
	@$(PY) -m layerw.toolchain.component  # the pinned WASI reactor adapter (npm jco), SHA-256 checked
	@$(PY) -m layerw.toolchain.jco  # jco itself, `npm ci` from layerw/toolchain/npm (transpiles components for browsers)

STORE := $(OUT)/store
PORT ?= 8000

demo: setup stop
	@for g in $(DEMO_GAMES); do $(LAYERW) build games/$$g -o $(OUT)/build/$$g || exit 1; done
	$(LAYERW) run $(OUT)/build/asteroids --headless --ticks 240 --frames $(OUT)/demo --every 60 --screenshot $(OUT)/demo/asteroids.png
	$(LAYERW) run $(OUT)/build/pong --headless --ticks 240 --screenshot $(OUT)/demo/pong.png
	$(LAYERW) run $(OUT)/build/sprites --headless --ticks 120 --screenshot $(OUT)/demo/sprites.png
	@for g in $(DEMO_GAMES); do $(LAYERW) publish $(OUT)/build/$$g --store $(STORE) || exit 1; done
	@nohup $(LAYERW) serve --store $(STORE) --port $(PORT) > $(OUT)/server.log 2>&1 & echo $$! > $(OUT)/server.pid
	@for i in $$(seq 50); do curl -sf http://127.0.0.1:$(PORT)/games >/dev/null && break; sleep 0.2; done
	@echo "native frames: $(OUT)/demo/"
	@echo "the games play in a browser at http://127.0.0.1:$(PORT)/  (server log: $(OUT)/server.log; stop it: make stop)"
	@echo "two players, one pong room: open http://127.0.0.1:$(PORT)/play/pong?room=demo in two tabs"

stop:
	@if [ -f $(OUT)/server.pid ]; then kill $$(cat $(OUT)/server.pid) 2>/dev/null || true; rm -f $(OUT)/server.pid; fi

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) -m bench

JSCHECK := tools/jscheck
$(JSCHECK)/node_modules/.installed: $(JSCHECK)/package.json $(JSCHECK)/package-lock.json $(VENV)/.installed
	cd $(JSCHECK) && PATH=$(CURDIR)/$(VENV)/bin:$$PATH npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(VENV)/.installed $(JSCHECK)/node_modules/.installed  # PyPI and npm packages only: no apt, browser or jco
	$(VENV)/bin/ruff check layerw tests bench
	$(VENV)/bin/mypy --strict layerw bench
	$(VENV)/bin/lint-imports  # the layers in pyproject.toml [tool.importlinter] (see ARCHITECTURE.md)
	$(VENV)/bin/node $(JSCHECK)/node_modules/typescript/bin/tsc -p $(JSCHECK)/tsconfig.json  # the browser client's JSDoc types

codegen: setup
	$(PY) -m layerw.toolchain.codegen

clean:
	rm -rf $(OUT) .pytest_cache
