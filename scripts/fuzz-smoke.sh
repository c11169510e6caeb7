#!/usr/bin/env bash
# Runs every Go fuzz target of the root module for a short time (default 10s).
set -euo pipefail
fuzztime=${1:-10s}
cd "$(dirname "$0")/.."
ran=0 failed=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($fuzztime)"
    if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/fuzz-smoke.log 2>&1; then
      ran=$((ran + 1))
    else
      cat /tmp/fuzz-smoke.log
      ran=$((ran + 1)) failed=$((failed + 1))
    fi
  done
done
echo "fuzz-smoke: $((ran - failed)) passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$ran" -gt 0 ]
