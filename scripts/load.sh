#!/usr/bin/env bash
# Load and fault test for the verify path.
#
# Starts a private PostgreSQL cluster (so the machine's own database is never
# touched), builds and starts Keyward on it, issues valid, revoked, expired,
# malformed and rate-limited tokens through the CLI, then:
#   1. load: wrk for LOAD_DURATION (default 60s) cycling through those tokens;
#      checks there is no 5xx and no false valid, and that after a graceful
#      stop the usage counters in the database equal the verifications made;
#   2. faults: wrk again while PostgreSQL is stopped and started; checks that
#      verify fails closed (503 with a JSON code, never a false valid), that
#      the dashboard shows a clear error page, and that both recover without
#      restarting Keyward.
# Traffic goes only to 127.0.0.1. Exits non-zero when a check fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION="${LOAD_DURATION:-60s}"
# Below the ephemeral port range, so client sockets of the load cannot hold it.
PORT="${LOAD_PG_PORT:-15432}"
ADDR=127.0.0.1:18181
URL="http://$ADDR"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

work="$(mktemp -d)"
chmod 755 "$work"
server_pid=
pg() { su postgres -s /bin/sh -c "$*"; }
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  pg "$PGBIN/pg_ctl -D $work/pg -m immediate stop" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
check() { # check DESCRIPTION COMMAND...
  local what="$1"; shift
  if "$@"; then echo "  ok    $what"; else echo "  FAIL  $what"; failures=$((failures + 1)); fi
}

echo "==> private PostgreSQL on 127.0.0.1:$PORT"
mkdir "$work/pg" "$work/pglog" && chown postgres "$work/pg" "$work/pglog"
pg "$PGBIN/initdb -D $work/pg -A trust -U postgres" >/dev/null
pg_start() {
  for _ in 1 2 3 4 5; do
    pg "$PGBIN/pg_ctl -D $work/pg -o '-p $PORT -k $work/pglog -c listen_addresses=127.0.0.1' -l $work/pglog/pg.log -w start" >/dev/null 2>&1 && return 0
    sleep 1
  done
  tail -n 20 "$work/pglog/pg.log"
  return 1
}
pg_stop() { pg "$PGBIN/pg_ctl -D $work/pg -m fast -w stop" >/dev/null; }
pg_start

echo "==> build"
CGO_ENABLED=0 go build -o "$work/keyward" ./cmd/keyward
export KEYWARD_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
export KEYWARD_POLICY=scripts/load-policy.yaml KEYWARD_SECURE_COOKIES=false KEYWARD_ADDR=$ADDR KEYWARD_LOG_LEVEL=warn
kw() { "$work/keyward" "$@"; }

echo "==> tokens"
printf 'load-test-password\n' | kw admin create --email load@example.com --password-stdin --workspace Load >/dev/null
tokens="$work/tokens.txt"
for i in 1 2 3 4 5; do echo "valid $(kw token create --workspace load --type load --name "valid-$i" --scope read)" >>"$tokens"; done
revoked="$(kw token create --workspace load --type load --name revoked --scope read)"
kw token revoke --workspace load "$(echo "$revoked" | cut -d_ -f2)" >/dev/null
echo "revoked $revoked" >>"$tokens"
echo "limited $(kw token create --workspace load --type limited --name limited --scope read)" >>"$tokens"
valid1="$(sed -n 1p "$tokens" | cut -d' ' -f2)"
echo "malformed ld_not-a-token" >>"$tokens"
echo "badsum ${valid1%?}$( [ "${valid1: -1}" = A ] && echo B || echo A)" >>"$tokens"
spare="$(kw token create --workspace load --type load --name spare --scope read)"

start_server() {
  "$work/keyward" serve >>"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 50); do curl -fs "$URL/readyz" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "server did not become ready"; cat "$work/server.log"; exit 1
}
stop_server() { kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=; }
answers() { grep '^ANSWER' "$1" | sed 's/^ANSWER /  /'; }
sum_answers() { awk -v re="$2" '$1=="ANSWER" && ($2 " " $3) ~ re { n += $4 } END { print n+0 }' "$1"; }

echo "==> load: wrk -t2 -c32 -d$DURATION"
start_server
# Created after the start so the first expiry sweep has not revoked it yet:
# it answers expired_key until the next sweep, revoked_key after.
echo "expired $(kw token create --workspace load --type load --name expired --scope read --expires-in 1s)" >>"$tokens"
sleep 2
TOKENS="$tokens" wrk -t2 -c32 -d"$DURATION" -s scripts/load.lua "$URL" >"$work/load.txt"
grep -E '^(SUMMARY|Requests/sec)' "$work/load.txt"
answers "$work/load.txt"
sleep 1
curl -fs "$URL/metrics" >"$work/metrics.txt"
verified=$(awk '/^keyward_verify_total\{/ && !/code="invalid_key"/ { n += $2 } END { printf "%d", n }' "$work/metrics.txt")
stop_server
recorded=$(psql -X -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -Atc "SELECT COALESCE(SUM(count),0) FROM usage_counters")
answered=$(awk '$1=="ANSWER" && $3!="invalid_key" { n += $4 } END { print n+0 }' "$work/load.txt")
echo "  verifications of known tokens: $verified (server metric), $answered answered to wrk, $recorded in usage_counters after graceful stop"
check "no 5xx under load" [ "$(sum_answers "$work/load.txt" '^5')" -eq 0 ]
check "no false valid (revoked, expired, malformed)" [ "$(sum_answers "$work/load.txt" '^200 valid:(revoked|expired|[?])')" -eq 0 ]
check "rate-limited token refused past its quota" [ "$(sum_answers "$work/load.txt" '^429 rate_limited')" -gt 0 ]
check "limited token accepted at most its 500/day" [ "$(sum_answers "$work/load.txt" '^200 valid:limited')" -le 500 ]
check "usage counters equal verifications after flush" [ "$recorded" -eq "$verified" ]

echo "==> faults: PostgreSQL stopped and started under load"
start_server
TOKENS="$tokens" wrk -t2 -c16 -d30s -s scripts/load.lua "$URL" >"$work/fault.txt" &
wrk_pid=$!
sleep 8
pg_stop
echo "  PostgreSQL stopped"
sleep 3
down_verify=$(curl -s -o "$work/down-verify.json" -w '%{http_code}' -H "Authorization: Bearer $spare" "$URL/api/v1/token")
down_page=$(curl -s -o "$work/down-page.html" -w '%{http_code}' "$URL/login")
down_ready=$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")
echo "  while down: verify of an uncached token $down_verify $(cat "$work/down-verify.json"); dashboard $down_page; readyz $down_ready"
check "verify fails closed with 503 and a JSON code" grep -q '"code":"unavailable"' "$work/down-verify.json"
check "verify status is 503" [ "$down_verify" = 503 ]
check "dashboard shows an error page that names the database" grep -qi 'database' "$work/down-page.html"
check "readyz reports 503" [ "$down_ready" = 503 ]
sleep 4
pg_start
echo "  PostgreSQL started"
for _ in $(seq 1 60); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] && break; sleep 0.5; done
up_verify=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $spare" "$URL/api/v1/token")
up_page=$(curl -s -o /dev/null -w '%{http_code}' "$URL/login")
echo "  after restart: verify $up_verify; dashboard $up_page"
check "verify recovers without restarting Keyward" [ "$up_verify" = 200 ]
check "dashboard recovers without restarting Keyward" [ "$up_page" = 200 ]
wait "$wrk_pid"
grep '^SUMMARY' "$work/fault.txt"
answers "$work/fault.txt"
check "no false valid during the outage" [ "$(sum_answers "$work/fault.txt" '^200 valid:(revoked|expired|[?])')" -eq 0 ]
check "the only 5xx during the outage is 503" [ "$(sum_answers "$work/fault.txt" '^5')" -eq "$(sum_answers "$work/fault.txt" '^503 ')" ]
stop_server

if [ "$failures" -gt 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all load and fault checks passed"
