#!/usr/bin/env bash
# Load benchmark of the verify path (make bench).
#
# Builds keyward and scripts/seed, seeds a throwaway PostgreSQL database with
# 100k tokens, starts the server and a baseline server, and measures with wrk:
#
#   bareget   GET /healthz with a token in the Authorization header, which
#             it ignores: Keyward's router and middleware, nothing else
#   barepost  POST /api/bench/bare on the baseline server (scripts/seed
#             -serve-baseline): the same router and middleware, the same
#             headers and JSON body as hit; it reads the body and answers
#             {"status":"ok"}
#   hit       POST /api/v1/verify, one token, answered from the verify cache
#   bearer    GET /api/v1/token with that token in the Authorization header:
#             a token-authenticated JSON route, as a guarded service sees it;
#             the same request as bareget
#   miss      POST /api/v1/verify cycling through all seeded tokens; the
#             server runs with KEYWARD_VERIFY_CACHE_TTL=1s, so a token is
#             never still cached when its turn comes round again
#   malformed POST /api/v1/verify with a bad checksum (no database work)
#   gorm      POST /api/bench/lookup on the baseline server: the same request
#             as miss, answered by a plain indexed GORM lookup of the token row
#
# and prints req/s, p50 and p99 with the ratios against the targets. Each
# verify scenario is compared with a bare route taking the same request, so
# the ratio is the cost of verifying: hit >= 0.9x barepost, bearer >= 0.9x
# bareget, miss >= 0.9x gorm, malformed >= hit. hit against bareget, a GET
# with no body, is printed too.
#
# Environment: BENCH_PG (server URL without database, default
# postgres://postgres@127.0.0.1:5432), BENCH_TOKENS (100000), BENCH_DURATION
# (10s per run), BENCH_ROUNDS (4; each ratio is the median of the rounds'),
# BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_PORT (28480; the baseline
# uses the next port). The database is dropped at the end; the exit status is
# 1 when a ratio misses its target.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
TOKENS="${BENCH_TOKENS:-100000}"
DURATION="${BENCH_DURATION:-10s}"
CONNS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
ROUNDS="${BENCH_ROUNDS:-4}"
PORT="${BENCH_PORT:-28480}"
BPORT=$((PORT + 1))
DB="keyward_bench_$$"
WORK="$(mktemp -d)"
PIDS=()

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql -X -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "==> building"
CGO_ENABLED=0 go build -o "$WORK/keyward" ./cmd/keyward
go build -o "$WORK/seed" ./scripts/seed

echo "==> seeding $TOKENS tokens into $DB"
psql -X -q "$PG/postgres" -c "CREATE DATABASE $DB" >/dev/null
DBURL="$PG/$DB?sslmode=disable"
"$WORK/seed" -database "$DBURL" -tokens "$TOKENS" -out "$WORK"
SVC="$(cat "$WORK/service.token")"
ONE="$(head -n1 "$WORK/tokens.txt")"
last="${ONE: -1}"
if [ "$last" = "a" ]; then BAD="${ONE%?}b"; else BAD="${ONE%?}a"; fi

for port in "$PORT" "$BPORT"; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
    echo "port $port is in use; set BENCH_PORT" >&2
    exit 1
  fi
done
echo "==> starting keyward on :$PORT and the baseline on :$BPORT"
KEYWARD_DATABASE_URL="$DBURL" KEYWARD_ADDR="127.0.0.1:$PORT" KEYWARD_LOG_LEVEL=warn \
  KEYWARD_SECURE_COOKIES=false KEYWARD_VERIFY_CACHE_TTL=1s \
  "$WORK/keyward" serve 2>"$WORK/keyward.log" &
KPID=$!
PIDS+=($KPID)
"$WORK/seed" -database "$DBURL" -serve-baseline "127.0.0.1:$BPORT" 2>"$WORK/baseline.log" &
BPID=$!
PIDS+=($BPID)
for port in "$PORT" "$BPORT"; do
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$WORK"/*.log; echo "server on :$port did not start" >&2; exit 1; }
done

verify() { curl -fs -X POST "http://127.0.0.1:$PORT/api/v1/verify" -H "Authorization: Bearer $SVC" \
  -H 'Content-Type: application/json' -d "{\"token\":\"$1\",\"scope\":\"read\"}"; }
answer="$(verify "$ONE" || true)"
grep -q '"valid":true' <<<"$answer" || { echo "$answer"; cat "$WORK/keyward.log"; echo "seeded token does not verify" >&2; exit 1; }
verify "$BAD" | grep -q '"code":"invalid_key"' || { echo "malformed token is not invalid_key" >&2; exit 1; }

# Every script ends with the same summary line: req/s, p50 and p99 in µs,
# non-2xx responses, socket errors.
DONE='
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.0f %.0f %d %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end'

fixed() { # fixed BODY: POST the same body every time
  cat <<EOF
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $SVC"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$1'
$DONE
EOF
}

cycling() { # cycling PATH: POST a different seeded token each time
  cat <<EOF
local tokens = {}
for line in io.lines("$WORK/tokens.txt") do tokens[#tokens + 1] = line end
local headers = {["Authorization"] = "Bearer $SVC", ["Content-Type"] = "application/json"}
local n, i = 0, 0
setup = function(thread) thread:set("id", n); n = n + 1 end
init = function(args) i = math.floor(id * #tokens / $THREADS) end
request = function()
  i = i + 1
  if i > #tokens then i = 1 end
  return wrk.format("POST", "$1", headers, '{"token":"' .. tokens[i] .. '","scope":"read"}')
end
$DONE
EOF
}

cat >"$WORK/bearer.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $ONE"
$DONE
EOF
cp "$WORK/bearer.lua" "$WORK/bareget.lua"
fixed "{\"token\":\"$ONE\",\"scope\":\"read\"}" >"$WORK/hit.lua"
cp "$WORK/hit.lua" "$WORK/barepost.lua"
fixed "{\"token\":\"$BAD\",\"scope\":\"read\"}" >"$WORK/malformed.lua"
cycling /api/v1/verify >"$WORK/miss.lua"
cycling /api/bench/lookup >"$WORK/gorm.lua"

metric() { # metric NAME: the summed value of a Prometheus series on keyward
  curl -fs "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { printf "%d", s }'
}

cputicks() { # cputicks PID: user+system CPU time of a process, in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}
HZ="$(getconf CLK_TCK)"

drain() { # wait until keyward has written the usage counted so far
  for _ in $(seq 1 600); do
    [ "$(metric keyward_usage_unwritten_calls)" = 0 ] && return
    sleep 0.1
  done
  echo "  (usage still being written after 60s)"
}

run() { # run NAME URL SCRIPT PID: one wrk run, appended to $WORK/results
  local name=$1 url=$2 script=$3 pid=$4 out hits misses ok t0 t1 cpu extra=""
  # Each run starts with no usage flush left over from the one before: after
  # the miss run, writing the last use of thousands of tokens takes a while.
  drain
  hits=$(metric keyward_verify_cache_hits_total); misses=$(metric keyward_verify_cache_misses_total)
  ok=$(metric 'keyward_verify_total{code="ok"}')
  t0=$(cputicks "$pid")
  out="$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 5s -s "$script" "$url")"
  t1=$(cputicks "$pid")
  read -r _ rps p50 p99 non2xx errs <<<"$(grep '^RESULT' <<<"$out")"
  # Server CPU per request depends much less than req/s on what else the
  # machine is doing.
  cpu=$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v r="$rps" -v d="${DURATION%s}" 'BEGIN { printf "%.1f", t / hz * 1e6 / (r * d) }')
  if [ "$pid" = "$KPID" ] && [ "$name" != bareget ]; then
    extra="$(printf 'cache-hits:+%d cache-misses:+%d ok:+%d' \
      $(($(metric keyward_verify_cache_hits_total) - hits)) $(($(metric keyward_verify_cache_misses_total) - misses)) \
      $(($(metric 'keyward_verify_total{code="ok"}') - ok)))"
  fi
  echo "$round $name $rps $p50 $p99 $cpu $non2xx $errs $extra" >>"$WORK/results"
  printf '  round %s  %-10s %8s req/s  p50 %6s µs  p99 %7s µs  server CPU %6s µs/req  non-2xx %s  errors %s  %s\n' \
    "$round" "$name" "$rps" "$p50" "$p99" "$cpu" "$non2xx" "$errs" "$extra"
}

echo "==> warming up (PostgreSQL buffers, connection pools, caches)"
wrk -t"$THREADS" -c"$CONNS" -d5s -s "$WORK/gorm.lua" "http://127.0.0.1:$BPORT/api/bench/lookup" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d3s -s "$WORK/miss.lua" "http://127.0.0.1:$PORT/api/v1/verify" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d2s -s "$WORK/hit.lua" "http://127.0.0.1:$PORT/api/v1/verify" >/dev/null

settle() { # let PostgreSQL finish with what the miss run wrote before the next run
  drain
  psql -X -q "$DBURL" -c "VACUUM tokens, usage_counters" >/dev/null
  # CHECKPOINT needs a superuser or pg_checkpoint; without, the writes settle in their own time.
  psql -X -q "$DBURL" -c "CHECKPOINT" >/dev/null 2>&1 || true
  for _ in $(seq 1 30); do
    [ "$(psql -X -tA "$DBURL" -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")" = 0 ] && break
    sleep 1
  done
  # An unmeasured run takes whatever is still settling (the machine's caches,
  # PostgreSQL's background writer) rather than the next measured one.
  wrk -t"$THREADS" -c"$CONNS" -d3s -s "$WORK/bareget.lua" "http://127.0.0.1:$PORT/healthz" >/dev/null
}

# The scenarios are interleaved over several rounds, and each one runs next to
# the one it is compared with, first in one round and second in the next. A
# ratio is taken within each round and the median round's ratio reported, so
# a burst of other work on a shared machine skews one round of one pair rather
# than the result. Each miss run is followed by a vacuum and a checkpoint, so
# the writes it leaves behind do not slow down the next run.
echo "==> measuring: $ROUNDS rounds of wrk -t$THREADS -c$CONNS -d$DURATION; $(nproc) CPUs shared by wrk, keyward and PostgreSQL; load average $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$WORK/results"
cached=(bareget bearer barepost hit malformed)
declare -A URL=(
  [bareget]="http://127.0.0.1:$PORT/healthz" [bearer]="http://127.0.0.1:$PORT/api/v1/token"
  [barepost]="http://127.0.0.1:$BPORT/api/bench/bare" [hit]="http://127.0.0.1:$PORT/api/v1/verify"
  [malformed]="http://127.0.0.1:$PORT/api/v1/verify" [miss]="http://127.0.0.1:$PORT/api/v1/verify"
  [gorm]="http://127.0.0.1:$BPORT/api/bench/lookup"
)
scenario() { # scenario NAME
  local pid=$KPID
  case $1 in barepost | gorm) pid=$BPID ;; esac
  run "$1" "${URL[$1]}" "$WORK/$1.lua" "$pid"
  if [ "$1" = miss ]; then settle; fi
}
for round in $(seq 1 "$ROUNDS"); do
  if ((round % 2)); then
    for name in "${cached[@]}" gorm miss; do scenario "$name"; done
  else
    for ((i = ${#cached[@]} - 1; i >= 0; i--)); do scenario "${cached[$i]}"; done
    scenario miss
    scenario gorm
  fi
done

echo "==> median of $ROUNDS rounds, each column on its own"
printf '%-10s %10s %10s %10s %18s\n' scenario req/s "p50 µs" "p99 µs" "server CPU µs/req"
median() { awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column() { awk -v n="$1" -v c="$2" '$2 == n { print $c }' "$WORK/results" | sort -g | median; }
for name in bareget bearer barepost hit malformed gorm miss; do
  printf '%-10s %10.0f %10.0f %10.0f %18.1f\n' "$name" "$(column "$name" 3)" "$(column "$name" 4)" "$(column "$name" 5)" "$(column "$name" 6)"
done

echo "==> ratios of req/s, each the median of the rounds' ratios (the same for server CPU per request, cost of B over cost of A)"
status=0
roundratios() { # roundratios A B COLUMN: one ratio per round, sorted
  awk -v a="$1" -v b="$2" -v c="$3" '$2 == a { x[$1] = $c } $2 == b { y[$1] = $c }
    END { for (r in x) if (y[r] > 0) print x[r] / y[r] }' "$WORK/results" | sort -g
}
ratio() { # ratio LABEL A B TARGET (no TARGET: printed for comparison only)
  local r cpu all
  r="$(roundratios "$2" "$3" 3 | median)"
  cpu="$(roundratios "$3" "$2" 6 | median)"
  all="$(roundratios "$2" "$3" 3 | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 }')"
  awk -v l="$1" -v r="$r" -v c="$cpu" -v t="${4:-}" -v all="$all" 'BEGIN {
    if (t == "") { printf "%-26s %5.2fx  (no target)                  CPU %5.2fx  rounds: %s\n", l, r, c, all; exit 0 }
    ok = (r >= t) ? "ok" : "BELOW TARGET"
    printf "%-26s %5.2fx  (target >= %.1fx)  %-12s  CPU %5.2fx  rounds: %s\n", l, r, t, ok, c, all
    exit (r >= t) ? 0 : 1 }' || status=1
}
ratio "cache hit / bare POST" hit barepost 0.9
ratio "bearer route / bare GET" bearer bareget 0.9
ratio "cache miss / GORM lookup" miss gorm 0.9
ratio "malformed / cache hit" malformed hit 1.0
ratio "cache hit / bare GET" hit bareget
if grep -q '"level":"ERROR"' "$WORK/keyward.log"; then
  echo "keyward logged errors:"; grep '"level":"ERROR"' "$WORK/keyward.log" | head -5
fi
exit $status
