#!/usr/bin/env bash
# Builds the helm CLI pinned in tools/helm (the peer the benchmarks compare deploys with) into a
# cache outside the checkout keyed by that module, and links bin/helm to it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(grep -o 'helm.sh/helm/v3 v[0-9.]*' tools/helm/go.mod | head -n 1 | cut -d' ' -f2)
hash=$( { echo "recipe 2"; cat tools/helm/go.mod tools/helm/go.sum; } | sha256sum | cut -c1-16)
dir=${GATEHOUSE_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/testbed}/helm-$hash
if [ ! -x "$dir/helm" ]; then
  echo "==> building the helm CLI $version (first build takes a minute or two)…"
  mkdir -p "$dir"
  (cd tools/helm && go build -ldflags "-X helm.sh/helm/v3/internal/version.version=$version" -o "$dir/helm.tmp" helm.sh/helm/v3/cmd/helm)
  mv "$dir/helm.tmp" "$dir/helm"
fi
mkdir -p bin
ln -sfn "$dir/helm" bin/helm
echo "==> helm CLI: bin/helm -> $dir/helm ($(bin/helm version --short))"
