#!/usr/bin/env bash
# Runs every test: installs what is missing first, then static checks, then the whole suite
# with the race detector, against SQLite and PostgreSQL.
set -euo pipefail
# The suite runs every store test on every engine.
unset GATEHOUSE_TEST_ENGINES
cd "$(dirname "$0")/.."
./scripts/test-deps.sh
./scripts/build-testbed.sh
./scripts/build-mailpit.sh

echo "==> gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...

echo "==> go test -race ./..."
go test -race -count=1 -timeout 30m "$@" ./...
