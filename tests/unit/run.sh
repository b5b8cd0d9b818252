#!/bin/sh
# Runs each unit test binary and prints one total line: "N passed, N failed".
passed=0; failed=0; rc=0
for t in "$@"; do
  out=$("$t") || rc=1
  echo "$out"
  p=$(echo "$out" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed/\1/p' | tail -1)
  f=$(echo "$out" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed/\2/p' | tail -1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
done
echo "unit: $passed passed, $failed failed"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
