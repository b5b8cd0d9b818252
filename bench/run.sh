#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `sudo make bench`: builds the benchmark's own tools into build/bench/ and runs
# bench/bench.py (every measurement inside network namespaces it creates and
# removes). Not part of the test suite. Arguments go to bench.py (--help).
# bench/hops.py (latency hop by hop) runs on its own too, after this built the tools.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "bench: needs root: sudo make bench" >&2
  exit 1
fi
for cmd in iperf3 passt slirp4netns ping nft ss; do
  command -v "$cmd" >/dev/null || { echo "bench: $cmd missing: run scripts/install-deps.sh" >&2; exit 1; }
done
BUILD=${VMNET_BUILD:-build}
mkdir -p "$BUILD/bench"
for tool in framegen qemusim rrbench; do
  ${CC:-cc} -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow \
    -o "$BUILD/bench/$tool" "bench/$tool.c" -lpthread
done
# csumbench times the helper's own checksum code; capbench its capture code
# (--pcap) and framecost its check of each frame from the VM (bench/framecost.sh
# counts its instructions), linked with the helper's library as built by make.
${CC:-cc} -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Isrc \
  -o "$BUILD/bench/csumbench" bench/csumbench.c src/parse/pkt.c
${CC:-cc} -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Isrc \
  -o "$BUILD/bench/framecost" bench/framecost.c "$BUILD/libvmnet.a"
${CC:-cc} -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Isrc \
  $(pkg-config --cflags libseccomp) -o "$BUILD/bench/capbench" bench/capbench.c \
  "$BUILD/libvmnet.a" $(pkg-config --libs libmnl uuid libseccomp) -ldl -lpthread
exec /usr/bin/python3 bench/bench.py "$@"
