# SPDX-License-Identifier: Apache-2.0
# make              build build/vmnet-helper, build/vmnet-run (also as vmnet-client),
#                   build/vmnet-status and build/vmnet-broker
# make SAN=1        the same with ASan+UBSan, into build-san/
# make check        unit tests (sanitized) and fuzz smoke runs
# make fuzz         every fuzz harness for FUZZ_TIME seconds (default 180)
# make test         every test: unit, fuzz smoke, integration, QEMU VM (needs root)
# make install      PREFIX (/opt/vmnet-helper) and DESTDIR honoured: programs, man
#                   pages, systemd units, the commented policy file's example
# make deb          the Debian package, with Debian's tools, into build-deb/
# make dist         a source tarball that knows its commit, into build-deb/

PREFIX  ?= /opt/vmnet-helper
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/vmnet-helper
UNITDIR ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
# Where the administrator's policy lives (src/setup/policy.h): fixed in the binary.
SYSCONFDIR ?= /etc
DESTDIR ?=
CC      ?= cc

# The release number is debian/changelog's newest entry (its Debian revision,
# if it ever has one, left out); the commit is the checkout's (with -dirty for
# uncommitted changes), or for a tree that is not a git checkout of its own (a
# tarball, the package build's copy) the file COMMIT that `make dist` and
# `make deb` write. Both are compiled into version.o alone.
VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog | sed 's/-[^-]*$$//')
GIT_TOP := $(shell git rev-parse --show-toplevel 2>/dev/null)
COMMIT  := $(shell if [ "$(GIT_TOP)" = "$(CURDIR)" ]; then git describe --always --abbrev=7 --dirty --exclude='*'; \
	     elif [ -f COMMIT ]; then cat COMMIT; else echo unknown; fi)

# Hardening, for every binary (helper, client, test tools): checked on the
# installed binaries by tests/integration/test_hardening.py. _FORTIFY_SOURCE
# needs optimisation; it is left out of the sanitizer build, whose own
# interceptors check the same calls and more (glibc's __*_chk functions would
# hide them from ASan). Control-flow protection is x86's (-fcf-protection) or
# arm64's (-mbranch-protection), whichever the compiler takes.
cc_flag  = $(shell $(CC) -Werror $(1) -E -x c /dev/null >/dev/null 2>&1 && echo $(1))
HARDEN   = -fstack-protector-strong -fstack-clash-protection -fPIE \
	   $(call cc_flag,-fcf-protection) $(call cc_flag,-mbranch-protection=standard)
HARDEN_LD = -pie -Wl,-z,relro,-z,now
FORTIFY  = -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3

# make SECCOMP_LOG=1: the seccomp filters log what they would refuse and allow
# it (kernel log, "audit: type=1326"): how to find the calls a new code path
# makes (docs/security.md). Never for a build that is installed.
ifeq ($(SECCOMP_LOG),1)
BUILD   ?= build-seccomp-log$(if $(filter 1,$(SAN)),-san)
SECCOMP_FLAGS = -DSANDBOX_LOG
endif

ifeq ($(SAN),1)
BUILD   ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      = -O1
FORTIFY  =
else
BUILD   ?= build
SANFLAGS =
OPT      = -O2
endif

# make WERROR=1: warnings are errors (the test command builds this way).
ifeq ($(WERROR),1)
WERRORFLAGS = -Werror
endif

PKGS     = libmnl libnftables uuid libseccomp
CFLAGS  ?= $(OPT) -g
# What the programs are told at build time (the fuzz harnesses too); the
# version and commit go into version.o alone (below).
DEFS     = -DVMNET_PREFIX='"$(PREFIX)"' \
	   -DVMNET_CONF='"$(SYSCONFDIR)/vmnet-helper/vmnet-helper.conf"'
VERSION_DEFS = -DVMNET_VERSION='"$(VERSION)"' -DVMNET_COMMIT='"$(COMMIT)"'
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unused-parameter $(DEFS) \
	   $(shell pkg-config --cflags $(PKGS)) $(HARDEN) $(FORTIFY) $(SANFLAGS) $(SECCOMP_FLAGS) \
	   $(WERRORFLAGS) -MMD -MP
# libnftables is dlopen()ed by a short-lived child (src/setup/nat.c): not linked.
LDLIBS  += $(shell pkg-config --libs libmnl uuid libseccomp) -ldl -lpthread
LDFLAGS += $(HARDEN_LD) $(SANFLAGS)

# src/<part>/*.c: every file but the programs' own (src/cmd/) goes into
# libvmnet.a; docs/hacking.md says which process runs each part.
LIB_SRCS    := $(filter-out src/cmd/%,$(wildcard src/*/*.c))
LIB_OBJS    := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

TOOL_SRCS   := $(wildcard tests/tools/*.c)
# bench/vhostsim (QEMU's vhost-user frontend and guest driver) serves the tests too.
TOOL_BINS   := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%) $(BUILD)/tools/vhostsim

BROKER      := $(BUILD)/vmnet-broker
PROGRAMS    := $(BUILD)/vmnet-helper $(BUILD)/vmnet-run $(BUILD)/vmnet-client \
	       $(BUILD)/vmnet-status $(BROKER)

all: $(PROGRAMS) $(TOOL_BINS)

programs: $(PROGRAMS)

# The version and commit go into version.o alone, rebuilt when either
# changes: the stamp is rewritten only then.
$(BUILD)/version.stamp: FORCE | $(BUILD)
	@echo '$(VERSION) $(COMMIT)' | cmp -s - $@ || echo '$(VERSION) $(COMMIT)' > $@
$(BUILD)/obj/common/version.o: $(BUILD)/version.stamp
$(BUILD)/obj/common/version.o: CFLAGS += $(VERSION_DEFS)

# Test and benchmark tools (the VM simulator): standalone programs.
$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(BUILD)/tools
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(LDFLAGS) -lpthread

$(BUILD)/tools/vhostsim: bench/vhostsim.c
	@mkdir -p $(BUILD)/tools
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(LDFLAGS) -lpthread

$(BUILD)/obj/%.o: src/%.c | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -c -o $@ $<

$(BUILD):
	mkdir -p $(BUILD)/tests

$(BUILD)/libvmnet.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/vmnet-helper: $(BUILD)/obj/cmd/vmnet-helper.o $(BUILD)/libvmnet.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/vmnet-run: $(BUILD)/obj/cmd/vmnet-run.o $(BUILD)/libvmnet.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/vmnet-status: $(BUILD)/obj/cmd/vmnet-status.o $(BUILD)/libvmnet.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The broker runs the installed helper, whose path it is built with.
$(BUILD)/vmnet-broker: $(BUILD)/obj/cmd/vmnet-broker.o $(BUILD)/libvmnet.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/obj/cmd/vmnet-broker.o: CFLAGS += -DVMNET_HELPER_BIN='"$(BINDIR)/vmnet-helper"'

# vmnet-run under the spec's name: the same program (it names itself after argv[0]).
$(BUILD)/vmnet-client: $(BUILD)/vmnet-run
	ln -f $< $@

$(BUILD)/tests/%: tests/unit/%.c tests/unit/t.h $(BUILD)/libvmnet.a | $(BUILD)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/libvmnet.a $(LDLIBS)

unit: $(UNIT_BINS)
	@tests/unit/run.sh $(UNIT_BINS)

# libFuzzer harnesses (clang). `make fuzz` runs each for FUZZ_TIME seconds
# and keeps in fuzz/corpus/ what reached new coverage; `make fuzz-smoke` (CI)
# runs each for FUZZ_SMOKE_TIME seconds. fuzz/run.sh says how.
FUZZ_TIME       ?= 180
FUZZ_SMOKE_TIME ?= 8
FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=build-fuzz/%)
# The library is compiled once for every harness (instrumented, no libFuzzer
# main), each harness then only compiles its own file and links.
FUZZ_CC   = clang -g -O1 -std=c11 -D_GNU_SOURCE -Isrc $(DEFS) $(VERSION_DEFS) \
	    $(shell pkg-config --cflags $(PKGS)) -fno-sanitize-recover=undefined -MMD -MP
FUZZ_OBJS := $(LIB_SRCS:src/%.c=build-fuzz/obj/%.o)
build-fuzz/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
build-fuzz/libvmnet.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^
build-fuzz/%: fuzz/%.c build-fuzz/libvmnet.a
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $< build-fuzz/libvmnet.a \
	  $(shell pkg-config --libs $(PKGS)) -lpthread

fuzz-smoke: $(FUZZ_BINS)
	@fuzz/run.sh $(FUZZ_SMOKE_TIME) $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@fuzz/run.sh --merge $(FUZZ_TIME) $(FUZZ_BINS)

check:
	$(MAKE) SAN=1 unit
	$(MAKE) fuzz-smoke

# Static analysis, every finding an error (the test command runs it).
# cppcheck: all but "style"'s variableScope, which asks to declare locals in
# the innermost block: this code declares them at the top of a function on
# purpose (OpenBSD style). clang-tidy: the checks and why some are off are in
# .clang-tidy.
LINT_DEFS = -std=c11 -D_GNU_SOURCE -Isrc $(shell pkg-config --cflags $(PKGS)) $(DEFS) $(VERSION_DEFS)
lint:
	cppcheck -q --enable=warning,style,performance,portability --std=c11 -D_GNU_SOURCE \
	  -Isrc --inline-suppr --suppress=variableScope --error-exitcode=1 src
	@out=$$(clang-tidy -quiet $(wildcard src/*/*.c) -- $(LINT_DEFS) 2>&1); rc=$$?; \
	  printf '%s\n' "$$out" | grep -v ' warnings generated\.$$' || true; exit $$rc

test:
	tests/run-all.sh

bench: all
	bench/run.sh

# Paths in the units and the sudoers example are the package's (/usr/sbin,
# /usr/bin); another PREFIX gets its own.
install: programs
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BUILD)/vmnet-helper $(DESTDIR)$(BINDIR)/vmnet-helper
	install -m 0755 $(BUILD)/vmnet-run $(DESTDIR)$(BINDIR)/vmnet-run
	ln -sf vmnet-run $(DESTDIR)$(BINDIR)/vmnet-client
	install -m 0755 $(BUILD)/vmnet-status $(DESTDIR)$(BINDIR)/vmnet-status
ifneq ($(BROKER),)
	install -d $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BUILD)/vmnet-broker $(DESTDIR)$(SBINDIR)/vmnet-broker
endif
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 man/vmnet-run.1 man/vmnet-status.1 $(DESTDIR)$(MANDIR)/man1/
	echo '.so man1/vmnet-run.1' > $(DESTDIR)$(MANDIR)/man1/vmnet-client.1
	install -m 0644 man/vmnet-helper.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/vmnet-helper.8 man/vmnet-broker.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR)
	for f in systemd/vmnet-broker.socket systemd/vmnet-broker.service; do \
	  sed 's|/usr/sbin/|$(SBINDIR)/|g' $$f > $(DESTDIR)$(UNITDIR)/$${f#systemd/} && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$${f#systemd/} || exit 1; done
	install -m 0644 systemd/vmnet-helper.tmpfiles $(DESTDIR)$(TMPFILESDIR)/vmnet-helper.conf
	install -d $(DESTDIR)$(DOCDIR)/examples
	sed 's|/opt/vmnet-helper/bin/|$(BINDIR)/|g' sudoers.d/vmnet-helper \
	  > $(DESTDIR)$(DOCDIR)/examples/sudoers.vmnet-helper
	chmod 0644 $(DESTDIR)$(DOCDIR)/examples/sudoers.vmnet-helper
	install -m 0644 etc/vmnet-helper.conf $(DESTDIR)$(DOCDIR)/examples/vmnet-helper.conf
	install -m 0644 README.md CHANGELOG.md docs/integration.md docs/security.md \
	  docs/performance.md $(DESTDIR)$(DOCDIR)/

# Debian's tools build the package from a copy of the tree (what git tracks,
# with uncommitted changes, and files not ignored) that carries its commit in
# COMMIT: so the package says what it was built from, and the checkout gets
# no debian/ build debris. Output: build-deb/*.deb, .changes, .buildinfo.
DEB_OUT  := build-deb
DEB_TREE := $(DEB_OUT)/src/vmnet-helper-$(VERSION)
LINTIAN  ?= lintian --fail-on error
deb:
	rm -rf $(DEB_OUT)/src $(DEB_OUT)/*.deb $(DEB_OUT)/*.changes $(DEB_OUT)/*.buildinfo
	mkdir -p $(DEB_TREE)
	if [ "$(GIT_TOP)" = "$(CURDIR)" ]; then git ls-files -z --cached --others --exclude-standard; \
	else find . -path ./.git -prune -o -path './build*' -prune -o -type f -print0; fi | \
	  xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
	  tar --null -T - -cf - | tar -xf - -C $(DEB_TREE)
	echo '$(COMMIT)' > $(DEB_TREE)/COMMIT
	cd $(DEB_TREE) && dpkg-buildpackage -b -us -uc $(DEB_BUILD_FLAGS)
	mv $(DEB_OUT)/src/*.deb $(DEB_OUT)/src/*.changes $(DEB_OUT)/src/*.buildinfo $(DEB_OUT)/
	rm -rf $(DEB_OUT)/src
	$(LINTIAN) $(DEB_OUT)/*.changes
	@ls $(DEB_OUT)/*.deb

# A source tarball of HEAD that knows its commit (COMMIT), for builds
# without git.
dist:
	mkdir -p $(DEB_OUT)
	git archive --prefix=vmnet-helper-$(VERSION)/ -o $(DEB_OUT)/vmnet-helper-$(VERSION).tar HEAD
	mkdir -p $(DEB_OUT)/dist/vmnet-helper-$(VERSION)
	git describe --always --abbrev=7 --exclude='*' HEAD > $(DEB_OUT)/dist/vmnet-helper-$(VERSION)/COMMIT
	tar -rf $(DEB_OUT)/vmnet-helper-$(VERSION).tar -C $(DEB_OUT)/dist vmnet-helper-$(VERSION)/COMMIT
	gzip -9nf $(DEB_OUT)/vmnet-helper-$(VERSION).tar
	rm -rf $(DEB_OUT)/dist
	@ls $(DEB_OUT)/vmnet-helper-$(VERSION).tar.gz

clean:
	rm -rf build build-san build-fuzz build-seccomp-log build-seccomp-log-san build-deb

FORCE:

.PHONY: all programs unit check lint test bench install clean fuzz fuzz-smoke deb dist FORCE
-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/tests/*.d $(BUILD)/tools/*.d)
-include $(wildcard build-fuzz/obj/*/*.d build-fuzz/*.d)
