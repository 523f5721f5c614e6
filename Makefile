# fitwatch — `make` lists the targets. CMake does the building; this file
# only installs what is missing and calls it.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# WERROR=ON turns compiler warnings into errors (CI: .ci/run).
WERROR ?= OFF

# The Debian packages live in one place, deps/*.txt (build, test, bench,
# fuzz), shared with .ci/run and the Dockerfile; deps/install.sh installs the
# missing ones and calls no apt-get when none is.
# Debian's Python: the one the extension is built for, tested with and
# installed into (python3 on PATH may be another one).
PYTHON := /usr/bin/python3
# Every recipe runs under bash with -e and pipefail: a failing command fails
# the target, even inside a pipe.
.SHELLFLAGS := -eu -o pipefail -c

.PHONY: help deps bench-deps build configure test test-image wheel test-wheel test-asan test-tsan fuzz demo bench bench-corpus install clean

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
	@echo "  make wheel      the Python wheel (py3-none-manylinux_2_31_x86_64, with the fitwatch"
	@echo "                  command) built in a Debian 11 root, checked as auditwheel would: dist/"
	@echo "  make test-wheel the wheel installed and run in fresh Debian 11, 12 and 13 roots"
	@echo "  make test-image build the SageMaker training image (Dockerfile) with podman and check"
	@echo "                  its contract in it; find_package(fitwatch) in a root without nlohmann"
	@echo "  make test-asan  the tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	@echo "  make test-tsan  the tests under ThreadSanitizer"
	@echo "  make fuzz       run the libFuzzer targets (EMF line reader, template reader),"
	@echo "                  FUZZ_SECONDS each (60); a crash is kept in tests/fuzz/regressions/"
	@echo "  make deps       only install the missing Debian packages"
	@echo "  make clean      remove the build directories"

# Installs only what is missing (deps/install.sh; apt-get needs root or sudo).
# cfn-lint is not packaged by Debian: pipx installs it from PyPI when it is
# missing; where that fails (no network), its test is reported as skipped.
deps:
	@deps/install.sh build test
	@command -v cfn-lint >/dev/null || test -x "$$HOME/.local/bin/cfn-lint" \
	  || pipx install cfn-lint >/dev/null 2>&1 \
	  || echo "make deps: cfn-lint could not be installed (pipx install cfn-lint): its test will be skipped"

bench-deps: deps
	@deps/install.sh bench

# build never installs anything; test and demo install what is missing first.
configure:
	@cmake -S . -B $(BUILD) -DFITWATCH_WERROR=$(WERROR) $(CMAKE_FLAGS) > $(BUILD).configure.log \
	  || { cat $(BUILD).configure.log; exit 1; }

build: configure
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

test: deps
	@$(MAKE) --no-print-directory build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 600

# The wheel is built in a Debian 11 root made with mmdebstrap (cached in
# build-wheel/), then checked (tools/wheel/check.py); test-wheel installs it
# in fresh Debian 11/12/13 roots without a compiler or network (about 3 min
# with the roots cached, 10-15 min cold; docs/python.md).
wheel: deps
	@deps/install.sh image
	tools/wheel/build.sh

test-wheel: wheel
	tests/wheel/test_roots.sh

# The training image built with podman from an mmdebstrap Debian 12 root
# (cached in build-image/), its SageMaker contract checked in a RUN step;
# then find_package(fitwatch) in a Debian 12 root without nlohmann_json.
# About 22 minutes from scratch (docs/deploy.md).
test-image: deps
	@deps/install.sh image
	@$(MAKE) --no-print-directory build
	tests/image/build_and_test.sh
	tests/cmake_import/no_nlohmann.sh $(BUILD)

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
demo: deps
	@$(MAKE) --no-print-directory build
	@rm -rf $(BUILD)/demo && mkdir -p $(BUILD)/demo
	@echo "== Fashion-MNIST (overfit preset) | fitwatch watch --template templates/overfitting-alerts.yaml =="
	@$(BUILD)/examples/train_fashion_mnist --preset overfit --epoch-seconds 30 \
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
bench: bench-deps
	@$(MAKE) --no-print-directory build
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DFITWATCH_BUILD_BENCH=ON -DFITWATCH_BUILD_TESTS=OFF \
	  -DFITWATCH_WITH_TORCH=OFF -DFITWATCH_BUILD_PYTHON=OFF > build-bench.configure.log \
	  || { cat build-bench.configure.log; exit 1; }
	@cmake --build build-bench -j $(JOBS) -- --no-print-directory
	build-bench/bench/bench_emitter
	build-bench/bench/bench_diagnostics
	build-bench/bench/bench_replay 1000000
	build-bench/bench/bench_watch 4000000
	cd bench/node && npm ci --no-audit --no-fund --silent
	python3 bench/peers.py build-bench/bench/peer_fitwatch 200000 5
	python3 bench/overhead.py $(BUILD)/examples/train_fashion_mnist 5
	python3 bench/corpus/tune.py build-bench/bench/tune_detector
	python3 bench/corpus/score.py $(BUILD)/fitwatch
	PYTHONPATH=$(BUILD)/python $(PYTHON) bench/python_observe.py 20000 5

bench-corpus: deps
	@$(MAKE) --no-print-directory build
	rm -rf bench/corpus/runs bench/corpus/torch_runs bench/corpus/seq_runs
	python3 bench/corpus/generate.py $(BUILD)/examples/train_fashion_mnist 160 $(JOBS)
	/usr/bin/python3 bench/corpus/generate_torch.py
	nice -n 19 /usr/bin/python3 bench/corpus/generate_seq.py 242 2

FUZZ_SECONDS ?= 60
fuzz: deps
	@deps/install.sh fuzz
	@CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFITWATCH_FUZZ=ON -DFITWATCH_WERROR=$(WERROR) \
	  -DFITWATCH_WITH_TORCH=OFF -DFITWATCH_BUILD_TESTS=OFF -DFITWATCH_BUILD_PYTHON=OFF > build-fuzz.configure.log \
	  || { cat build-fuzz.configure.log; exit 1; }
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_emf_line fuzz_template -- --no-print-directory
	@for t in emf_line template; do \
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
	rm -rf build build-asan build-tsan build-bench build-fuzz build-image build-wheel dist build*.configure.log
