#!/usr/bin/env bash
# bench/run.sh: Keten against RabbitMQ and raw ZeroMQ on this machine, in one go and in alternating
# rounds, with the same payload size and window (docs/performance.md). Installs what it needs
# (tools/install-deps.sh --bench), starts a throwaway RabbitMQ on loopback, writes JSON lines,
# a summary with the ratios, and gnuplot plots into bench/results/, and cleans up after itself.
# The main comparison also runs Keten with its store on PostgreSQL (system keten-pg: a throwaway
# PostgreSQL 15 cluster on loopback, fsync and synchronous_commit on, a fresh database per run).
#
#   bench/run.sh [--quick] [--main-only] [--rounds N] [--messages N] [--size BYTES] [--window W]
#                [--backlog N] [--large-store FILE] [--https-messages N]
#
# --main-only: only the main comparison (Keten on SQLite and on PostgreSQL, RabbitMQ, raw ZeroMQ),
# without the cost floor, the HTTPS API, the fairness run, the window and rate sweeps.
#
# Fairness (bench/fairness): a quiet partner's receipt latency alone and while another partner
# floods over 16 connections, in alternating phases on one broker.
#
# The HTTPS API is measured beside ZeroMQ on one broker per round (bench/https_bench.py: ZeroMQ,
# HTTPS submits single and in batches of 50, HTTPS long-poll deliveries with one ack each), with
# --https-messages (default 3000) messages over 16 keep-alive connections.
#
# --large-store FILE: also runs Keten in alternating rounds on a fresh store and on FILE (a store
# filled beforehand, e.g. build/bench/fill_store --store FILE --messages 10000000), for target 3b.
# The runs add their messages to FILE.
#
# --p99-at RATE: only the latency at RATE msg/s offered, Keten against RabbitMQ in N (--rounds)
# alternating rounds of 5 s each (the batched-protocol issue's "p99 at 5k msg/s offered"); prints
# each system's median p99 end to end and of its receipts (RabbitMQ: publisher confirms), and
# their ratios, and skips everything else.
#
# Environment: BUILD_DIR (default build), OUT (default bench/results).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
out=${OUT:-$root/bench/results}
rounds=3
messages=10000
size=1024
window=64
backlog=0
large_store=""
windows="1 8 64 256 1024"
rates="1000 2000 5000 10000"
sweep_messages=3000
rate_seconds=2
https_messages=3000
main_only=0
p99_rate=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) rounds=1; messages=3000; sweep_messages=1000; rate_seconds=1; https_messages=800; shift ;;
    --main-only) main_only=1; shift ;;
    --rounds) rounds=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --backlog) backlog=$2; shift 2 ;;
    --large-store) large_store=$2; shift 2 ;;
    --https-messages) https_messages=$2; shift 2 ;;
    --p99-at) p99_rate=$2; shift 2 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

"$root/tools/install-deps.sh" --bench
# Configure every time: a build directory configured before librabbitmq was installed (make build,
# make test) has no rabbit_bench target until CMake looks for the library again.
if [ -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" >/dev/null
else
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
# keten-bench: `keten bench` runs it from beside keten (not part of the production binary).
cmake --build "$build" --target keten keten-bench raw_zmq rabbit_bench intake_cost fill_store fairness
keten=$build/keten
raw=$build/bench/raw_zmq
rabbit=$build/bench/rabbit_bench
intake_cost=$build/bench/intake_cost
fill_store=$build/bench/fill_store

# --- a throwaway RabbitMQ: every file under one temporary folder, its own ports, loopback only ---
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keten-bench-run-XXXXXX")
port_base=$(( 20000 + RANDOM % 20000 ))
rabbit_port=$port_base
export HOME=$tmp RABBITMQ_HOME=/usr/lib/rabbitmq
export RABBITMQ_CONF_ENV_FILE=$tmp/rabbitmq-env.conf RABBITMQ_CONFIG_FILE=$tmp/rabbitmq
export RABBITMQ_ADVANCED_CONFIG_FILE=$tmp/advanced.config RABBITMQ_ENABLED_PLUGINS_FILE=$tmp/enabled_plugins
export RABBITMQ_MNESIA_BASE=$tmp/mnesia RABBITMQ_LOG_BASE=$tmp/log RABBITMQ_PLUGINS_EXPAND_DIR=$tmp/plugins
export RABBITMQ_PID_FILE=$tmp/rabbit.pid RABBITMQ_NODENAME=ketenbench$$@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$rabbit_port
export RABBITMQ_DIST_PORT=$(( port_base + 1 )) ERL_EPMD_PORT=$(( port_base + 2 ))
touch "$tmp/rabbitmq-env.conf"
echo "[]." > "$tmp/enabled_plugins"
echo "[]." > "$tmp/advanced.config"
printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users.guest = true\n' "$rabbit_port" > "$tmp/rabbitmq.conf"
rabbit_pid=""
pg_dir=""
pg_bin=${KETEN_PG_BINDIR:-/usr/lib/postgresql/15/bin}
# PostgreSQL refuses to run as root: as root, the cluster belongs to `nobody`.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }

cleanup() {
  if [ -n "$rabbit_pid" ]; then
    /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 || kill "$rabbit_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$rabbit_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$rabbit_pid" 2>/dev/null || true
  fi
  # the epmd our node started listens on our own ERL_EPMD_PORT: stop that one only
  for p in $(pgrep -x epmd 2>/dev/null || true); do
    if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "ERL_EPMD_PORT=$ERL_EPMD_PORT"; then kill "$p" 2>/dev/null || true; fi
  done
  if [ -n "$pg_dir" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "bench: starting RabbitMQ on 127.0.0.1:$rabbit_port (data in $tmp)"
/usr/lib/rabbitmq/bin/rabbitmq-server > "$tmp/rabbitmq.out" 2>&1 &
rabbit_pid=$!
# await_startup fails at once while the node has not registered with epmd yet: retry until it is up.
started=""
for _ in $(seq 1 60); do
  if timeout 60 /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBITMQ_NODENAME" await_startup > "$tmp/await.out" 2>&1; then
    started=1; break
  fi
  kill -0 "$rabbit_pid" 2>/dev/null || break
  sleep 2
done
if [ -z "$started" ]; then
  cat "$tmp/await.out" >&2
  echo "bench: RabbitMQ did not start:" >&2; tail -20 "$tmp/rabbitmq.out" >&2; exit 1
fi
rabbit_version=$(/usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBITMQ_NODENAME" version 2>/dev/null || echo "?")

# --- a throwaway PostgreSQL for keten-pg: durable settings, loopback only, trust authentication ---
pg_port=$((port_base + 3))  # +1, +2: RabbitMQ's distribution and epmd ports
pg_dir=$(mktemp -d /tmp/keten-bench-pg-XXXXXX)
[ "$(id -u)" = 0 ] && chown nobody "$pg_dir"
echo "bench: starting PostgreSQL on 127.0.0.1:$pg_port (data in $pg_dir)"
as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U keten --auth=trust -E UTF8 > "$pg_dir/initdb.out" 2>&1
as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
  -o "-p $pg_port -k '' -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on" start > /dev/null
# A fresh database for each keten-pg run; its URI. (Called in a command substitution, a subshell:
# the name must not depend on a counter kept in a variable.)
pg_database() {
  local name="bench_$(date +%s%N)"
  "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U keten -d postgres -c "CREATE DATABASE $name" >&2
  echo "postgresql://keten@127.0.0.1:$pg_port/$name?sslmode=disable"
}

mkdir -p "$out"
results=$out/results.jsonl
: > "$results"
# run LABEL SYSTEM ARGS...: one measurement, appended to results.jsonl as {"label":..,"round":..,...}
run() {
  local label=$1 round=$2 system=$3; shift 3
  local line
  case "$system" in
    keten) line=$(TMPDIR=$tmp "$keten" --log-level warn bench --json "$@") || true ;;
    keten-pg) line=$(TMPDIR=$tmp "$keten" --log-level warn bench --json --store "$(pg_database)" "$@" |
                     /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); j["system"]="keten-pg"; print(json.dumps(j))') || true ;;
    raw-zmq) line=$("$raw" --json "$@") || true ;;
    raw-zmq-curve) line=$("$raw" --json --curve "$@") || true ;;
    rabbitmq) line=$("$rabbit" --json --port "$rabbit_port" "$@") || true ;;
    intake-cost) line=$("$intake_cost" --json --contracts "$root/bench/contracts" "$@") || true ;;
    https) line=$(TMPDIR=$tmp /usr/bin/python3 "$root/bench/https_bench.py" --keten "$keten" "$@") || true ;;
    fairness) line=$(TMPDIR=$tmp "$build/bench/fairness" --json --keten "$keten" "$@") || true ;;
    store-cost) rm -f "$tmp/floor.db"*
                line=$("$fill_store" --json --store "$tmp/floor.db" "$@" 2>/dev/null) || true
                rm -f "$tmp/floor.db"* ;;
  esac
  if [ -z "$line" ]; then line="{\"system\":\"$system\",\"error\":\"no output\"}"; fi
  echo "{\"label\":\"$label\",\"round\":$round,\"run\":$line}" >> "$results"
  printf '  %-8s %-14s %s\n' "$label" "$system" "$(echo "$line" | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin)
if "throughput" not in j and "cpu_us_per_message" in j: print("%8.1f us of CPU per message" % j["cpu_us_per_message"])
elif "quiet_flood_p99_us" in j: print("quiet partner receipt p99 %.0f us alone, %.0f us during the flood (%.0f msg/s)" % (j["quiet_alone_p99_us"], j["quiet_flood_p99_us"], j["flood_msg_per_s"]))
elif "https_submit_msg_per_s" in j: print("zeromq %.0f msg/s; https submit %.0f (%.2fx), batch %.0f (%.2fx), deliver %.0f (%.2fx)" % (j["zeromq_msg_per_s"], j["https_submit_msg_per_s"], j["https_submit_ratio_to_zeromq"], j.get("https_submit_batch_msg_per_s", 0), j.get("https_submit_batch_ratio_to_zeromq", 0), j["https_deliver_msg_per_s"], j["https_deliver_ratio_to_zeromq"]))
else: print("%8.0f msg/s  p99 %s us%s" % (j.get("throughput",0), j.get("latency_us",{}).get("p99","?"), ("  ERROR "+j["error"]) if j.get("error") else ""))')"
}

if [ "$p99_rate" -gt 0 ]; then
  n=$(( p99_rate * 5 ))
  echo "bench: p99 at $p99_rate msg/s offered, $rounds alternating rounds of $n x $size bytes, window $window"
  for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then order="keten rabbitmq"; else order="rabbitmq keten"; fi
    for s in $order; do run "p99-at" "$r" "$s" --messages "$n" --size "$size" --window "$window" --rate "$p99_rate"; done
  done
  /usr/bin/python3 - "$results" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
# End to end (submit -> the consumer has it) and submit -> receipt or publisher confirm. Keten
# delivers a message only after its commit is on disk; RabbitMQ hands it to the consumer before
# its fsync and confirms after it, so only the second figure compares equal guarantees.
p99, receipt = {}, {}
for r in runs:
    j = r["run"]
    if "latency_us" in j and not j.get("error"):
        p99.setdefault(j["system"], []).append(j["latency_us"]["p99"])
        if "receipt_us" in j:
            receipt.setdefault(j["system"], []).append(j["receipt_us"]["p99"])
for name, figures in (("p99", p99), ("receipt/confirm p99", receipt)):
    med = {s: statistics.median(v) for s, v in figures.items()}
    for s, v in sorted(figures.items()):
        print("  %-9s %s median %8.0f us  (runs: %s)" % (s, name, med[s], ", ".join("%.0f" % x for x in v)))
    if "keten" in med and "rabbitmq" in med:
        print("  keten / rabbitmq %s: %.2f" % (name, med["keten"] / med["rabbitmq"]))
PY
  exit 0
fi

echo "bench: main comparison, $rounds alternating rounds of $messages x $size bytes, window $window"
for r in $(seq 1 "$rounds"); do
  # Alternate the order so drift of the machine (other load, page cache) hits every system alike.
  if [ $((r % 2)) -eq 1 ]; then order="keten keten-pg rabbitmq raw-zmq raw-zmq-curve"; else order="raw-zmq-curve raw-zmq rabbitmq keten-pg keten"; fi
  for s in $order; do run main "$r" "$s" --messages "$messages" --size "$size" --window "$window"; done
done
if [ "$main_only" = 0 ]; then
# The cost floor: CPU per message of work Keten cannot skip, each part alone on this machine (the
# transport's share comes from the raw-zmq-curve runs above): the intake's work on one Submit, and
# the store's rows for one delivered message (30 per transaction, as the broker's turns at W=64).
echo "bench: cost floor, $rounds rounds"
for r in $(seq 1 "$rounds"); do
  run floor "$r" intake-cost --size "$size" --messages 20000
  run floor "$r" store-cost --messages 30000 --batch 30
done
# The HTTPS API beside ZeroMQ: each round one broker, both measured on it (bench/https_bench.py).
echo "bench: the HTTPS API beside ZeroMQ, $rounds rounds of $https_messages x $size bytes"
for r in $(seq 1 "$rounds"); do
  run https "$r" https --messages "$https_messages" --window 16 --batch 50 --size "$size"
done
# Fairness: a quiet partner's receipts alone and while another partner floods over 16 connections
# (bench/fairness; its own alternating phases on one broker).
echo "bench: fairness under a flood, $rounds rounds"
run fairness 1 fairness --flood-connections 16 --rounds "$rounds" --seconds 4
# One fsync of 1 KiB on the filesystem the bench stores use (target 2's "plus one fsync").
fsync_line=$("$raw" --json --messages 1000 --size "$size" --window 1 --fsync-dir "$tmp" --fsync-count 300)
echo "{\"label\":\"fsync\",\"round\":1,\"run\":$fsync_line}" >> "$results"

echo "bench: throughput vs window ($windows)"
for w in $windows; do
  for s in keten rabbitmq raw-zmq; do
    n=$sweep_messages
    [ "$w" -le 8 ] && [ "$s" != raw-zmq ] && n=$(( sweep_messages / 2 ))
    run "window=$w" 1 "$s" --messages "$n" --size "$size" --window "$w"
  done
done

echo "bench: p99 latency vs offered rate ($rates msg/s), window $window"
for rate in $rates; do
  n=$(( rate * rate_seconds ))
  for s in keten rabbitmq raw-zmq; do
    run "rate=$rate" 1 "$s" --messages "$n" --size "$size" --window "$window" --rate "$rate"
  done
done

fi  # main_only

if [ "$backlog" -gt 0 ]; then
  echo "bench: broker RSS with a backlog of $backlog undelivered messages (no consumer connected)"
  run backlog 1 keten --messages "$backlog" --size "$size" --window "$window" --consumers 0 --timeout 7200
fi

if [ -n "$large_store" ]; then
  held=$(/usr/bin/python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()[0])' "$large_store")
  echo "bench: a fresh store against $large_store ($held messages), $rounds alternating rounds"
  echo "{\"label\":\"large-store\",\"round\":1,\"run\":{\"system\":\"store\",\"messages_held\":$held}}" >> "$results"
  for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then order="empty large"; else order="large empty"; fi
    for which in $order; do
      if [ "$which" = large ]; then
        run store=large "$r" keten --messages "$messages" --size "$size" --window "$window" --store "$large_store"
      else
        run store=empty "$r" keten --messages "$messages" --size "$size" --window "$window"
      fi
    done
  done
fi

echo "bench: summary"
/usr/bin/python3 "$root/bench/summarize.py" "$results" "$out" \
  --machine "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)" \
  --rabbitmq "$rabbit_version" --cores "$(nproc)"
if [ "$main_only" = 0 ] && command -v gnuplot >/dev/null; then
  (cd "$out" && gnuplot "$root/bench/plots.gp")
  echo "bench: plots in $out/throughput_vs_window.png and $out/p99_vs_rate.png"
fi
