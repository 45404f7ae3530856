#!/usr/bin/env bash
# make audit: pip-audit against the hash-locked requirements/dev.lock.
#
# pip-audit says "No known vulnerabilities found" and exits 0 even when it could reach no
# vulnerability database and audited nothing (offline, every package "could not be
# audited"). This wrapper counts the skipped packages and fails with a clear line then, so
# an unaudited run is never mistaken for a clean one.
set -uo pipefail
PIP_AUDIT="${1:-.venv/bin/pip-audit}"
LOCK="${2:-requirements/dev.lock}"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT

"$PIP_AUDIT" --requirement "$LOCK" --require-hashes --disable-pip --progress-spinner off >"$report" 2>&1
status=$?
cat "$report"
locked=$(grep -cE '^[A-Za-z0-9][A-Za-z0-9._-]*==' "$LOCK")
skipped=$(grep -c 'could not be audited' "$report")
if [ "$status" -ne 0 ]; then
    echo "make audit: FAILED: pip-audit exited $status (vulnerabilities found, or the audit could not run; see above)"
    exit "$status"
fi
if [ "$skipped" -gt 0 ]; then
    echo "make audit: INCOMPLETE: $skipped of $locked locked packages could not be audited (is the vulnerability database reachable? offline it is not); this is not a clean result"
    exit 2
fi
echo "make audit: clean: $locked locked packages audited, no known vulnerabilities"
