#!/bin/sh
# Runs every test: installs dependencies (Debian packages), builds, unit tests
# and fuzz smoke runs under ASan/UBSan, then the integration and QEMU VM tests
# (root; every one in network namespaces it creates and removes).
# Run it as root, or as a user with sudo: it re-runs itself through sudo.
# Arguments go to pytest.
set -eu
cd "$(dirname "$0")/.."
. ./scripts/as-root.sh
as_root run-all.sh "network namespaces, TAP devices, bridges" "$(pwd)/tests/run-all.sh" "$@"
scripts/install-deps.sh
# Warnings are errors here, and static analysis must find nothing.
make -s -j"$(nproc)" WERROR=1
make -s -j"$(nproc)" SAN=1 WERROR=1
make -s lint
make -s -j"$(nproc)" check
tests/vm/build-image.sh
# The integration tests run the sanitized helper, so a memory error fails them.
export VMNET_BUILD=build-san
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# -rs: every skipped test and why.
exec /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider tests/integration tests/vm "$@"
