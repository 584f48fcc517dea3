#!/usr/bin/env bash
# python-venv.sh — create the Python virtualenv the cross-language integration
# tests use (aiokafka, as the AI Service's KafkaEventProducer/Consumer do) and
# the API fuzzer scripts/api-fuzz.sh runs (schemathesis).
#
# Idempotent: an existing venv with the pinned versions is left as it is.
#
# Environment (all optional):
#   AISTREAM_VENV     venv directory           (<repo>/.venv)
#   PYTHON            interpreter to build it  (python3)
#   AIOKAFKA_VERSION  aiokafka release to pin  (0.14.0)
#   SCHEMATHESIS_VERSION  schemathesis release to pin (4.32.5)
#
# The Go tests find the interpreter at $AISTREAM_PYTHON, else <repo>/.venv/bin/python.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AISTREAM_VENV:-$REPO/.venv}"
PYTHON="${PYTHON:-python3}"
AIOKAFKA_VERSION="${AIOKAFKA_VERSION:-0.14.0}"
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"

log() { printf '[python-venv] %s\n' "$*" >&2; }

command -v "$PYTHON" >/dev/null || { log "ERROR: $PYTHON not found; install Python 3.10+ or set PYTHON"; exit 1; }

if [[ -x "$VENV/bin/python" ]] &&
	"$VENV/bin/python" -c "import aiokafka, sys; sys.exit(aiokafka.__version__ != '$AIOKAFKA_VERSION')" 2>/dev/null &&
	"$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$SCHEMATHESIS_VERSION')" 2>/dev/null; then
	log "$VENV ready (aiokafka $AIOKAFKA_VERSION, schemathesis $SCHEMATHESIS_VERSION)"
	echo "AISTREAM_PYTHON=$VENV/bin/python"
	exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
	log "creating $VENV with $("$PYTHON" --version 2>&1)"
	"$PYTHON" -m venv "$VENV"
fi
log "installing aiokafka==$AIOKAFKA_VERSION schemathesis==$SCHEMATHESIS_VERSION"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "aiokafka==$AIOKAFKA_VERSION" "schemathesis==$SCHEMATHESIS_VERSION"
"$VENV/bin/python" -c "import aiokafka; print('aiokafka', aiokafka.__version__)" >&2
echo "AISTREAM_PYTHON=$VENV/bin/python"
