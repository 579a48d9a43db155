# SPDX-License-Identifier: GPL-2.0
#
# cmakit: build the instrumented CMA kernel, boot it as a virtual board, run
# scenarios and tests on it. `make help` lists the targets. Quiet by default;
# V=1 shows every command.

SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export ROOT V DEBUG KERNEL
ifdef ARCH
export ARCH
endif

# ARCH=arm64: the arm64 kernel (build/kernel/<variant>-arm64), board
# (qemu-system-aarch64 -M virt) and tools; unset or x86_64 the host's.
# The tools' own Makefiles take the kernel's names (x86, arm64).
BOARD_ARCH := $(if $(filter arm64 aarch64,$(ARCH)),arm64,x86_64)
TOOLS_ARCH := $(if $(ARCH),ARCH=$(if $(filter arm64,$(BOARD_ARCH)),arm64,$(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')))

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Board settings, passed to ci/vm/run.sh
export VM_MEM VM_CPUS VM_CMA VM_DT_CMA VM_APPEND VM_TIMEOUT VM_OUT

TOOL_DIRS := $(patsubst %/Makefile,%,$(wildcard tools/*/Makefile bpf/Makefile))
C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null | grep -vE '^(kernel-patches|tools/include)/')

.PHONY: all help deps kernel tools bpf fuzz vm test run bench regress stress clean distclean lint format bundle

all: kernel tools

help:
	@echo 'cmakit targets:'
	@echo '  deps      install the Debian packages the project needs (as root)'
	@echo '  kernel    build the board kernel KERNEL=cmakit|stock|debug|series:DIR|git:REF'
	@echo '  tools     build the user-space tools (tools/*, bpf/) into build/<tool>/'
	@echo '  bpf       build the BPF tools only'
	@echo '  fuzz      run the trace parser fuzzer (FUZZ_SECONDS=600)'
	@echo '  vm        run CMD in the virtual board: make vm CMD="cat /proc/meminfo"'
	@echo '  bundle    build/bundle/cmakit-<arch>.tar.gz: static tools for a real board (ARCH=arm64|x86_64)'
	@echo '  run       the main job: boot the board, run SCENARIO, write results/'
	@echo '  test      unit tests and in-board tests; ends with "N passed, N failed"'
	@echo '  bench     benchmarks, as ratios measured side by side in one run'
	@echo '  lint      clang-format check, cppcheck, checkpatch --strict on the series'
	@echo '  format    clang-format the C sources in place'
	@echo '  clean     remove build/ (kernel trees, objects); distclean also results/'
	@echo '  regress   BASE=<variant> CAND=<variant> [SCENARIOS=...] [RUNS=5]: a verdict'
	@echo '  stress    the kernel under 10000 faults per stage, 100000 ioctls, 100 kills (debug kernel)'
	@echo 'variables: V=1 verbose, KERNEL=<variant> (kernel, vm, run, test, bench; DEBUG=1 means'
	@echo '           KERNEL=debug), ARCH=x86_64|arm64 (kernel, vm, test, tools: the arm64 board'
	@echo '           is QEMU virt with its CMA areas in the device tree), VM_MEM VM_CPUS VM_CMA'
	@echo '           VM_DT_CMA VM_APPEND VM_TIMEOUT'

deps:
	$(Q)bash ci/deps.sh

kernel: deps
	$(Q)bash ci/kernel/build.sh

tools: deps
	$(Q)for d in $(TOOL_DIRS); do $(MAKE) --no-print-directory -C $$d $(TOOLS_ARCH) || exit 1; done

bpf: deps kernel
	$(Q)[ ! -f bpf/Makefile ] || $(MAKE) --no-print-directory -C bpf $(TOOLS_ARCH)

# build/bundle/cmakit-$(BOARD_ARCH).tar.gz: the static tools for a real board
bundle: deps
	$(Q)bash ci/bundle/bundle.sh $(BOARD_ARCH)

fuzz: deps
	$(Q)[ ! -f tools/cmatrace/Makefile ] || $(MAKE) --no-print-directory -C tools/cmatrace fuzz

vm: kernel
	$(Q)if [ -z '$(subst ','"'"',$(CMD))' ]; then echo "vm: no command given (make vm CMD='...')" >&2; exit 2; fi
	$(Q)bash ci/vm/run.sh -- '$(subst ','"'"',$(CMD))'

run: kernel tools
	$(Q)bash ci/run.sh $(SCENARIO)

# The arm64 board suite needs no host-built tools (its tests are shell)
test: kernel $(if $(filter arm64,$(BOARD_ARCH)),,tools)
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
