# Keten: the two commands a newcomer needs are `make demo` and `make test` (see README.md).
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# ccache: share compiled objects between checkouts in different folders (CI clones elsewhere).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true

.PHONY: all deps configure build test test-fast test-asan demo bench clean

all: build

deps:
	@./tools/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

$(ASAN_DIR)/build.ninja:
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKETEN_SANITIZE=ON $(CMAKE_FLAGS)

# Every test, run under AddressSanitizer + UndefinedBehaviorSanitizer (its own build, with its own
# keten binary, so the binary's children in integration tests are checked too). One build keeps CI
# within its time; `make test-fast` runs the same tests in the normal build.
test: test-asan

test-fast: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

test-asan: deps $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 600

# Sets everything up and plays one removal case of the migration chain end to end.
demo: build
	./examples/migration-chain/demo.sh $(BUILD_DIR)/keten

# Keten vs RabbitMQ vs raw ZeroMQ on this machine (docs/performance.md); installs RabbitMQ and gnuplot
# (tools/install-deps.sh --bench), writes bench/results/. BENCH_ARGS e.g. --quick or --backlog 1000000.
BENCH_ARGS ?=
bench: configure
	BUILD_DIR=$(BUILD_DIR) ./bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
