#!/usr/bin/env bash
# test.sh — every test of the project, on a fresh machine with Go, Java 17,
# Maven and Python 3:
#   1. formatting and go vet;
#   2. every Go test with the race detector against a real Apache Kafka broker
#      (scripts/kafka-broker.sh starts one unless AISTREAM_TEST_KAFKA names one),
#      the Python (aiokafka) interop test included;
#   3. the integration tests again against the embedded broker (kfake), which
#      must pass the same way;
#   4. the property-based API fuzzer (schemathesis) against the built binary's
#      "aistream dev --demo" (scripts/api-fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...

step "python environment (aiokafka, the AI Service's client)"
scripts/python-venv.sh
export AISTREAM_REQUIRE_PYTHON=1

started=""
if [ -z "${AISTREAM_TEST_KAFKA:-}" ]; then
  step "real Apache Kafka broker"
  scripts/kafka-broker.sh start
  started=1
  export AISTREAM_TEST_KAFKA=127.0.0.1:${KAFKA_PORT:-19092}
fi
cleanup() { if [ -n "$started" ]; then scripts/kafka-broker.sh stop || true; fi; }
trap cleanup EXIT

step "go test -race ./... against the real broker at $AISTREAM_TEST_KAFKA"
go test -race -count=1 -timeout 30m ./...

step "integration tests against the embedded broker (kfake)"
AISTREAM_TEST_KAFKA= go test -count=1 -timeout 20m -run 'Integration' ./...

step "API fuzzer (schemathesis) against aistream dev --demo"
scripts/api-fuzz.sh
