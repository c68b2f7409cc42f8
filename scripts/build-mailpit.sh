#!/usr/bin/env bash
# Builds mailpit, the SMTP server pinned in tools/mailpit that the tests of package notify
# deliver mail to (internal/mailpit runs it), into a cache outside the checkout keyed by that
# module and this recipe, and links bin/mailpit to it. Running it again does nothing but check.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null || { echo "Go is required: install Go 1.26 from https://go.dev/dl/" >&2; exit 1; }
# The recipe is part of the key: changing how the binary is built changes the directory.
recipe=1
version=$(awk '$1 == "github.com/axllent/mailpit" { print $2; exit }' tools/mailpit/go.mod)
[ -n "$version" ] || { echo "tools/mailpit/go.mod does not require github.com/axllent/mailpit" >&2; exit 1; }
hash=$( { echo "recipe $recipe"; cat tools/mailpit/go.mod tools/mailpit/go.sum; } | sha256sum | cut -c1-16)
dir=${GATEHOUSE_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/testbed}/mailpit-$hash
if [ ! -x "$dir/mailpit" ]; then
  echo "==> building mailpit $version (first build takes a minute or two)…"
  mkdir -p "$dir"
  (cd tools/mailpit && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-X github.com/axllent/mailpit/config.Version=$version" \
    -o "$dir/mailpit.tmp" github.com/axllent/mailpit)
  mv "$dir/mailpit.tmp" "$dir/mailpit"
fi
mkdir -p bin
ln -sfn "$dir/mailpit" bin/mailpit
echo "==> mailpit: bin/mailpit -> $dir/mailpit ($(bin/mailpit version --no-release-check 2>/dev/null | head -n 1 || echo "$version"))"
