# SPDX-License-Identifier: GPL-2.0
#
# cmakit: build the instrumented CMA kernel, boot it as a virtual board, run
# scenarios and tests on it. `make help` lists the targets. Quiet by default;
# V=1 shows every command.

SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export ROOT V DEBUG KERNEL

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Board settings, passed to ci/vm/run.sh
export VM_MEM VM_CPUS VM_CMA VM_APPEND VM_TIMEOUT VM_OUT

TOOL_DIRS := $(patsubst %/Makefile,%,$(wildcard tools/*/Makefile bpf/Makefile))
C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null | grep -vE '^(kernel-patches|tools/include)/')

.PHONY: all help deps kernel tools bpf fuzz vm test run bench regress stress clean distclean lint format

all: kernel tools

help:
	@echo 'cmakit targets:'
	@echo '  deps      install the Debian packages the project needs (as root)'
	@echo '  kernel    build the board kernel KERNEL=cmakit|stock|debug|series:DIR|git:REF'
	@echo '  tools     build the user-space tools (tools/*, bpf/) into build/<tool>/'
	@echo '  bpf       build the BPF tools only'
	@echo '  fuzz      run the trace parser fuzzer (FUZZ_SECONDS=600)'
	@echo '  vm        run CMD in the virtual board: make vm CMD="cat /proc/meminfo"'
	@echo '  run       the main job: boot the board, run SCENARIO, write results/'
	@echo '  test      unit tests and in-board tests; ends with "N passed, N failed"'
	@echo '  bench     benchmarks, as ratios measured side by side in one run'
	@echo '  lint      clang-format check, cppcheck, checkpatch --strict on the series'
	@echo '  format    clang-format the C sources in place'
	@echo '  clean     remove build/ (kernel trees, objects); distclean also results/'
	@echo '  regress   BASE=<variant> CAND=<variant> [SCENARIOS=...] [RUNS=5]: a verdict'
	@echo '  stress    the kernel under 10000 faults per stage, 100000 ioctls, 100 kills (debug kernel)'
	@echo 'variables: V=1 verbose, KERNEL=<variant> (kernel, vm, run, test, bench; DEBUG=1 means'
	@echo '           KERNEL=debug), VM_MEM VM_CPUS VM_CMA VM_APPEND VM_TIMEOUT'

deps:
	$(Q)bash ci/deps.sh

kernel: deps
	$(Q)bash ci/kernel/build.sh

tools: deps
	$(Q)for d in $(TOOL_DIRS); do $(MAKE) --no-print-directory -C $$d || exit 1; done

bpf: deps kernel
	$(Q)[ ! -f bpf/Makefile ] || $(MAKE) --no-print-directory -C bpf

fuzz: deps
	$(Q)[ ! -f tools/cmatrace/Makefile ] || $(MAKE) --no-print-directory -C tools/cmatrace fuzz

vm: kernel
	$(Q)if [ -z '$(subst ','"'"',$(CMD))' ]; then echo "vm: no command given (make vm CMD='...')" >&2; exit 2; fi
	$(Q)bash ci/vm/run.sh -- '$(subst ','"'"',$(CMD))'

run: kernel tools
	$(Q)bash ci/run.sh $(SCENARIO)

test: kernel tools
	$(Q)bash ci/test.sh

bench: kernel tools
	$(Q)bash ci/bench.sh

stress: deps tools
	$(Q)bash ci/stress.sh

regress: deps tools
	$(Q)BASE='$(BASE)' CAND='$(CAND)' bash ci/regress.sh

lint:
	$(Q)bash ci/lint.sh

format:
	$(Q)[ -z "$(C_SOURCES)" ] || clang-format -i $(C_SOURCES)

clean:
	$(Q)for d in $(TOOL_DIRS); do $(MAKE) --no-print-directory -C $$d clean; done
	$(Q)rm -rf build

distclean: clean
	$(Q)rm -rf results
