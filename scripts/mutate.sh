#!/usr/bin/env bash
# Mutation testing of the code that decides who may do what: the domain's rules and the
# store's gate and ballot code. gremlins (pinned in tools/gremlins) changes one operator at a
# time and runs the tests; internal/cmd/mutant runs the mutants gremlins finds but skips (the
# conditions of switch cases, which Go's coverage does not count). A mutant the tests do not
# catch either is listed in scripts/mutate-equivalent.txt with the reason it cannot change a
# decision, or the run fails naming it. Prints the mutation score per file.
#
#   MUTATE_PARTS="rules store" (default both)  MUTATE_WORKERS=2
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
parts=${MUTATE_PARTS:-rules store}
workers=${MUTATE_WORKERS:-2}

# The code under test, and (for the store) the tests that judge it, on SQLite alone: each
# mutant runs them again.
rules="evaluate.go access.go scope.go policycompare.go judge.go ballot.go votingpower.go"
store="gate.go ballot.go voters.go approval.go accesskind.go claims.go policydraft.go"
store_tests='^Test(Gate|Separation|Nobody|Expired|CommitAuthor|Builder|Eligibility|Polic|NothingUnapproved|Votes|Rollback|Reject|Placement|AppSettings|ApproveLink|Approval|Draft|Directory|Judges|Only|Access|Requests|Ballot|Release)'

hash=$(cat tools/gremlins/go.mod tools/gremlins/go.sum | sha256sum | cut -c1-16)
bin=${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/gremlins-$hash
if [ ! -x "$bin/gremlins" ]; then
  echo "==> building gremlins $(grep -o 'gremlins v[0-9.]*' tools/gremlins/go.mod | head -n 1 | cut -d' ' -f2)…"
  mkdir -p "$bin"
  (cd tools/gremlins && go build -o "$bin/gremlins.tmp" github.com/go-gremlins/gremlins/cmd/gremlins)
  mv "$bin/gremlins.tmp" "$bin/gremlins"
fi
go build -o "$bin/mutant" ./internal/cmd/mutant

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# stage copies the module's packages named into a module of their own under $work/$1.
stage() {
  local dir=$work/$1
  shift
  mkdir -p "$dir/internal"
  cp go.mod go.sum ./*.go "$dir"/
  cp -r testdata "$dir"/
  for p in "$@"; do mkdir -p "$dir/$p" && cp -r "$p"/. "$dir/$p"/; done
}

# excluded lists gremlins' -E flags for every .go file of dir ("." for the root) but keep,
# and for every directory of the staged module but dir.
excluded() {
  local dir=$1 keep=$2 prefix=""
  [ "$dir" = "." ] || prefix="$dir/"
  for f in $(cd "$dir" && ls ./*.go | sed 's#^\./##' | grep -v '_test\.go$'); do
    case " $keep " in *" $f "*) ;; *) echo "-E ^${prefix//./\\.}${f//./\\.}\$" ;; esac
  done
  [ "$dir" = "." ] && echo "-E /" || echo "-E ^[^/]*\.go\$"
  for d in internal keyring textdiff sqlstore; do [ "$d" = "$dir" ] || echo "-E ^$d/"; done
}

# part runs gremlins and then mutant on one part, in its staged module.
part() {
  local name=$1 dir=$2 keep=$3
  echo "==> mutating $name: $(echo "$keep" | wc -w) files, $workers workers (this takes a while)"
  (
    cd "$work/$name"
    # shellcheck disable=SC2046
    "$bin/gremlins" unleash --invert-logical --workers "$workers" $(excluded "$dir" "$keep") >"$work/$name.txt" 2>&1 || true
    grep 'NOT COVERED' "$work/$name.txt" | "$bin/mutant" >>"$work/$name.txt"
  )
}

for p in $parts; do
  case $p in
  rules)
    stage rules internal/oracle
    part rules . "$rules"
    ;;
  store)
    stage store internal/oracle internal/testdb keyring textdiff sqlstore
    GATEHOUSE_TEST_ENGINES=sqlite GOFLAGS="-run=$store_tests" part store sqlstore "$store"
    ;;
  *)
    echo "unknown part $p: expected rules or store" >&2
    exit 2
    ;;
  esac
done

# The report: per file, mutants killed (timed out counts as killed), lived, not viable; then
# every lived mutant not listed as equivalent.
cat "$work"/*.txt | grep -E '^ *(KILLED|LIVED|TIMED OUT|NOT VIABLE) ' >"$work/all" || true
awk '
  { status = $1; if ($1 == "TIMED" || $1 == "NOT") status = $1 " " $2
    file = $NF; sub(/:[0-9]+:[0-9]+$/, "", file)
    files[file] = 1; n[file, status]++; total[status]++ }
  END {
    for (f in files) {
      k = n[f, "KILLED"] + n[f, "TIMED OUT"]; l = n[f, "LIVED"]
      printf "%-28s %7d %7d %7d %6.1f%%\n", f, k, l, k + l, (k + l) ? 100 * k / (k + l) : 100 | "sort"
    }
    close("sort")
    k = total["KILLED"] + total["TIMED OUT"]; l = total["LIVED"]
    printf "%-28s %7d %7d %7d %6.1f%%   (%d not viable)\n", "all", k, l, k + l, (k + l) ? 100 * k / (k + l) : 100, total["NOT VIABLE"]
  }' "$work/all" | { printf "%-28s %7s %7s %7s %7s\n" file killed lived tested score; cat; }
survivors=0
while read -r _ mutator _ where; do
  if grep -q "^$where $mutator " scripts/mutate-equivalent.txt; then
    continue
  fi
  echo "SURVIVED $mutator at $where"
  survivors=$((survivors + 1))
done < <(grep -E '^ *LIVED ' "$work/all" || true)
equivalent=$(grep -cE '^[^#].* [A-Z_]+ ' scripts/mutate-equivalent.txt || true)
echo "==> $survivors surviving mutants ($equivalent listed as equivalent in scripts/mutate-equivalent.txt)"
[ "$survivors" -eq 0 ]
