#!/usr/bin/env bash
# bench.sh — "aistream bench" against a real Apache Kafka broker (started
# here unless AISTREAM_TEST_KAFKA names one): every processor group on a
# realistic mix beside a plain franz-go client on the same records, hot
# keys, produce-to-output latency, 1/2/3 replica processes and the table
# restore rate. Extra arguments go to "aistream bench" (e.g. --events
# 100000 --hot none --replicas none); BENCH_GO=1 also runs the Go
# benchmarks (handler level, no broker, and the older per-processor ones).
set -euo pipefail
cd "$(dirname "$0")/.."
# "bench.sh loadtest [loadtest flags]": the read API's load benchmark against
# an "aistream dev --demo" this script starts on its own ports and data dir.
if [ "${1:-}" = "loadtest" ]; then
  shift
  dir=$(mktemp -d)
  go build -o "$dir/aistream" ./cmd/aistream
  # The reads authenticate like any client: a token of the load test's
  # tenant, made before dev starts (dev then uses the file as it is).
  token=$(KAFKA_BOOTSTRAP_SERVERS= "$dir/aistream" tokens create --tenant "${LOADTEST_TENANT:-acme-corp}" --name loadtest --token-file "$dir/tokens.json")
  "$dir/aistream" dev --demo --token-file "$dir/tokens.json" --data-dir "$dir/data" --broker-addr 127.0.0.1:${LOADTEST_BROKER_PORT:-29392} \
    --http-addr 127.0.0.1:${LOADTEST_HTTP_PORT:-28380} --log-level warn >"$dir/dev.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
  "$dir/aistream" loadtest --api http://127.0.0.1:${LOADTEST_HTTP_PORT:-28380} --broker 127.0.0.1:${LOADTEST_BROKER_PORT:-29392} \
    --tenant "${LOADTEST_TENANT:-acme-corp}" --token "$token" "$@"
  exit
fi
started=""
if [ -z "${AISTREAM_TEST_KAFKA:-}" ]; then
  scripts/kafka-broker.sh start
  started=1
  export AISTREAM_TEST_KAFKA=127.0.0.1:${KAFKA_PORT:-19092}
fi
cleanup() { if [ -n "$started" ]; then scripts/kafka-broker.sh stop || true; fi; }
trap cleanup EXIT
go build -o bin/aistream ./cmd/aistream
bin/aistream bench --bootstrap-servers "$AISTREAM_TEST_KAFKA" "$@"
if [ -n "${BENCH_GO:-}" ]; then
  go test -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-1x}" -timeout 30m ./... | grep -v '^ok\|no test files'
fi
