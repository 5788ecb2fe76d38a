#!/usr/bin/env bash
# Usage: scripts/ctest-skips.sh BUILD_DIR
# Lists each test of the last ctest run in BUILD_DIR that skipped, with the reason it printed
# (a GoogleTest executable's "jointflow-tests: every test skipped (…)" line, a script's "SKIP:"
# line). Prints nothing when none skipped.
set -euo pipefail
log=${1:?usage: scripts/ctest-skips.sh BUILD_DIR}/Testing/Temporary/LastTest.log
[ -e "$log" ] || exit 0
reasons=$(awk '/^[0-9]+\/[0-9]+ Testing: / { test = $3 }
               /jointflow-tests: every test skipped|: SKIP: / { print "  " test ": " $0 }' "$log" |
  sort -u)
[ -z "$reasons" ] || printf 'skipped tests and why:\n%s\n' "$reasons"
