#!/usr/bin/env bash
# Runs every Go fuzz target of the root module for a short time (default
# 10s each), two at a time with one fuzzing worker each, so the whole smoke
# fits the CI budget on 2 cores.
#
# Each package with fuzz targets is built once, instrumented for fuzzing
# (`go test -c -fuzz=.`), its targets are listed from that binary
# (-test.list), and every target runs from that binary in the package
# directory, as `go test -fuzz` would run it (same flags, same corpus under
# testdata/fuzz, same cache under GOCACHE/fuzz): no go command, package load
# or link per target.
set -euo pipefail
fuzztime=${1:-10s}
jobs=${FUZZJOBS:-2}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
logs=$work/logs bins=$work/bins
mkdir -p "$logs" "$bins"
trap 'rm -rf "$work"' EXIT
fuzzcache=$(go env GOCACHE)/fuzz
# Packages whose test files declare a Fuzz function (gofmt puts every func at
# the start of a line); the binary's -test.list below decides what is a target.
go list -f '{{.ImportPath}} {{.Dir}}{{range .TestGoFiles}} {{.}}{{end}}{{range .XTestGoFiles}} {{.}}{{end}}' ./... |
  while read -r pkg dir files; do
    [ -n "$files" ] || continue
    if (cd "$dir" && grep -q '^func Fuzz' $files); then
      echo "$pkg $dir $(echo "$pkg" | tr / _)"
    fi
  done >"$work/pkgs"
# Build each package's instrumented test binary once, two packages at a time.
export bins logs
xargs -P "$jobs" -L1 sh -c '
  if ! go test -c -fuzz=. -o "$bins/$2.test" "$0" >"$logs/$2.build" 2>&1; then
    echo "FAIL $0 (build)"; cat "$logs/$2.build"; echo FAILED >"$logs/$2.build.failed"
  fi' <"$work/pkgs"
: >"$work/list"
while read -r pkg dir name; do
  [ -x "$bins/$name.test" ] || continue
  for target in $(cd "$dir" && "$bins/$name.test" -test.list '^Fuzz' | grep '^Fuzz' || true); do
    echo "$pkg $dir $name $target" >>"$work/list"
  done
done <"$work/pkgs"
export fuzztime fuzzcache
# -fuzzminimizetime: the fuzzer minimizes every new interesting input before
# it goes on, for up to 60 s each by default; with large seeds (session
# records, whatsmeow rows) that took the whole 10 s and the target ran no
# new input at all (FuzzUnmarshalRecord: 5 executions in 20 s). 100 tries
# keep the smoke fuzzing; a failing input is still written, less minimized.
# A run that ends with "context deadline exceeded" and wrote no failing input
# is the Go fuzzer's own time-out race on a loaded machine, not a finding: it
# is run once more.
xargs -P "$jobs" -L1 sh -c '
  log="$logs/$2.$3"
  for try in 1 2; do
    if (cd "$1" && "$bins/$2.test" -test.paniconexit0 -test.timeout=10m0s -test.run "^\$" -test.fuzz "^$3\$" \
        -test.fuzztime "$fuzztime" -test.fuzzminimizetime 100x -test.parallel 1 -test.fuzzcachedir "$fuzzcache/$0") >"$log" 2>&1; then
      echo "ok   $0 $3"; exit 0
    fi
    grep -q "Failing input written" "$log" && break
    grep -q "context deadline exceeded" "$log" || break
    echo "retry $0 $3 (fuzzer time-out, no failing input)"
  done
  echo "FAIL $0 $3"; cat "$log"; echo FAILED >"$log.failed"' <"$work/list"
total=$(wc -l <"$work/list")
failed=$(ls "$logs" | grep -c '\.failed$' || true)
echo "fuzz-smoke: $((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$total" -gt 0 ]
