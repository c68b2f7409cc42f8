#!/usr/bin/env bash
# Runs every fuzz target of the module, one after another, each for FUZZTIME (default 20s) with
# FUZZPARALLEL workers (default 1). What a target finds that grows coverage stays in Go's cache
# ($(go env GOCACHE)/fuzz); a failing input is written to the package's testdata/fuzz/FuzzX/,
# where the normal `go test` run replays it until the bug is fixed. Exits 1 if any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20s}
parallel=${FUZZPARALLEL:-1}
failed=()
for dir in $(go list -f '{{.Dir}}' ./...); do
  for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$dir"/*_test.go 2>/dev/null | sort -u); do
    pkg=.${dir#"$PWD"}
    echo "==> $name ($pkg) for $fuzztime"
    if ! go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -parallel "$parallel" "$pkg"; then
      failed+=("$name ($pkg)")
    fi
  done
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz target failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
