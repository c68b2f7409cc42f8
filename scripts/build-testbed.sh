#!/usr/bin/env bash
# Builds the binaries of the testbed (internal/testbed): etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok, pinned by the modules in tools/.
#
# They are built once into a cache outside the checkout, keyed by a hash of the tools modules'
# go.mod and go.sum, so a fresh clone on the same machine reuses them:
#   ${GATEHOUSE_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/testbed}/<hash>/
# and bin/<name> is made a symbolic link to each. Running it again does nothing but check.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '==> %s\n' "$*"; }
command -v go >/dev/null || { echo "Go is required: install Go 1.26 from https://go.dev/dl/" >&2; exit 1; }

names=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# The recipe is part of the key: changing how the binaries are built changes the directory.
recipe=2
kube_version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' tools/kube/go.mod)
[ -n "$kube_version" ] || { echo "tools/kube/go.mod does not require k8s.io/kubernetes" >&2; exit 1; }
hash=$( {
  echo "recipe $recipe"
  for m in kube etcd kwok; do
    cat "tools/$m/go.mod" "tools/$m/go.sum"
  done
} | sha256sum | cut -c1-16)

cache_root=${GATEHOUSE_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/testbed}
dir=$cache_root/$hash

complete() {
  local n
  for n in "${names[@]}"; do
    [ -x "$1/$n" ] || return 1
  done
}

if complete "$dir"; then
  say "testbed binaries: cached in $dir"
else
  mkdir -p "$cache_root"
  tmp=$(mktemp -d "$cache_root/.build-$hash.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT

  # The version stamped into the Kubernetes binaries, as a release build would (clients such as
  # Helm compare it with charts' kubeVersion constraints).
  major=${kube_version#v}; major=${major%%.*}
  minor=${kube_version#v*.}; minor=${minor%%.*}
  pkg=k8s.io/component-base/version
  ldflags="-X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean"

  start=$SECONDS
  for n in kube-apiserver kube-controller-manager kube-scheduler; do
    say "building $n $kube_version (first build takes several minutes)…"
    (cd tools/kube && go build -ldflags "$ldflags" -o "$tmp/$n" "k8s.io/kubernetes/cmd/$n")
  done
  say "building etcd (first build takes a minute)…"
  (cd tools/etcd && go build -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
  say "building kwok (first build takes a minute)…"
  (cd tools/kwok && go build -o "$tmp/kwok" sigs.k8s.io/kwok/cmd/kwok)
  complete "$tmp"

  # A directory left by something else that is not a full set is replaced.
  if [ -e "$dir" ] && ! complete "$dir"; then rm -rf "$dir"; fi
  # Publish the whole set at once: an interrupted build never leaves a half set behind.
  if ! mv -T "$tmp" "$dir" 2>/dev/null; then
    complete "$dir" || { echo "cannot move $tmp to $dir" >&2; exit 1; }
    # Another build published the same set first: keep it.
  fi
  trap - EXIT
  rm -rf "$tmp"
  say "testbed binaries: built in $((SECONDS - start))s into $dir"
fi

mkdir -p "$root/bin"
for n in "${names[@]}"; do
  ln -sfn "$dir/$n" "$root/bin/$n"
done
say "testbed binaries: bin/{$(IFS=,; echo "${names[*]}")} -> $dir"
