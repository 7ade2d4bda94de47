#!/usr/bin/env bash
# Runs every fuzz target for a bounded time: NVENT_FUZZ_SECONDS in all (default 56 s, split
# evenly), one job each, from the committed corpus. Installs cargo-fuzz when missing and
# uses the nightly toolchain (libFuzzer needs -Zsanitizer=address). New inputs go to a temp
# dir, so the committed corpus is not changed; crashes go to fuzz/artifacts/<target>/.
# Exits non-zero when a target crashes; the last line is the summary.
#
#   bash fuzz/run-ci.sh                        # CI: ~1 minute of fuzzing plus the build
#   NVENT_FUZZ_SECONDS=1800 bash fuzz/run-ci.sh   # longer, locally
set -uo pipefail
cd "$(dirname "$0")"

TARGETS=(field_path names json_value options wal_scan wal_open redis_reply)
TOTAL=${NVENT_FUZZ_SECONDS:-56}
PER=$(( TOTAL / ${#TARGETS[@]} ))
(( PER >= 1 )) || PER=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked || exit 1
fi
TOOLCHAIN=+nightly
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  # A machine with only the stable toolchain: its rust-std ships the ASan runtime, and
  # RUSTC_BOOTSTRAP lets stable rustc take the -Z flags cargo-fuzz passes.
  TOOLCHAIN=""
  export RUSTC_BOOTSTRAP=1
fi

start=$(date +%s)
if ! cargo $TOOLCHAIN fuzz build -O; then
  echo "fuzz: build failed"
  exit 1
fi
echo "fuzz: build took $(( $(date +%s) - start )) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
failures=()
for t in "${TARGETS[@]}"; do
  mkdir -p "$work/$t" "artifacts/$t"
  log="$work/$t.log"
  # wal_open starts a log writer thread per input and the engine runtime's threads, which
  # live until exit: one still exiting when LeakSanitizer looks (after an input, or at
  # exit) is reported as a leak that does not reproduce. Leak checks stay on for every
  # other target.
  extra=()
  asan="${ASAN_OPTIONS:-}"
  if [[ $t == wal_open ]]; then
    extra=(-detect_leaks=0)
    asan="${asan:+$asan:}detect_leaks=0"
  fi
  ASAN_OPTIONS="$asan" cargo $TOOLCHAIN fuzz run -O "$t" "$work/$t" "corpus/$t" -- \
    -max_total_time="$PER" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" "${extra[@]}" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if (( rc == 0 )); then
    passed=$((passed + 1))
    echo "fuzz: $t ok, ${execs:-?} executions in ${PER} s"
  else
    failed=$((failed + 1))
    failures+=("$t")
    echo "fuzz: $t FAILED (exit $rc), ${execs:-?} executions; last lines:"
    grep -E "panicked|ERROR|SUMMARY|Test unit written|artifact" "$log" | head -8 | sed 's/^/  /'
  fi
done
echo "fuzz: ${#TARGETS[@]} targets, ${PER} s each, $(( $(date +%s) - start )) s in all${failures:+; failed: ${failures[*]}}"
echo "fuzz: $passed passed, $failed failed"
(( failed == 0 ))
