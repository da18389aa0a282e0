# SPDX-License-Identifier: GPL-2.0
# pinio top-level build.
#
#   make               module (for KVER), userspace, tests
#   make check         deps, lint, build for KVER, boot QEMU and run the tests
#   make check KVER=6.1
#   make lint          checkpatch --strict and a W=1 C=2 (sparse) module build
#   make demo          boot the 6.12 guest and run userspace/pinio_demo
#   make clean         remove build products (build/ksrc is kept)
#   make distclean     also remove build/
#
# KVER picks the Debian kernel series (6.12 default, or 6.1); scripts/kver.sh
# turns it into the installed release and its headers. KDIR=... overrides the
# headers for a plain `make`.

KVER	?= 6.12
QUICK	?= 0
# Recursive: resolved only when used, i.e. after scripts/deps.sh has run.
KDIR	?= $(shell scripts/kver.sh $(KVER) kdir)

TOP	:= $(CURDIR)
BUILD	:= $(TOP)/build
KSRC	:= $(BUILD)/ksrc
STAMP	:= $(BUILD)/module.kdir
CHECKPATCH := $(KSRC)/scripts/checkpatch.pl
LINT_FILES = $(filter-out %.mod.c,$(wildcard module/*.c module/*.h)) uapi/linux/pinio.h
DEMO	:= $(BUILD)/userspace/pinio_demo

all: module userspace tests

ksrc:
	@scripts/ksource.sh

deps:
	@scripts/deps.sh

# Objects built against another kernel's headers must not end up in this
# kernel's pinio.ko: clean first whenever the headers changed.
module: ksrc
	@test -n "$(KDIR)" || { echo "no kernel headers for KVER=$(KVER) (make deps)"; exit 1; }
	@if [ "$$(cat $(STAMP) 2>/dev/null)" != "$(KDIR)" ]; then \
		echo "  CLEAN   module (headers changed to $(KDIR))"; \
		$(MAKE) -C module KDIR=$(KDIR) clean >/dev/null; \
	fi
	@mkdir -p $(BUILD)
	@echo "$(KDIR)" >$(STAMP)
	$(MAKE) -C module KDIR=$(KDIR)

userspace:
	@if [ -f userspace/Makefile ]; then $(MAKE) -C userspace; fi

tests: ksrc
	@if [ -f tests/Makefile ]; then $(MAKE) -C tests; fi

# checkpatch --strict fails on any ERROR, WARNING or CHECK, except
# LINUX_VERSION_CODE: an out-of-tree module built for two kernels needs it
# (module/pinio_compat.h). The module is
# rebuilt from clean with W=1 and sparse on every file (C=2); any compiler or
# sparse diagnostic fails.
lint: ksrc
	@test -n "$(KDIR)" || { echo "no kernel headers for KVER=$(KVER) (make deps)"; exit 1; }
	@mkdir -p $(BUILD)
	@# From build/: checkpatch drops a camelcase cache file in its cwd.
	cd $(BUILD) && $(CHECKPATCH) --strict --no-tree --quiet --show-types \
		--ignore LINUX_VERSION_CODE -f $(addprefix $(TOP)/,$(LINT_FILES))
	@$(MAKE) -C module KDIR=$(KDIR) clean >/dev/null
	@mkdir -p $(BUILD)
	@echo "$(KDIR)" >$(STAMP)
	@$(MAKE) -C module KDIR=$(KDIR) W=1 C=2 >$(BUILD)/lint-sparse.log 2>&1 || \
		{ cat $(BUILD)/lint-sparse.log; echo "lint: W=1 C=2 build failed"; exit 1; }
	@if grep -E '(warning|error):' $(BUILD)/lint-sparse.log; then \
		echo "lint: W=1/sparse diagnostics above"; exit 1; \
	fi
	@echo "lint: clean"

# The test command. Lint runs first; its verdict is one line of the summary
# so a style slip does not hide the test results (it still fails the run).
# Tests build with -k: the programs that do compile still run, and the
# failed build is one more failed line.
check: deps
	@$(MAKE) --no-print-directory ksrc
	@lint=pass; $(MAKE) --no-print-directory lint KVER=$(KVER) || lint=fail; \
	if ! $(MAKE) --no-print-directory module KVER=$(KVER); then \
		echo "not ok - build module"; \
		if [ $$lint = pass ]; then echo "ok - lint"; p=1; f=1; \
		else echo "not ok - lint"; p=0; f=2; fi; \
		echo "$$p passed, $$f failed, 0 skipped"; exit 1; \
	fi; \
	tb=pass; $(MAKE) --no-print-directory -k tests || tb=fail; \
	KVER=$(KVER) tests/run-qemu.sh --extra lint=$$lint --extra build_tests=$$tb

# The main job: the benchmark in a 6.12 guest, results and plots in results/.
# QUICK=1 for a short run.
bench: deps
	@$(MAKE) --no-print-directory module KVER=$(KVER)
	@$(MAKE) --no-print-directory -C bench
	KVER=$(KVER) QUICK=$(QUICK) bench/run.sh

# One short transfer in the guest.
demo: deps
	@$(MAKE) --no-print-directory module userspace KVER=$(KVER)
	KVER=$(KVER) tests/run-qemu.sh --exec $(DEMO)

clean:
	@kdir="$(KDIR)"; if [ -n "$$kdir" ] && [ -d "$$kdir" ]; then \
		$(MAKE) -C module KDIR=$$kdir clean; fi
	@if [ -f tests/Makefile ]; then $(MAKE) -C tests clean; fi
	@if [ -f userspace/Makefile ]; then $(MAKE) -C userspace clean; fi
	@if [ -f bench/Makefile ]; then $(MAKE) -C bench clean; fi
	rm -rf $(BUILD)/tests $(BUILD)/userspace $(BUILD)/results-* \
		$(BUILD)/qemu-* $(STAMP) $(BUILD)/lint-sparse.log \
		$(BUILD)/ci-check-*.log

distclean: clean
	rm -rf $(BUILD)

.PHONY: all ksrc deps module userspace tests lint check bench demo clean distclean
