#!/usr/bin/env bash
# Scale-out figure (issue #19 item 4): messages per second — encrypt and
# decrypt, each committed in its own transaction — with 1, 2 and 4 processes
# over one PostgreSQL database, each process on 8 conversations of its own.
#
#   scripts/scaleout.sh [seconds per run, default 10]
#
# PostgreSQL comes from scripts/start-postgres.sh. Runs the test
# TestMultiProcessScaleOut in store/sqlstore, which re-executes its own
# binary as the worker processes.
set -euo pipefail
cd "$(dirname "$0")/.."
url=$(scripts/start-postgres.sh)
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
INTERLOCK_SCALEOUT=1 INTERLOCK_SCALEOUT_SECONDS="${1:-10}" INTERLOCK_POSTGRES_URL="$url" \
  go test -count=1 -v -timeout 600s -run '^TestMultiProcessScaleOut$' ./store/sqlstore/ | grep -E '^(scale-out|--- |FAIL|ok)'
