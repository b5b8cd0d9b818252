# SPDX-License-Identifier: Apache-2.0
# make              build build/vmnet-helper and build/vmnet-run (also as vmnet-client)
# make SAN=1        the same with ASan+UBSan, into build-san/
# make check        unit tests (sanitized) and fuzz smoke runs
# make fuzz         every fuzz harness for FUZZ_TIME seconds (default 180)
# make test         every test: unit, fuzz smoke, integration, QEMU VM (needs root)
# make install      PREFIX (/opt/vmnet-helper) and DESTDIR honoured

PREFIX  ?= /opt/vmnet-helper
# Where the administrator's policy lives (src/setup/policy.h): fixed in the binary.
SYSCONFDIR ?= /etc
DESTDIR ?=
CC      ?= cc
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)

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
# What the programs are told at build time (the fuzz harnesses too).
DEFS     = -DVMNET_VERSION='"$(VERSION)"' -DVMNET_PREFIX='"$(PREFIX)"' \
	   -DVMNET_CONF='"$(SYSCONFDIR)/vmnet-helper/vmnet-helper.conf"'
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

all: $(BUILD)/vmnet-helper $(BUILD)/vmnet-run $(BUILD)/vmnet-client $(TOOL_BINS)

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
FUZZ_SMOKE_TIME ?= 15
FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=build-fuzz/%)
build-fuzz/%: fuzz/%.c $(LIB_SRCS) $(wildcard src/*/*.h fuzz/*.h)
	@mkdir -p build-fuzz
	clang -g -O1 -std=c11 -D_GNU_SOURCE -Isrc $(DEFS) $(shell pkg-config --cflags $(PKGS)) \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -o $@ $< $(LIB_SRCS) $(shell pkg-config --libs $(PKGS)) -lpthread

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
LINT_DEFS = -std=c11 -D_GNU_SOURCE -Isrc $(shell pkg-config --cflags $(PKGS)) $(DEFS)
lint:
	cppcheck -q --enable=warning,style,performance,portability --std=c11 -D_GNU_SOURCE \
	  -Isrc --inline-suppr --suppress=variableScope --error-exitcode=1 src
	@out=$$(clang-tidy -quiet $(wildcard src/*/*.c) -- $(LINT_DEFS) 2>&1); rc=$$?; \
	  printf '%s\n' "$$out" | grep -v ' warnings generated\.$$' || true; exit $$rc

test:
	tests/run-all.sh

bench: all
	bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/vmnet-helper $(DESTDIR)$(PREFIX)/bin/vmnet-helper
	install -m 0755 $(BUILD)/vmnet-run $(DESTDIR)$(PREFIX)/bin/vmnet-run
	ln -sf vmnet-run $(DESTDIR)$(PREFIX)/bin/vmnet-client
	install -d $(DESTDIR)$(PREFIX)/share/doc/vmnet-helper/sudoers.d
	sed 's|/opt/vmnet-helper|$(PREFIX)|g' sudoers.d/vmnet-helper \
	  > $(DESTDIR)$(PREFIX)/share/doc/vmnet-helper/sudoers.d/vmnet-helper
	chmod 0644 $(DESTDIR)$(PREFIX)/share/doc/vmnet-helper/sudoers.d/vmnet-helper
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/vmnet-helper/README.md
	install -m 0644 docs/integration.md docs/security.md docs/performance.md \
	  $(DESTDIR)$(PREFIX)/share/doc/vmnet-helper/

clean:
	rm -rf build build-san build-fuzz build-seccomp-log build-seccomp-log-san

.PHONY: all unit check lint test bench install clean fuzz fuzz-smoke
-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/tests/*.d $(BUILD)/tools/*.d)
