#!/usr/bin/env bash
# Installs and starts what the tests need on a Debian machine, and does nothing that is already
# done: a C compiler (for -race) and a PostgreSQL server at 127.0.0.1:5432 with database "test".
# Set GATEHOUSE_TEST_POSTGRES to use another server instead.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  say "installing $* (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v go >/dev/null || { echo "Go is required: install Go 1.26 from https://go.dev/dl/" >&2; exit 1; }
command -v gcc >/dev/null || apt_install gcc libc6-dev
# The web UI's end-to-end tests drive a real headless browser.
command -v chromium >/dev/null || apt_install chromium

pg_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if [ -n "${GATEHOUSE_TEST_POSTGRES:-}" ]; then
  say "PostgreSQL: using GATEHOUSE_TEST_POSTGRES"
elif pg_answers; then
  say "PostgreSQL: answering at 127.0.0.1:5432"
else
  installed_now=0
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
    installed_now=1
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if [ "$installed_now" = 1 ]; then
    # A server installed just for the tests trusts local connections, like CI's.
    hba=/etc/postgresql/$version/main/pg_hba.conf
    as_root sed -i -E 's/^(local|host)(\s+all\s+all\s+.*\s)(peer|scram-sha-256|md5)$/\1\2trust/' "$hba"
    as_root sed -i -E 's/^(local\s+all\s+postgres\s+)peer$/\1trust/' "$hba"
  fi
  action=start
  [ "$installed_now" = 1 ] && action=restart # the package may have started it before pg_hba changed
  say "PostgreSQL $version: $action"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main "$action" 2>/dev/null ||
    as_root pg_ctlcluster "$version" main "$action" || true
  for _ in $(seq 1 50); do pg_answers && break; sleep 0.2; done
  pg_answers || { echo "PostgreSQL did not start; see /var/log/postgresql" >&2; exit 1; }
  if ! as_root su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'test'\"" | grep -q 1; then
    as_root su postgres -c "createdb test"
  fi
fi
