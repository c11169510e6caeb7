#!/usr/bin/env bash
# Live interop: runs the driver over every pairing of Interlock, libsignal
# (0.90.0 and 0.103.0, Node binding) and go.mau.fi/libsignal v0.2.1.
# Usage: scripts/interop.sh BIN_DIR "LIBSIGNAL_PEER_COMMAND"
set -uo pipefail
bin=${1:?bin dir}
libsignal=${2:?libsignal peer command}
interlock="$bin/interlock peer"
mau="$bin/mau-peer"
driver="$bin/interop-driver"
adversary="$bin/interlock peer --adversary"
total_pass=0 total_fail=0 bad=0
# The pairings are independent processes: INTEROP_JOBS (default 2, the CI
# machine's cores) run at a time, each into a file of its own; the outputs
# are printed and counted in the order below once all have ended.
jobs=${INTEROP_JOBS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
names=()

# pairing NAME ARGS...: records a pairing (started by launch, below).
pairing() {
  local n=${#names[@]}
  names+=("$1")
  shift
  printf '%s\0' "$@" >"$work/$n.args"
}

# launch N: starts pairing N's driver (at most $jobs at a time).
launch() {
  local args
  mapfile -d '' args <"$work/$1.args"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  echo "interop: started $1: ${names[$1]} ($(date -u +%H:%M:%S))"
  ( "$driver" "${args[@]}" >"$work/$1.out" 2>&1; echo $? >"$work/$1.rc" ) &
}

# report N: prints pairing N's output and keeps its counts.
report() {
  local name=${names[$1]}
  echo "=== $name"
  local out rc
  out=$(cat "$work/$1.out")
  rc=$(cat "$work/$1.rc" 2>/dev/null || echo 1)
  echo "$out"
  local closing
  closing=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
  if [ -z "$closing" ]; then
    echo "interop: $name printed no closing line"
    bad=$((bad + 1))
    return
  fi
  local p f
  p=${closing%% passed*}
  f=${closing#*, }
  f=${f%% failed*}
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  if [ "$rc" -ne 0 ]; then
    bad=$((bad + 1))
  fi
}

# go.mau.fi/libsignal v0.2.1 ratchets its live session state before checking
# the MAC (session/SessionCipher.go DecryptWithState works on the stored state,
# not a copy), so when crossing messages make it try the wrong state first it
# corrupts that state: repeated simultaneous initiation fails whenever it is one
# side, mau<->mau included. Asserted as an expected failure so the table flips
# if the peer is ever fixed.
# It also accepts a bundle whose signed prekey is a low-order point and
# encrypts with the all-zero agreement (libsignal refuses it: invalid_key).
mau_xfail='^(simultaneous-initiation/crossing$|adversarial/low-order-bundle B=go\.mau\.fi)'

# libsignal 0.90.0 predates the address binding (0.91): it cannot tell a
# first message relabelled by the server as from another device or account,
# sealed or not. Asserted as expected failures where 0.90 receives.
# Its SPQR (SparsePostQuantumRatchet v1.5.1, src/lib.rs recv) ignores a
# pq_ratchet of an unknown version even after negotiation.
lib090_xfail='^(malicious/(relabelled-sender|minted-certificate)|spqr/unknown-version) B=libsignal-client 0\.90'
# adversarial/forged-amplification is left out of the libsignal pairings: both
# versions try every archived session state with a forward jump of 25,000
# (rust/protocol/src/session_cipher_legacy.rs, v0.101.0), ~0.3 s (0.103) and
# more than 30 s (0.90) per forged message; the report tests
# (conformance/peers_test.go) assert that failure. The driver-fairness
# pairings also leave out last-resort-replay, which the report tests run on
# the same pairings.
lib_skip='^adversarial/forged-amplification$'
fair_skip='^adversarial/(forged-amplification|last-resort-replay)$'

# Interlock's own adversary peer writes the SPQR downgrades (spqr/downgrade,
# spqr/unknown-version) for the pairings with Interlock; the report tests
# (conformance/peers_test.go) run them against each libsignal on its own.
pairing "interlock <-> interlock" -a "$interlock" -b "$interlock" -adversary "$adversary"
pairing "interlock <-> libsignal 0.90.0" -a "$interlock" -b "$libsignal --lib 0.90" -xfail "$lib090_xfail" -skip "$lib_skip" -adversary "$adversary"
pairing "interlock <-> go.mau.fi/libsignal" -a "$interlock" -b "$mau" -xfail "$mau_xfail"
pairing "libsignal 0.90.0 <-> libsignal 0.90.0 (driver fairness)" -a "$libsignal --lib 0.90" -xfail "$lib090_xfail" -skip "$fair_skip"
pairing "go.mau.fi <-> go.mau.fi (driver fairness)" -a "$mau" -xfail "$mau_xfail"
# libsignal 0.92+ requires the SPQR triple ratchet, which Interlock speaks.
pairing "interlock <-> libsignal 0.103.0 (SPQR required)" -a "$interlock" -b "$libsignal --lib 0.103" -skip "$lib_skip" -adversary "$adversary"
pairing "libsignal 0.103.0 <-> libsignal 0.103.0 (driver fairness)" -a "$libsignal --lib 0.103" -skip "$fair_skip"
# A peer without SPQR is refused by 0.103 cleanly: Interlock with SPQR off
# (--no-spqr) stands in for every pre-0.74 client.
pairing "interlock without SPQR <-> libsignal 0.103.0 (refusal expected)" -expect-refusal -a "$interlock --no-spqr" -b "$libsignal --lib 0.103"

# Longest first, so that both cores stay busy to the end: the pairings of
# two Node peers (libsignal on both sides), then those with one, then the Go
# ones (a pairing's Node start-ups dominate its time).
for pattern in '^libsignal .*<-> libsignal' 'libsignal' ''; do
  for i in "${!names[@]}"; do
    [ -e "$work/$i.args" ] && [[ ${names[$i]} =~ $pattern ]] || continue
    launch "$i"
    rm "$work/$i.args"
  done
done
wait
for i in "${!names[@]}"; do report "$i"; done
echo "interop: $total_pass passed, $total_fail failed"
[ "$bad" -eq 0 ] && [ "$total_fail" -eq 0 ]
