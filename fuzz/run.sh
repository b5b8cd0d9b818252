#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs each libFuzzer harness given (build-fuzz/fuzz_*) for SECONDS, on the
# corpus kept in fuzz/corpus/<harness>/ (read only) plus a working corpus in
# build-fuzz/corpus-<harness>/, and prints one line of libFuzzer's final
# figures per harness. A crash stops the run with the harness's log.
#   fuzz/run.sh SECONDS HARNESS...           (make fuzz-smoke: CI's short runs)
#   fuzz/run.sh --merge SECONDS HARNESS...   (make fuzz: then adds to
#       fuzz/corpus/ the inputs that reach new coverage, with -merge=1)
set -eu
cd "$(dirname "$0")/.."
merge=
if [ "$1" = --merge ]; then
  merge=1
  shift
fi
seconds=$1
shift
summary=""
for f in "$@"; do
  n=$(basename "$f")
  # Harnesses fed whole frames: the largest a VM may send with TSO
  # (vmnet_max_packet_size 65550) plus the leading selector byte.
  case $n in
    fuzz_offload|fuzz_vmframe|fuzz_frame) extra=-max_len=65551 ;;
    # A guest's virtio-net header and frame, behind the configuration byte.
    fuzz_guest_frame) extra=-max_len=65561 ;;
    # A VM's byte stream: room for two of the largest frames behind their lengths.
    fuzz_vmstream) extra=-max_len=131108 ;;
    # Ring set-up and a guest's memory (64 KiB).
    fuzz_vring) extra=-max_len=65552 ;;
    *) extra= ;;
  esac
  mkdir -p "build-fuzz/corpus-$n" "fuzz/corpus/$n"
  echo "fuzz: $n ($seconds s)"
  # shellcheck disable=SC2086
  if ! "$f" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 $extra \
      -artifact_prefix="build-fuzz/$n-" "build-fuzz/corpus-$n" "fuzz/corpus/$n" \
      >"build-fuzz/$n.log" 2>&1; then
    tail -40 "build-fuzz/$n.log"
    exit 1
  fi
  done_line=$(grep -a "DONE " "build-fuzz/$n.log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/$n.log")
  cov=$(echo "$done_line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$done_line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  if [ -n "$merge" ]; then
    # shellcheck disable=SC2086
    "$f" -merge=1 $extra "fuzz/corpus/$n" "build-fuzz/corpus-$n" >"build-fuzz/$n.merge.log" 2>&1
  fi
  summary="$summary$(printf '%-14s execs %10s  cov %5s  ft %6s  corpus %s files' \
    "$n" "$execs" "$cov" "$ft" "$(ls "fuzz/corpus/$n" | wc -l)")
"
done
printf '%s' "$summary"
