# SPDX-License-Identifier: GPL-2.0
# pinio top-level build.
#
#   make               module (for KVER), userspace, tests
#   make check         deps, lint, build for KVER, boot QEMU and run the tests
#   make check KVER=6.1
#   make check-debug   build (once, cached) a KASAN/lockdep/kmemleak/fault-
#                      injection kernel and run the whole suite on it
#   make lint          checkpatch --strict, a W=1 C=2 (sparse) module build,
#                      the uapi padding/32-bit layout check
#   make demo          boot the 6.12 guest and run `pinio verify`
#   make install       libpinio, headers, pkg-config files, the pinio tool, man
#                      pages, the udev rule and sysusers.d group
#   make uninstall
#   make modules_install   pinio.ko for KDIR's kernel (INSTALL_MOD_PATH)
#   make install-dkms  the module sources for DKMS in /usr/src/pinio-VERSION
#   make deb           the Debian packages in build/deb/ (dpkg-buildpackage),
#                      checked by lintian
#   make clean         remove build products (build/ksrc is kept)
#   make distclean     also remove build/
#
# KVER picks the Debian kernel series (6.12 default, or 6.1); scripts/kver.sh
# turns it into the installed release and its headers. KDIR=... overrides the
# headers for a plain `make`.
#
# Install paths: DESTDIR, PREFIX (/usr/local), BINDIR, LIBDIR, INCLUDEDIR,
# PKGCONFIGDIR, MANDIR; UDEVDIR and SYSUSERSDIR are outside PREFIX (udev and
# systemd read only their own directories), DKMSDIR (/usr/src) too.

KVER	?= 6.12
QUICK	?= 0
# The QEMU CPU model of make bench, profile and demo: -cpu max without
# erms/fsrm, so TCG does not run the kernel's rep movsb copies a byte at a
# time (bench/run.sh explains it).
BENCH_CPU ?= max,-erms,-fsrm
# Recursive: resolved only when used, i.e. after scripts/deps.sh has run.
KDIR	?= $(shell scripts/kver.sh $(KVER) kdir)

TOP	:= $(CURDIR)
BUILD	:= $(TOP)/build
KSRC	:= $(BUILD)/ksrc
STAMP	:= $(BUILD)/module.kdir
CHECKPATCH := $(KSRC)/scripts/checkpatch.pl
LINT_FILES = $(filter-out %.mod.c,$(wildcard module/*.c module/*.h)) uapi/linux/pinio.h
TOOL	:= $(BUILD)/userspace/pinio
# An installed copy (PREFIX=/usr) that tests/external builds against.
STAGE	:= $(BUILD)/install

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
LIBDIR	?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR	?= $(PREFIX)/share/man
UDEVDIR	?= /usr/lib/udev/rules.d
SYSUSERSDIR ?= /usr/lib/sysusers.d
DKMSDIR	?= /usr/src
# Passed on explicitly (not exported), so a sub-make with another PREFIX
# derives its own directories.
INSTALL_VARS = DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) BINDIR=$(BINDIR) \
	       LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR) \
	       PKGCONFIGDIR=$(PKGCONFIGDIR) MANDIR=$(MANDIR)
# The one place the version is written: debian/changelog's top entry.
PKG_VERSION := $(shell scripts/version.sh)
DKMS_SRC = $(DESTDIR)$(DKMSDIR)/pinio-$(PKG_VERSION)
MODULE_SRCS = $(filter-out %.mod.c,$(wildcard module/*.c)) $(wildcard module/*.h)

all: module userspace tests

ksrc:
	@scripts/ksource.sh

deps:
	@scripts/deps.sh

# Objects built against another kernel's headers must not end up in this
# kernel's pinio.ko: clean first whenever the headers changed. module-ko is
# the build alone, without the kselftest/checkpatch extraction.
module: ksrc module-ko

module-ko:
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
	@$(MAKE) --no-print-directory -C userspace lint-man
	@# The ABI: no implicit padding, one layout for 64- and 32-bit callers.
	@scripts/uapi-check.sh
	@echo "lint: clean"

# The test command. Lint runs first; its verdict is one line of the summary
# so a style slip does not hide the test results (it still fails the run).
# Tests build with -k: the programs that do compile still run, and the
# failed build is one more failed line. `make tests` also builds the host's
# image checker (build/host/) and the kill boot's writer (build/guest/); the
# runner attaches the guest disks, and its summary counts the host-decided
# host_image_check and kill_after_flush lines (tests/run-qemu.sh, README).
check: deps
	@$(MAKE) --no-print-directory ksrc
	@lint=pass; $(MAKE) --no-print-directory lint KVER=$(KVER) || lint=fail; \
	if ! $(MAKE) --no-print-directory module KVER=$(KVER); then \
		echo "not ok - build module"; \
		if [ $$lint = pass ]; then echo "ok - lint"; p=1; f=1; \
		else echo "not ok - lint"; p=0; f=2; fi; \
		echo "$$p passed, $$f failed, 0 skipped"; exit 1; \
	fi; \
	ub=pass; $(MAKE) --no-print-directory userspace stage || ub=fail; \
	it=fail; if [ $$ub = pass ]; then \
		if tests/check-install.sh >$(BUILD)/check-install.log 2>&1; then it=pass; \
		else cat $(BUILD)/check-install.log; fi; \
	fi; \
	tb=pass; $(MAKE) --no-print-directory -k tests || tb=fail; \
	deb=$$($(MAKE) --no-print-directory deb-results KVER=$(KVER)); \
	KVER=$(KVER) tests/run-qemu.sh --extra lint=$$lint \
		--extra build_userspace=$$ub --extra install_tree=$$it \
		--extra build_tests=$$tb $$deb

# The debug kernel: KASAN, lockdep, kmemleak and fault injection. It is
# built once from linux-source-6.12 (about 16 minutes on 2 cores, at nice
# 19) and cached outside the tree by scripts/debug-kernel.sh; then pinio.ko
# is built against it and the whole suite runs there with longer limits,
# kmemleak and lockdep being result lines of their own; the disks are
# attached as for `make check`, without the kill boot. DEBUG_ENV sets the
# stress and fuzz lengths in the guest. no5lvl: with -cpu max's 5-level
# paging this kernel sometimes takes a KASAN report in an early interrupt
# and hangs before /init (2 of about 20 boots; none in 8 with 4 levels).
DEBUG_ENV ?= PINIO_STRESS_SECONDS=60 PINIO_FUZZ_ITERS=20000
check-debug: deps
	@scripts/deps.sh debug
	@$(MAKE) --no-print-directory ksrc
	@if ! scripts/debug-kernel.sh build >/dev/null; then \
		echo "not ok - build the debug kernel"; \
		echo "0 passed, 1 failed, 0 skipped"; exit 1; \
	fi
	@if ! $(MAKE) --no-print-directory module KVER=debug; then \
		echo "not ok - build module for the debug kernel"; \
		echo "0 passed, 1 failed, 0 skipped"; exit 1; \
	fi; \
	ub=pass; $(MAKE) --no-print-directory userspace stage || ub=fail; \
	tb=pass; $(MAKE) --no-print-directory -k tests || tb=fail; \
	KVER=debug QEMU_MEM=3072 TEST_TIMEOUT=900 QEMU_TIMEOUT=3600 \
		KCMDLINE_EXTRA="kasan_multi_shot no5lvl $(KCMDLINE_EXTRA)" \
		GUEST_ENV="$(DEBUG_ENV)" \
		tests/run-qemu.sh --extra build_userspace=$$ub \
		--extra build_tests=$$tb

# The main job: the benchmark in a 6.12 guest, results and plots in results/.
# QUICK=1 for a short run.
bench: deps
	@$(MAKE) --no-print-directory module KVER=$(KVER)
	@$(MAKE) --no-print-directory -C bench
	KVER=$(KVER) QUICK=$(QUICK) BENCH_CPU=$(BENCH_CPU) bench/run.sh

# Where one 4 KiB transfer's time goes on each path: untraced timings and
# an ftrace function_graph trace from one boot (results/profile.txt).
profile: deps
	@$(MAKE) --no-print-directory module KVER=$(KVER)
	@$(MAKE) --no-print-directory -C bench
	KVER=$(KVER) BENCH_CPU=$(BENCH_CPU) bench/profile.sh

# One short round trip in the guest: `pinio verify` (direct and buffered,
# both ways, with throughput). It boots the benchmark's CPU model, so its
# buffered and direct figures compare as make bench's do: with -cpu max
# (the test runner's default) TCG runs the kernel's rep movsb copies a byte
# at a time and the buffered passes came out 11x slower than direct.
demo: deps
	@$(MAKE) --no-print-directory module userspace KVER=$(KVER)
	@rc=0; KVER=$(KVER) QEMU_CPU=$(BENCH_CPU) \
		tests/run-qemu.sh --exec $(TOOL) verify --size 16M || rc=$$?; \
	echo "demo: QEMU TCG guest, -cpu $(BENCH_CPU) as make bench boots: absolute MiB/s are emulator figures and mean nothing for hardware; compare the passes with each other"; \
	exit $$rc

install: userspace
	$(MAKE) -C userspace install $(INSTALL_VARS)
	install -d $(DESTDIR)$(UDEVDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -m 0644 udev/60-pinio.rules $(DESTDIR)$(UDEVDIR)/
	install -m 0644 udev/pinio.sysusers $(DESTDIR)$(SYSUSERSDIR)/pinio.conf

uninstall:
	$(MAKE) -C userspace uninstall $(INSTALL_VARS)
	rm -f $(DESTDIR)$(UDEVDIR)/60-pinio.rules \
	      $(DESTDIR)$(SYSUSERSDIR)/pinio.conf

# Kbuild puts it in $(INSTALL_MOD_PATH)/lib/modules/<release>/updates/. It
# skips depmod without a System.map, which Debian's headers lack, so a real
# install (no INSTALL_MOD_PATH) runs depmod itself, for the release in the
# module's vermagic (Debian's 6.1 headers name another in kernel.release).
# "sign-file: ... No such file": the headers carry no signing key; kbuild
# goes on and installs the module unsigned.
modules_install: module-ko
	$(MAKE) -C $(KDIR) M=$(TOP)/module modules_install \
		$(if $(INSTALL_MOD_PATH),INSTALL_MOD_PATH=$(INSTALL_MOD_PATH))
	$(if $(INSTALL_MOD_PATH),,depmod -a $$(modinfo -F vermagic module/pinio.ko | cut -d' ' -f1))

# What DKMS needs, nothing more: dkms.conf (its PACKAGE_VERSION filled in),
# module/ and the uapi header (module/Kbuild adds -I$(src)/../uapi). Then:
#   dkms add pinio/$(PKG_VERSION) && dkms build ... && dkms install ...
install-dkms:
	install -d $(DKMS_SRC)/module $(DKMS_SRC)/uapi/linux
	sed 's/#MODULE_VERSION#/$(PKG_VERSION)/' dkms.conf >$(DKMS_SRC)/dkms.conf
	chmod 0644 $(DKMS_SRC)/dkms.conf
	install -m 0644 module/Kbuild module/Makefile $(MODULE_SRCS) \
		$(DKMS_SRC)/module/
	install -m 0644 uapi/linux/pinio.h $(DKMS_SRC)/uapi/linux/

uninstall-dkms:
	rm -rf $(DKMS_SRC)

# The Debian packages: pinio-dkms, libpinio1, libpinio-dev, pinio-tools
# (and the source package) in build/deb/, built by dpkg-buildpackage from a
# copy of the tree, then lintian, which must find no error or warning.
# Rebuilt only when a file of the tree changed (the files git knows, new
# ones too), so `make deb && make check` builds them once.
DEB_OUT	:= $(BUILD)/deb
DEB_SRCS = $(wildcard $(shell git ls-files -co --exclude-standard 2>/dev/null || \
	find . -path ./build -prune -o -type f -print))

deb:
	@scripts/deps.sh deb
	@$(MAKE) --no-print-directory deb-lint

deb-build: $(DEB_OUT)/.built
$(DEB_OUT)/.built: $(DEB_SRCS)
	@scripts/deb.sh build
	@touch $@

deb-lint: $(DEB_OUT)/.lintian-clean
	@echo "deb: $(DEB_OUT:$(TOP)/%=%)/ up to date, lintian clean"
$(DEB_OUT)/.lintian-clean: $(DEB_OUT)/.built
	@scripts/deb.sh lint
	@touch $@

# The packages' part of make check. stdout: run-qemu.sh --extra arguments
# (deb_build, deb_lintian, deb_install and the deb_guest:* lines);
# everything else goes to stderr. deb_install is tests/check-deb.sh
# (install on this machine, DKMS builds pinio.ko for both kernels, purge
# leaves nothing; build/check-deb.log); then tests/deb-guest.sh runs
# pinio_tool_test once more in a short guest boot with the packaged pinio
# and the DKMS-built module (build/deb/guest-KVER.log).
deb-results:
	@scripts/deps.sh deb >&2
	@b=pass; $(MAKE) --no-print-directory deb-build >&2 || b=fail; \
	l=fail; if [ $$b = pass ]; then \
		$(MAKE) --no-print-directory deb-lint >&2 && l=pass; \
	fi; \
	i=fail; if [ $$b = pass ]; then \
		echo "# deb: installing the packages (DKMS builds pinio.ko for each kernel), then purging them" >&2; \
		if tests/check-deb.sh >$(BUILD)/check-deb.log 2>&1; then i=pass; \
		else cat $(BUILD)/check-deb.log >&2; fi; \
		tail -n 1 $(BUILD)/check-deb.log >&2; \
	fi; \
	echo "--extra deb_build=$$b --extra deb_lintian=$$l --extra deb_install=$$i"; \
	if [ $$i = pass ]; then KVER=$(KVER) tests/deb-guest.sh; \
	else echo "--extra deb_guest=fail"; fi

# The installed copy the tests build against (fresh every time).
stage: userspace
	rm -rf $(STAGE)
	@$(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr

clean:
	@kdir="$(KDIR)"; if [ -n "$$kdir" ] && [ -d "$$kdir" ]; then \
		$(MAKE) -C module KDIR=$$kdir clean; fi
	@if [ -f tests/Makefile ]; then $(MAKE) -C tests clean; fi
	@if [ -f userspace/Makefile ]; then $(MAKE) -C userspace clean; fi
	@if [ -f bench/Makefile ]; then $(MAKE) -C bench clean; fi
	rm -rf $(BUILD)/tests $(BUILD)/userspace $(BUILD)/install $(BUILD)/results-* \
		$(BUILD)/qemu-* $(BUILD)/disks $(BUILD)/host $(BUILD)/guest \
		$(STAMP) $(BUILD)/lint-sparse.log \
		$(BUILD)/check-install.log $(BUILD)/check-deb.log $(DEB_OUT) \
		$(BUILD)/ci-check-*.log

distclean: clean
	rm -rf $(BUILD)

.PHONY: all ksrc deps module module-ko userspace tests lint check check-debug bench profile demo \
	install uninstall modules_install install-dkms uninstall-dkms stage \
	deb deb-build deb-lint deb-results \
	clean distclean
