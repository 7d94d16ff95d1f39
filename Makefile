# Thin wrapper around CMake. `make demo` and `make test` are all a newcomer types.
BUILD      ?= build
ASAN_BUILD ?= build-asan
CLANG_BUILD ?= build-clang
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
WERROR     := $(if $(CI),ON,OFF)
CTEST_ARGS ?=
FUZZ_SECONDS ?= 60

.PHONY: all deps configure build test unit asan clang e2e demo bench fuzz package install clean

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DWGR_WERROR=$(WERROR)

configure: $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Everything: unit tests, fuzz corpus replay, loopback integration tests, end-to-end worlds
# and the kernel WireGuard VM (the last two skip with a message where they cannot run).
# Scenarios labelled flaky or long (tests/e2e/e2e.cmake) run in `make e2e` only.
test: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -LE 'flaky|long' $(CTEST_ARGS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit $(CTEST_ARGS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DWGR_SANITIZE=ON -DWGR_WERROR=$(WERROR) -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -L 'unit|integration' $(CTEST_ARGS)

# Every target, tests included, built by clang with -Werror (its warnings differ from gcc's);
# nothing is run.
clang: deps
	CC=clang cmake -S . -B $(CLANG_BUILD) -DWGR_WERROR=ON
	cmake --build $(CLANG_BUILD) -j $(JOBS)

e2e: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -L e2e $(CTEST_ARGS)

demo: deps
	$(MAKE) build
	if [ -f sim/demo.sh ]; then sh sim/demo.sh $(BUILD); else sh scripts/demo-local.sh $(BUILD); fi

bench: deps
	$(MAKE) build
	sh bench/run $(BUILD)

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DWGR_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

package: deps
	$(MAKE) build
	cd $(BUILD) && cpack -G DEB

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(CLANG_BUILD) $(FUZZ_BUILD)

# The relay network simulator's figures (docs/SCALE.md): sim/scale.sh runs wgrelay-sim's
# scenarios and plots them into $(BUILD)/sim-out (SCALE=quick: a small run in about a minute).
.PHONY: sim
sim: deps
	$(MAKE) build
	sh sim/scale.sh $(BUILD) $(BUILD)/sim-out
