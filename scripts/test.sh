#!/usr/bin/env bash
# test.sh — every test of the project, on a fresh machine with Go, Java 17,
# Maven, Python 3 and openssl:
#   1. formatting and go vet; the deployments validated offline;
#   2. every Go test with the race detector against a real Apache Kafka broker
#      (scripts/kafka-broker.sh starts one unless AISTREAM_TEST_KAFKA names one,
#      with SASL_SSL/SCRAM and mutual-TLS listeners for the TestSecure* tests),
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

step "deployments: docker-compose.yml and deploy/k8s, offline (scripts/validate-deploy.sh)"
scripts/validate-deploy.sh

step "python environment (aiokafka, the AI Service's client)"
scripts/python-venv.sh
export AISTREAM_REQUIRE_PYTHON=1

started=""
if [ -z "${AISTREAM_TEST_KAFKA:-}" ]; then
  step "real Apache Kafka broker (PLAINTEXT, plus SASL_SSL/SCRAM and mutual TLS)"
  # One broker for every test: --secure adds the secured listeners next to
  # PLAINTEXT (cheaper than a second JVM); their settings (CA, client
  # certificate, random SCRAM password) are in a 0600 file under its data dir.
  broker_out=$(scripts/kafka-broker.sh start --secure)
  printf '%s\n' "$broker_out"
  started=1
  export AISTREAM_TEST_KAFKA=127.0.0.1:${KAFKA_PORT:-19092}
  secure_env=$(sed -n 's/^KAFKA_SECURE_ENV=//p' <<<"$broker_out")
  set -a
  # shellcheck disable=SC1090
  . "$secure_env"
  set +a
  # The secured tests (cmd/aistream TestSecure*) fail instead of skipping.
  export AISTREAM_REQUIRE_SECURE=1
fi
cleanup() { if [ -n "$started" ]; then scripts/kafka-broker.sh stop || true; fi; }
trap cleanup EXIT

step "go test -race ./... against the real broker at $AISTREAM_TEST_KAFKA"
go test -race -count=1 -timeout 30m ./...

step "integration tests against the embedded broker (kfake)"
AISTREAM_TEST_KAFKA= go test -count=1 -timeout 20m -run 'Integration' ./...

step "API fuzzer (schemathesis) against aistream dev --demo"
scripts/api-fuzz.sh
