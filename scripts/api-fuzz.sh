#!/usr/bin/env bash
# api-fuzz.sh — the property-based API fuzzer (schemathesis, pinned in
# scripts/python-venv.sh) against the built binary's "aistream dev --demo",
# on its own ports and data directory:
#   - no 500 (not_a_server_error), documented statuses, content types and
#     response schemas (views/openapi.yaml);
#   - no cross-tenant data: with tenant A's credentials no body names another
#     tenant or holds one of tenant B's ids (scripts/api_fuzz_hooks.py).
# A bounded run: AISTREAM_FUZZ_EXAMPLES examples per operation (default 60).
#
# Environment (all optional):
#   AISTREAM_PYTHON          venv interpreter with schemathesis (scripts/python-venv.sh)
#   AISTREAM_FUZZ_EXAMPLES   examples per operation (60)
#   AISTREAM_FUZZ_CALLER     tenant whose credentials A's requests carry (A; a
#                            self-test of the cross-tenant check sets B)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[api-fuzz] %s\n' "$*" >&2; }

PY="${AISTREAM_PYTHON:-$PWD/.venv/bin/python}"
ST="$(dirname "$PY")/schemathesis"
[[ -x "$ST" ]] || { log "ERROR: $ST not found; run scripts/python-venv.sh first"; exit 1; }

# The demo's tenants (internal/demo): A is the caller, B the tenant whose
# data A must never see.
TENANT_A=acme-corp
TENANT_B=globex

# api_auth_args TENANT prints, one a line, the curl/schemathesis arguments
# that authenticate as TENANT: the bearer token made for it below
# before dev started. The one place credentials are used.
declare -A TOKEN
api_auth_args() {
	printf '%s\n' -H "Authorization: Bearer ${TOKEN[$1]:?no token made for tenant $1}"
}

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

work="$(mktemp -d)"
pid=""
cleanup() {
	if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

BIN="$work/aistream"
log "building the binary"
go build -o "$BIN" ./cmd/aistream

# Tokens are made with the CLI before dev starts (dev then uses the file as
# it is); stdout of "tokens create" is the token alone.
TOKENS="$work/tokens.json"
for tenant in "$TENANT_A" "$TENANT_B" ${AISTREAM_FUZZ_CALLER:+"$AISTREAM_FUZZ_CALLER"}; do
	TOKEN[$tenant]="$(KAFKA_BOOTSTRAP_SERVERS= "$BIN" tokens create --token-file "$TOKENS" --tenant "$tenant" --name api-fuzz)"
done

HTTP="127.0.0.1:$(free_port)"
BROKER="127.0.0.1:$(free_port)"
BASE="http://$HTTP"
log "starting aistream dev --demo at $BASE (broker $BROKER, data $work/data)"
"$BIN" dev --demo --demo-rate 50 --token-file "$TOKENS" --http-addr "$HTTP" --broker-addr "$BROKER" --data-dir "$work/data" >"$work/dev.log" 2>&1 &
pid=$!

# AISTREAM_FUZZ_CALLER (tenant B, say) sends A's requests with other
# credentials: the run must then fail, which shows the check can.
mapfile -t AUTH_A < <(api_auth_args "${AISTREAM_FUZZ_CALLER:-$TENANT_A}")
mapfile -t AUTH_B < <(api_auth_args "$TENANT_B")

# ids_of AUTH... prints the ids the discovery routes return to the
# credentials given: the tenant's traces and insights.
ids_of() {
	curl -fsS "$@" "$BASE/v1/traces?limit=500" |
		"$PY" -c 'import json,sys; [print(t["trace_id"]) for t in json.load(sys.stdin)["traces"]]'
	curl -fsS "$@" "$BASE/v1/insights?limit=500" |
		"$PY" -c 'import json,sys; [print(i["insight_id"]) for i in json.load(sys.stdin)["insights"]]'
}
ids_of_b() { ids_of "${AUTH_B[@]}"; }

deadline=$((SECONDS + 120))
until curl -fsS -o /dev/null "$BASE/readyz" 2>/dev/null && [[ -n "$(ids_of_b 2>/dev/null)" ]]; do
	if ! kill -0 "$pid" 2>/dev/null; then log "ERROR: aistream dev exited:"; tail -n 30 "$work/dev.log" >&2; exit 1; fi
	if ((SECONDS > deadline)); then log "ERROR: no demo data for $TENANT_B after 120s:"; tail -n 30 "$work/dev.log" >&2; exit 1; fi
	sleep 1
done
ids_of_b >"$work/foreign-ids"
ids_of "${AUTH_A[@]}" >"$work/own-ids"
log "$(wc -l <"$work/foreign-ids") ids of $TENANT_B to probe as $TENANT_A"

log "schemathesis $("$ST" --version | awk '{print $NF}')"
# It runs in the work directory: its example database stays out of the repo.
repo="$PWD"
cd "$work"
AISTREAM_FUZZ_TENANT="$TENANT_A" AISTREAM_FUZZ_FOREIGN_IDS="$work/foreign-ids" AISTREAM_FUZZ_OWN_IDS="$work/own-ids" \
	SCHEMATHESIS_HOOKS=api_fuzz_hooks PYTHONPATH="$repo/scripts" \
	"$ST" run "$repo/views/openapi.yaml" --url "$BASE" "${AUTH_A[@]}" \
	--checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,no_cross_tenant_data \
	--phases examples,coverage,fuzzing \
	--max-examples "${AISTREAM_FUZZ_EXAMPLES:-60}" --seed 1 --workers 2 \
	--request-timeout 10 --no-color
log "passed"
