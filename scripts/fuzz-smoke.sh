#!/usr/bin/env bash
# Runs every Go fuzz target of the root module for a short time (default
# 10s each), two at a time with one fuzzing worker each, so the whole smoke
# fits the CI budget on 2 cores.
set -euo pipefail
fuzztime=${1:-10s}
jobs=${FUZZJOBS:-2}
cd "$(dirname "$0")/.."
list=$(mktemp)
logs=$(mktemp -d)
trap 'rm -rf "$list" "$logs"' EXIT
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "$pkg $target" >>"$list"
  done
done
# Build each package's fuzz test binary once before running in parallel.
cut -d' ' -f1 "$list" | sort -u | xargs -n1 -P "$jobs" sh -c 'go test -c -o /dev/null -cover=false "$0" >/dev/null 2>&1 || true'
export fuzztime logs
# -fuzzminimizetime: the fuzzer minimizes every new interesting input before
# it goes on, for up to 60 s each by default; with large seeds (session
# records, whatsmeow rows) that took the whole 10 s and the target ran no
# new input at all (FuzzUnmarshalRecord: 5 executions in 20 s). 100 tries
# keep the smoke fuzzing; a failing input is still written, less minimized.
# A run that ends with "context deadline exceeded" and wrote no failing input
# is the Go fuzzer's own time-out race on a loaded machine, not a finding: it
# is run once more.
xargs -P "$jobs" -L1 sh -c '
  log="$logs/$(echo "$0.$1" | tr "/" "_")"
  for try in 1 2; do
    if go test -run "^\$" -fuzz "^$1\$" -fuzztime "$fuzztime" -fuzzminimizetime 100x -parallel 1 "$0" >"$log" 2>&1; then
      echo "ok   $0 $1"; exit 0
    fi
    grep -q "Failing input written" "$log" && break
    grep -q "context deadline exceeded" "$log" || break
    echo "retry $0 $1 (fuzzer time-out, no failing input)"
  done
  echo "FAIL $0 $1"; cat "$log"; echo FAILED >"$log.failed"' <"$list"
total=$(wc -l <"$list")
failed=$(ls "$logs" | grep -c '\.failed$' || true)
echo "fuzz-smoke: $((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$total" -gt 0 ]
