#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Instructions a frame of the check of each frame from the VM (bench/framecost.c:
# vmframe_check, its guards, DHCP and NDP recognised, offload), counted by
# callgrind inside vmframe_check alone: the difference of a run of 1000 and
# one of 101000 frames, divided by 100000, so start-up and the first calls'
# symbol binding cancel out. Repeatable to the instruction on any machine
# with the same compiler, however busy: what to compare before and after a
# change of the frame path (docs/performance.md).
#   bench/framecost.sh [TREE]   TREE: a source tree built with make (default: this
#                               one); framecost.c is this tree's, so two trees compare
#                               on the same frames
set -eu
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "framecost: valgrind missing (apt-get install valgrind)" >&2; exit 1; }
tree=${1:-.}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
${CC:-cc} -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -I"$tree/src" \
  -o "$out/framecost" bench/framecost.c "$tree/build/libvmnet.a"
count() {
  valgrind --tool=callgrind --toggle-collect=vmframe_check --callgrind-out-file="$out/cg" \
    "$out/framecost" "$1" "$2" "$3" 2>&1 | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
printf '%-8s %-10s %s\n' config frame instructions
for config in shared offload; do
  for kind in udp64 tcp1514 tcp6_1514 arp ns; do
    a=$(count "$kind" "$config" 1000)
    b=$(count "$kind" "$config" 101000)
    printf '%-8s %-10s %s\n' "$config" "$kind" "$(( (b - a) / 100000 ))"
  done
done
