# Set-up and everyday commands. Each target creates/updates the virtual environment it needs.
#   make serve   - install the server (no torch) and run it on the bundled models, port 50051
#   make test    - install everything (torch CPU build for the tiny train->export test) and run the tests
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
HASH    := $(shell cksum pyproject.toml | cut -d' ' -f1)
SERVE_STAMP := $(VENV)/.serve-$(HASH)
TEST_STAMP  := $(VENV)/.test-$(HASH)
TORCH   := torch==2.13.0

.PHONY: serve test install proto unity-proto bench clean

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
	# the dialog tests parse generated Yarn scripts with yarn-bound (npm); skipped where npm is absent
	if command -v npm >/dev/null; then npm ci --prefix tests/yarn --no-audit --no-fund --loglevel=error; fi
	touch $@ $(SERVE_STAMP)

install: $(TEST_STAMP)

serve: $(SERVE_STAMP)
	$(BIN)/gamegen serve $(ARGS)

test: $(TEST_STAMP)
	$(BIN)/python -m pytest $(ARGS)

proto: $(TEST_STAMP)
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=proto --pyi_out=proto --grpc_python_out=proto \
		proto/gamegen/v1/gamegen.proto
	# the Unity package's committed C# messages follow the same .proto (a test checks they match)
	if command -v protoc >/dev/null; then $(MAKE) unity-proto; fi

# The Unity package's optional gRPC transport uses protoc's C# messages (Debian protobuf-compiler 3.21;
# grpcio-tools' protoc has no C# generator). tests/test_unity_package.py fails when they drift.
unity-proto:
	protoc -Iproto --csharp_out=unity_client/Runtime/Grpc/Generated proto/gamegen/v1/gamegen.proto

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
