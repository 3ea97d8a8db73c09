#!/usr/bin/env bash
# Judge an IMAP server with Dovecot's imaptest (built by build.sh beside this script).
#
#   tools/imaptest/run.sh [OPTIONS] HOST PORT USER PASS [extra imaptest args]
#   tools/imaptest/run.sh --stress SECS [OPTIONS] HOST PORT USER PASS [extra args]
#
# Where imaptest is: --dir DIR, or $IMAPTEST_DIR (the TARGET_DIR given to
# build.sh: DIR/imaptest + DIR/tests/). $IMAPTEST_BIN / $IMAPTEST_TESTS
# override the two paths separately.
#
# Scripted mode (default): runs every scripted test in tests/ one at a time (one
# imaptest process per test, so a failure, crash or hang is pinned to its test),
# prints PASS/FAIL/SKIP per test with the first lines of each failure, then
#   imaptest summary: passed=P failed=F skipped=S total=T ignored=I base_cmds_failed=a/b ext_cmds_failed=c/d
#   imaptest: P passed, F failed, S skipped
# SKIP = the server does not advertise a capability the test needs (not a failure).
# Exit 0 when F == 0, 1 when a test failed, 2 when the harness could not run.
#   --only "t1 t2"     run only these tests (names as in tests/)
#   --ignore "t1 t2"   failures of these tests are reported as IGNORED, not failed
#                      (also $IMAPTEST_IGNORE). Default: "urlauth2", the one test
#                      that fails against Dovecot 2.3.19 itself (an upstream test
#                      bug; it only runs when user2=NAME is passed, else SKIP).
#                      --ignore "" clears it.
#   --log FILE         full imaptest stderr of every test (default: a temp file, kept
#                      and named when something failed)
#   --timeout SECS     per-test wall-clock limit (default 120; a hang counts as FAIL)
# The whole suite always runs (no stop at the first failure). Extra args go to
# imaptest as is (e.g. box=NAME, user2=NAME, rawlog).
#
# WARNING: scripted tests are destructive for USER: they delete and recreate the
# mailboxes named imaptest* (box= overrides) and the messages in them.
#
# Stress mode (--stress SECS): `imaptest secs=SECS clients=5 mbox=tests/default.mbox`
# (override with extra args, e.g. clients=10 mbox=/path/x.mbox). Prints
#   imaptest stress: secs=.. clients=.. total_cmds=N ops/s=X logins/s=Y errors=E
# plus per-command totals. Exit 1 if imaptest reported errors (state-tracking or
# protocol errors on stderr) or exited non-zero, 2 if it could not run.
# Also destructive: the random load appends, flags and expunges in USER's INBOX.
set -uo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
MODE=scripted
STRESS_SECS=
ONLY=
IGNORE=${IMAPTEST_IGNORE-urlauth2}
LOG=
PER_TEST_TIMEOUT=120
DIR=${IMAPTEST_DIR:-}

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --stress) MODE=stress; STRESS_SECS=${2:?--stress needs SECS}; shift 2 ;;
    --only) ONLY=${2:?}; shift 2 ;;
    --ignore) IGNORE=${2?}; shift 2 ;;
    --log) LOG=${2:?}; shift 2 ;;
    --timeout) PER_TEST_TIMEOUT=${2:?}; shift 2 ;;
    --dir) DIR=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) echo "run-imaptest: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 4 ] || usage
HOST=$1 PORT=$2 USER_NAME=$3 PASS=$4
shift 4
EXTRA=("$@")

BIN=${IMAPTEST_BIN:-}
TESTS=${IMAPTEST_TESTS:-}
if [ -z "$BIN" ]; then
  for d in "$DIR" "$SCRIPT_DIR/dist"; do
    [ -n "$d" ] && [ -x "$d/imaptest" ] && { BIN="$d/imaptest"; TESTS=${TESTS:-$d/tests}; break; }
  done
fi
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "run-imaptest: no imaptest binary; pass --dir DIR or set IMAPTEST_DIR (see build.sh)" >&2
  exit 2
fi
TESTS=${TESTS:-$(dirname "$BIN")/tests}
[ -d "$TESTS" ] || { echo "run-imaptest: no tests folder at $TESTS" >&2; exit 2; }
case "$TESTS" in /*) ;; *) TESTS="$PWD/$TESTS" ;; esac

# Refuse to run if nothing listens (harness problem, not a server verdict).
if ! (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then
  echo "run-imaptest: cannot connect to $HOST:$PORT" >&2
  exit 2
fi

COMMON=(host="$HOST" port="$PORT" user="$USER_NAME" pass="$PASS")

# ---------------------------------------------------------------- stress mode
if [ "$MODE" = stress ]; then
  case "$STRESS_SECS" in ''|*[!0-9]*) echo "run-imaptest: --stress needs whole seconds" >&2; exit 2 ;; esac
  clients=5 mbox="$TESTS/default.mbox"
  for a in "${EXTRA[@]+"${EXTRA[@]}"}"; do
    case "$a" in clients=*) clients=${a#clients=} ;; mbox=*) mbox=${a#mbox=} ;; esac
  done
  out=$(mktemp) err=$(mktemp)
  # imaptest stops starting commands after SECS, then lets clients log out.
  timeout $((STRESS_SECS + 60)) "$BIN" "${COMMON[@]}" secs="$STRESS_SECS" clients="$clients" \
    mbox="$mbox" "${EXTRA[@]+"${EXTRA[@]}"}" >"$out" 2>"$err"
  rc=$?
  # The block after "Totals:" is: header, probability lines, then one line of counts.
  read -r -a names < <(awk '/^Totals:/{getline; print; exit}' "$out")
  counts_line=$(awk '/^Totals:/{f=1; next} f && /^ *[0-9]+( +[0-9]+)+ *$/{print; exit}' "$out")
  read -r -a counts <<<"$counts_line"
  errors=$(grep -cE '(^|: )(Error|Panic|Fatal):' "$err")
  if [ ${#counts[@]} -eq 0 ] || [ ${#counts[@]} -ne ${#names[@]} ]; then
    echo "run-imaptest: could not parse imaptest stress output (rc=$rc)" >&2
    tail -20 "$out" >&2; tail -20 "$err" >&2
    rm -f "$out" "$err"; exit 2
  fi
  total=0 logins=0 per=""
  for i in "${!counts[@]}"; do
    total=$((total + counts[i]))
    [ "${names[i]}" = Logi ] && logins=${counts[i]}
    per="$per ${names[i]}=${counts[i]}"
  done
  ops=$(awk -v t="$total" -v s="$STRESS_SECS" 'BEGIN{printf "%.1f", t/s}')
  lps=$(awk -v t="$logins" -v s="$STRESS_SECS" 'BEGIN{printf "%.1f", t/s}')
  echo "per-command totals:$per"
  if [ "$errors" -gt 0 ]; then
    echo "first errors reported by imaptest:"; grep -E '(^|: )(Error|Panic|Fatal):' "$err" | head -10 | sed 's/^/  /'
  fi
  echo "imaptest stress: secs=$STRESS_SECS clients=$clients total_cmds=$total ops/s=$ops logins/s=$lps errors=$errors rc=$rc"
  rm -f "$out" "$err"
  [ "$rc" -eq 0 ] && [ "$errors" -eq 0 ] && exit 0
  [ "$rc" -eq 124 ] && echo "run-imaptest: stress run did not finish in time" >&2
  exit 1
fi

# ---------------------------------------------------------------- scripted mode
if [ -z "$LOG" ]; then LOG=$(mktemp "${TMPDIR:-/tmp}/imaptest-run.XXXXXX.log"); TEMP_LOG=1; else TEMP_LOG=0; : >"$LOG"; fi
if [ -n "$ONLY" ]; then
  read -r -a names <<<"$ONLY"
else
  names=()
  for f in "$TESTS"/*; do
    b=$(basename "$f")
    [ -f "$f" ] || continue            # tests/broken/ is a folder upstream does not run
    case "$b" in *.mbox|.*) continue ;; esac
    names+=("$b")
  done
fi
in_list() { local x; for x in $2; do [ "$x" = "$1" ] && return 0; done; return 1; }

passed=0 failed=0 skipped=0 ignored=0 total=0
base_f=0 base_t=0 ext_f=0 ext_t=0
failed_names="" skipped_names="" ignored_names=""
out=$(mktemp) err=$(mktemp)
for t in "${names[@]}"; do
  [ -f "$TESTS/$t" ] || { echo "run-imaptest: no test named $t" >&2; rm -f "$out" "$err"; exit 2; }
  total=$((total + 1))
  timeout "$PER_TEST_TIMEOUT" "$BIN" "${COMMON[@]}" test="$TESTS/$t" \
    "${EXTRA[@]+"${EXTRA[@]}"}" >"$out" 2>"$err" </dev/null
  rc=$?
  line=$(grep -E '^[0-9]+ test groups: [0-9]+ failed, [0-9]+ skipped' "$out" | tail -1)
  if [[ $line =~ ^[0-9]+\ test\ groups:\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
    gf=${BASH_REMATCH[1]} gs=${BASH_REMATCH[2]}
    if [[ $(cat "$out") =~ base\ protocol:\ ([0-9]+)/([0-9]+) ]]; then
      base_f=$((base_f + BASH_REMATCH[1])); base_t=$((base_t + BASH_REMATCH[2])); fi
    if [[ $(cat "$out") =~ extensions:\ ([0-9]+)/([0-9]+) ]]; then
      ext_f=$((ext_f + BASH_REMATCH[1])); ext_t=$((ext_t + BASH_REMATCH[2])); fi
    if [ "$gf" -gt 0 ]; then status=FAIL
    elif [ "$gs" -gt 0 ]; then status=SKIP
    else status=PASS; fi
  elif [ "$rc" -eq 124 ]; then
    status=FAIL; echo "(no result: killed after ${PER_TEST_TIMEOUT}s)" >>"$err"
  else
    status=FAIL; echo "(no result: imaptest exited with $rc)" >>"$err"
  fi
  if [ "$status" = FAIL ] && in_list "$t" "$IGNORE"; then status=IGNORED; fi
  case "$status" in
    PASS) passed=$((passed + 1)) ;;
    SKIP) skipped=$((skipped + 1)); skipped_names="$skipped_names $t" ;;
    IGNORED) ignored=$((ignored + 1)); ignored_names="$ignored_names $t" ;;
    FAIL) failed=$((failed + 1)); failed_names="$failed_names $t" ;;
  esac
  echo "$status $t"
  if [ "$status" = FAIL ]; then sed -n '1,20p' "$err" | sed 's/^/    /'; fi
  { echo "===== $status $t (rc=$rc)"; cat "$out" "$err"; } >>"$LOG"
done
rm -f "$out" "$err"

[ -n "$skipped_names" ] && echo "skipped (capability not advertised, or user2= not given):$skipped_names"
[ -n "$ignored_names" ] && echo "ignored failures:$ignored_names"
[ -n "$failed_names" ] && echo "failed:$failed_names"
if [ "$failed" -gt 0 ] || [ "$TEMP_LOG" = 0 ]; then echo "full log: $LOG"; else rm -f "$LOG"; fi
echo "imaptest summary: passed=$passed failed=$failed skipped=$skipped total=$total ignored=$ignored base_cmds_failed=$base_f/$base_t ext_cmds_failed=$ext_f/$ext_t"
echo "imaptest: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && exit 0
exit 1
