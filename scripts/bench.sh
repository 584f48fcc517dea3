#!/usr/bin/env bash
# bench.sh — the project's benchmarks against a real Apache Kafka broker
# (started here unless AISTREAM_TEST_KAFKA names one). Each prints its
# figure beside a plain franz-go client doing the same I/O in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
started=""
if [ -z "${AISTREAM_TEST_KAFKA:-}" ]; then
  scripts/kafka-broker.sh start
  started=1
  export AISTREAM_TEST_KAFKA=127.0.0.1:${KAFKA_PORT:-19092}
fi
cleanup() { if [ -n "$started" ]; then scripts/kafka-broker.sh stop || true; fi; }
trap cleanup EXIT
go test -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-1x}" -timeout 30m ./... | grep -v '^ok\|no test files'
