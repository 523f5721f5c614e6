# fitwatch — `make` lists the targets. CMake does the building; this file
# only installs what is missing and calls it.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# WERROR=ON turns compiler warnings into errors (CI: .ci/run).
WERROR ?= OFF

# Debian packages the build, the tests and the demo need. libopenblas0-pthread
# makes Debian's libtorch use OpenBLAS instead of the reference BLAS (about
# ten times faster training on CPU). chromium (headless) renders the HTML
# report in the tests. The Python package (python/, setup.py):
# pybind11 and the Python headers to build it, pip/setuptools/wheel/venv to
# install it offline (python3-wheel-whl: wheel for a venv without Debian's
# site-packages), pytest and PyTorch (python3-torch) for its tests and
# example.
PACKAGES := g++ cmake make nlohmann-json3-dev doctest-dev libfmt-dev \
	libtorch-dev libopenblas0-pthread zlib1g-dev dataset-fashion-mnist jq \
	libyaml-cpp-dev libcurl4-openssl-dev libsimdjson-dev \
	python3-dev pybind11-dev python3-setuptools python3-wheel python3-wheel-whl \
	python3-pip python3-venv python3-pytest python3-torch chromium
# Debian's Python: the one the extension is built for, tested with and
# installed into (python3 on PATH may be another one).
PYTHON := /usr/bin/python3
BENCH_PACKAGES := libbenchmark-dev

.PHONY: help deps bench-deps build test test-asan test-tsan fuzz demo bench bench-corpus install clean

help:
	@echo "fitwatch targets:"
	@echo "  make demo       install what is missing, build, train on Fashion-MNIST with the output"
	@echo "                  replayed live through the shipped alarms: when they fire, the email,"
	@echo "                  and an HTML report next to the outbox"
	@echo "  make test       install what is missing, build, run every test"
	@echo "  make build      configure and build into $(BUILD)/"
	@echo "  make bench      run the benchmarks and print their figures (docs/benchmarks.md)"
	@echo "  make bench-corpus  regenerate the corpora of real training runs (a few hours on 2 cores)"
	@echo "  make install    install the library, headers, CMake package, the fitwatch command"
	@echo "                  (PREFIX=/usr/local by default) and the Python package (pip, $(PYTHON))"
	@echo "  make test-asan  the tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	@echo "  make test-tsan  the tests under ThreadSanitizer"
	@echo "  make fuzz       run the libFuzzer targets (EMF line reader, template reader),"
	@echo "                  FUZZ_SECONDS each (60); a crash is kept in tests/fuzz/regressions/"
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
	@command -v node >/dev/null && command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm

build: deps
	@cmake -S . -B $(BUILD) -DFITWATCH_WERROR=$(WERROR) $(CMAKE_FLAGS) > $(BUILD).configure.log || { cat $(BUILD).configure.log; exit 1; }
	@cmake --build $(BUILD) -j $(JOBS) | grep -v -E "^gmake|Entering directory|Leaving directory" || true
	@test -x $(BUILD)/fitwatch

test: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 600

# The sanitizer runs leave out libtorch (not built with sanitizers) and its
# example, and the Python extension (Python itself is not built with them).
test-asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DFITWATCH_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug -DFITWATCH_WITH_TORCH=OFF -DFITWATCH_BUILD_PYTHON=OFF"

test-tsan:
	$(MAKE) test BUILD=build-tsan CMAKE_FLAGS="-DFITWATCH_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug -DFITWATCH_WITH_TORCH=OFF -DFITWATCH_BUILD_PYTHON=OFF"

# The main job: real training whose EMF output goes live through the
# shipped alarms. Each epoch is stamped 30 s apart (--epoch-seconds), as if
# training took minutes, so the timeline reads like a real job's.
DEMO_EMAILS ?= alice@example.com,bob@example.org,carol@example.net
demo: build
	@rm -rf $(BUILD)/demo && mkdir -p $(BUILD)/demo
	@echo "== Fashion-MNIST (overfit preset) | fitwatch watch --template templates/overfitting-alerts.yaml =="
	@set -o pipefail; $(BUILD)/examples/train_fashion_mnist --preset overfit --epoch-seconds 30 \
	  2> $(BUILD)/demo/training.txt \
	  | $(BUILD)/fitwatch watch --template templates/overfitting-alerts.yaml \
	      --param TrainingJobName=fashion-mnist --param TeamEmails=$(DEMO_EMAILS) \
	      --outbox $(BUILD)/demo/outbox --report $(BUILD)/demo/report.html > $(BUILD)/demo/emf.log
	@echo
	@echo "== training summary ($(BUILD)/demo/training.txt) =="
	@tail -n 4 $(BUILD)/demo/training.txt
	@echo
	@echo "== the EMF log ($(BUILD)/demo/emf.log), checked as CloudWatch Logs reads it =="
	@$(BUILD)/fitwatch validate $(BUILD)/demo/emf.log
	@echo
	@echo "== the email each member receives ($$(ls $(BUILD)/demo/outbox | wc -l) files in $(BUILD)/demo/outbox) =="
	@tr -d '\r' < "$$(ls -d $(BUILD)/demo/outbox/*.eml | head -n 1)"
	@echo
	@echo "== the report: losses, signals, alarms and emails on one time axis (open it in a browser) =="
	@echo "$(abspath $(BUILD)/demo/report.html)"

# make bench: the emitter (Google Benchmark), replay speed, fitwatch against
# the peer EMF libraries (Node.js packages pinned in bench/node, installed
# there only), the training-loop overhead, and the detectors scored on the
# stored corpus of real runs. make bench-corpus regenerates the corpus.
bench: bench-deps build
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DFITWATCH_BUILD_BENCH=ON -DFITWATCH_BUILD_TESTS=OFF \
	  -DFITWATCH_WITH_TORCH=OFF -DFITWATCH_BUILD_PYTHON=OFF > build-bench.configure.log
	@cmake --build build-bench -j $(JOBS) | grep -E "error|Built target" || true
	build-bench/bench/bench_emitter
	build-bench/bench/bench_replay 1000000
	build-bench/bench/bench_watch 4000000
	cd bench/node && npm ci --no-audit --no-fund --silent
	python3 bench/peers.py build-bench/bench/peer_fitwatch 200000 5
	python3 bench/overhead.py $(BUILD)/examples/train_fashion_mnist 5
	python3 bench/corpus/tune.py build-bench/bench/tune_detector
	python3 bench/corpus/score.py $(BUILD)/fitwatch
	PYTHONPATH=$(BUILD)/python $(PYTHON) bench/python_observe.py 20000 5

bench-corpus: build
	$(call install_missing,python3-torch)
	rm -rf bench/corpus/runs bench/corpus/torch_runs
	python3 bench/corpus/generate.py $(BUILD)/examples/train_fashion_mnist 160 $(JOBS)
	/usr/bin/python3 bench/corpus/generate_torch.py

FUZZ_SECONDS ?= 60
fuzz: deps
	$(call install_missing,clang libclang-rt-14-dev)
	@CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFITWATCH_FUZZ=ON -DFITWATCH_WERROR=$(WERROR) \
	  -DFITWATCH_WITH_TORCH=OFF -DFITWATCH_BUILD_TESTS=OFF -DFITWATCH_BUILD_PYTHON=OFF > build-fuzz.configure.log
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_emf_line fuzz_template | grep -E "error|Built target fuzz" || true
	@set -o pipefail; for t in emf_line template; do \
	  rm -rf build-fuzz/corpus_$$t && cp -r tests/fuzz/corpus_$$t build-fuzz/corpus_$$t; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s =="; \
	  build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=4096 \
	    -artifact_prefix=tests/fuzz/regressions/$$t/ build-fuzz/corpus_$$t > build-fuzz/fuzz_$$t.log 2>&1 \
	    && tail -n 2 build-fuzz/fuzz_$$t.log \
	    || { grep -v -E "^(#|INFO|NEW|REDUCE|pulse)" build-fuzz/fuzz_$$t.log | tail -n 60; exit 1; }; \
	done

PREFIX ?= /usr/local
# The Python package: pip builds it offline with Debian's tools into
# $(PREFIX)/lib/python3.X/dist-packages, where Debian's Python looks for
# PREFIX=/usr/local (pip --prefix would add Debian's extra "local/").
PYTHON_SITE = $(PREFIX)/$(shell $(PYTHON) -c 'import sys; print("lib/python%d.%d/dist-packages" % sys.version_info[:2])')
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)
	$(PYTHON) -m pip install --no-build-isolation --no-index --upgrade --target $(PYTHON_SITE) .

clean:
	rm -rf build build-asan build-tsan build-bench build-fuzz build*.configure.log
