# fitwatch — `make` lists the targets. CMake does the building; this file
# only installs what is missing and calls it.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

# Debian packages the build, the tests and the demo need. libopenblas0-pthread
# makes Debian's libtorch use OpenBLAS instead of the reference BLAS (about
# ten times faster training on CPU).
PACKAGES := g++ cmake make nlohmann-json3-dev libspdlog-dev doctest-dev \
	libtorch-dev libopenblas0-pthread zlib1g-dev dataset-fashion-mnist jq
BENCH_PACKAGES := libbenchmark-dev

.PHONY: help deps bench-deps build test test-asan test-tsan demo bench install clean

help:
	@echo "fitwatch targets:"
	@echo "  make demo       install what is missing, build, train on Fashion-MNIST until fitwatch"
	@echo "                  detects overfitting, print the EMF lines and check them"
	@echo "  make test       install what is missing, build, run every test"
	@echo "  make build      configure and build into $(BUILD)/"
	@echo "  make bench      build and run the benchmarks (figures printed)"
	@echo "  make install    install the library, headers, CMake package and the fitwatch command"
	@echo "                  (PREFIX=/usr/local by default)"
	@echo "  make test-asan  the tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	@echo "  make test-tsan  the tests under ThreadSanitizer"
	@echo "  make deps       only install the missing Debian packages"
	@echo "  make clean      remove the build directories"

# Installs only what is missing; apt-get needs root (or sudo).
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call install_missing,$(PACKAGES))

bench-deps: deps
	$(call install_missing,$(BENCH_PACKAGES))

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 600

# The sanitizer runs leave out libtorch (not built with sanitizers) and its example.
test-asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DFITWATCH_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug -DFITWATCH_WITH_TORCH=OFF"

test-tsan:
	$(MAKE) test BUILD=build-tsan CMAKE_FLAGS="-DFITWATCH_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug -DFITWATCH_WITH_TORCH=OFF"

demo: build
	@echo "== real training on Fashion-MNIST (overfit preset); EMF lines on stdout, summary on stderr =="
	@$(BUILD)/examples/train_fashion_mnist --preset overfit | tee $(BUILD)/demo.log
	@echo "== fitwatch validate: is every line EMF as CloudWatch reads it? =="
	@$(BUILD)/fitwatch validate $(BUILD)/demo.log

bench: bench-deps
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DFITWATCH_BUILD_BENCH=ON -DFITWATCH_BUILD_TESTS=OFF
	cmake --build build-bench -j $(JOBS)
	build-bench/bench/bench_emitter

PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-tsan build-bench
