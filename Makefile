# Keten: the two commands a newcomer needs are `make demo` and `make test` (see README.md).
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# ccache: share compiled objects between checkouts in different folders (CI clones elsewhere).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true

.PHONY: all deps configure build test test-fast test-asan tidy format-check ci-checks soak demo bench clean fuzz fuzz-smoke fuzz-build fuzz-run

all: build

deps:
	@./tools/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

$(ASAN_DIR)/build.ninja:
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKETEN_SANITIZE=ON -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 $(CMAKE_FLAGS)

# Every test, run under AddressSanitizer + UndefinedBehaviorSanitizer (its own build, with its own
# keten binary, so the binary's children in integration tests are checked too). One build, with
# clang (half of gcc's compile time for this code at -O0), keeps CI within its 30 minutes on two
# cores; `make test-fast` runs the same tests in the normal (gcc) build. The fuzzers are not part of
# it (their own build would take CI past 30 minutes): `make fuzz-smoke` before merging. Formatting
# and clang-tidy are not part of it either: CI runs them after it (`make ci-checks`, below).
test: test-asan

test-fast: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

test-asan: deps $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 600

# clang-tidy's bug-pattern checks (.clang-tidy) over the product's sources, using a build's
# compile_commands.json (and the headers flatc generates into it); any finding fails. CI runs the
# same checks on the ASan build (`make ci-checks`).
tidy: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) --target envelope_fbs events_fbs
	JOBS=$(JOBS) tools/tidy.sh $(BUILD_DIR)

# The formatting ratchet (tools/format-check.sh): every C++ file as clang-format-14 formats it with
# .clang-format, except those in tools/format-pending.txt, a list that only shrinks. The tree is not
# reformatted wholesale: format a file (clang-format-14 -i FILE) when you change it anyway, and a
# listed file that conforms leaves the list (tools/format-check.sh --update-pending).
format-check: deps
	JOBS=$(JOBS) tools/format-check.sh

# What CI (.ci/run) runs after `make test`: the format check, then clang-tidy over the ASan build's
# compile database, which `make test` has just built (so nothing is configured or compiled again).
# Both run even when the first fails; either failing fails the target. Measured on two cores: the
# format check about 1 CPU-minute, clang-tidy about 11 CPU-minutes (159 files), so some 6 minutes
# on top of `make test`'s 12 in CI.
ci-checks: deps $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR) --target envelope_fbs events_fbs
	@status=0; \
	JOBS=$(JOBS) tools/format-check.sh || status=1; \
	JOBS=$(JOBS) tools/tidy.sh $(ASAN_DIR) || status=1; \
	exit $$status

# The fault-injection suite (docs/hardening.md, "Fault injection") in its long form: every test
# tagged [fault], in every test executable, with KETEN_SOAK=1 (more kills, rounds and messages).
# `make test` runs the same tests in their quick form with the rest of the suite.
SOAK_TIMEOUT ?= 7200
soak: build
	@set -e; cd $(BUILD_DIR)/tests; for t in unit_* integration_*; do \
	  [ -f $$t ] && [ -x $$t ] || continue; \
	  ./$$t --list-test-names-only '[fault]' | grep -q . || continue; \
	  echo "soak: $$t [fault]"; \
	  KETEN_SOAK=1 timeout $(SOAK_TIMEOUT) ./$$t '[fault]' --durations yes; \
	done

# libFuzzer targets (docs/fuzzing.md): their own clang build with only the libraries they need.
# `make fuzz` runs each for FUZZ_SECONDS; `make test` runs each for FUZZ_SMOKE_SECONDS. New inputs
# go to $(FUZZ_DIR)/corpus/<target>; a crash is saved as $(FUZZ_DIR)/artifacts/<target>-crash-*.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_TARGETS := fuzz_envelope fuzz_validator fuzz_redaction fuzz_note fuzz_checkpoint fuzz_event

$(FUZZ_DIR)/build.ninja:
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
	  -DCMAKE_CXX_COMPILER=clang++-14 -DKETEN_FUZZ=ON -DKETEN_TESTS=OFF $(CMAKE_FLAGS)

fuzz-build: deps $(FUZZ_DIR)/build.ninja
	cmake --build $(FUZZ_DIR) --target fuzz_targets -j $(JOBS)

fuzz-run: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts; \
	  dict=; case $$t in fuzz_validator|fuzz_redaction) dict=-dict=tests/fuzz/json.dict;; fuzz_note|fuzz_checkpoint) dict=-dict=tests/fuzz/note.dict;; esac; \
	  echo "fuzz: $$t for $(FUZZ_RUN_SECONDS)s"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(FUZZ_DIR)/tests/fuzz/$$t $(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t $$dict \
	    -max_total_time=$(FUZZ_RUN_SECONDS) -max_len=16384 -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- 2>$(FUZZ_DIR)/$$t.log \
	    || { tail -n 60 $(FUZZ_DIR)/$$t.log; echo "fuzz: $$t FAILED (log: $(FUZZ_DIR)/$$t.log)"; exit 1; }; \
	  grep -E '^(Done|stat::number_of_executed_units)' $(FUZZ_DIR)/$$t.log || true; \
	done

fuzz:
	$(MAKE) fuzz-run FUZZ_RUN_SECONDS=$(FUZZ_SECONDS)

fuzz-smoke:
	$(MAKE) fuzz-run FUZZ_RUN_SECONDS=$(FUZZ_SMOKE_SECONDS)

# Sets everything up and plays one removal case of the migration chain end to end. Builds only the
# `keten` command the demo runs (keten, keten-inspect and keten-full: the target `keten` brings all three), not
# the tests and benchmarks (nor keten-bench, which `keten bench` runs: bench/run.sh builds it).
demo: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target keten
	./examples/migration-chain/demo.sh $(BUILD_DIR)/keten

# Keten vs RabbitMQ vs raw ZeroMQ on this machine (docs/performance.md); installs RabbitMQ and gnuplot
# (tools/install-deps.sh --bench), writes bench/results/. BENCH_ARGS e.g. --quick or --backlog 1000000.
BENCH_ARGS ?=
bench: configure
	BUILD_DIR=$(BUILD_DIR) ./bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)
