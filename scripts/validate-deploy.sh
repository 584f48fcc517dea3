#!/usr/bin/env bash
# validate-deploy.sh — offline validation of the deployments (make test runs
# it; Docker and a cluster are not needed):
#   docker-compose.yml  the compose-spec JSON schema (check-jsonschema's vendored
#                       copy) and scripts/deploy_checks.py (env names aistream
#                       reads, commands and flags of the built binary, ports on
#                       127.0.0.1, pinned images, three brokers,
#                       a state volume per processor, Dockerfile user/state dir)
#   deploy/k8s          kustomize build of every overlay, then the Kubernetes
#                       JSON schemas shipped by the PyPI package kubernetes-validate
#                       (strict: unknown fields fail) and deploy_checks.py (the
#                       seed's Secret, probes, requests/limits, PDBs, runAsUser and
#                       fsGroup equal to the Dockerfile's USER)
# and then proves each validation fails on a broken manifest (testdata/deploy,
# docker-compose.yml with a port on all interfaces, the Dockerfile without the
# state directory's ownership).
#
# Tools, pinned, installed on first use under <repo>/.tools (gitignored):
#   check-jsonschema, kubernetes-validate (PyPI, in .tools/venv)
#   kustomize (Go module sigs.k8s.io/kustomize/kustomize/v5, go install)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
TOOLS="$REPO/.tools"
CHECK_JSONSCHEMA_VERSION=0.39.0
KUBERNETES_VALIDATE_VERSION=1.37.0
KUSTOMIZE_VERSION=v5.7.1
K8S_VERSION=1.37.0

log() { printf '[validate-deploy] %s\n' "$*" >&2; }

venv="$TOOLS/venv"
if ! "$venv/bin/python" - 2>/dev/null <<PY
import importlib.metadata as m, sys
sys.exit(m.version("check-jsonschema") != "$CHECK_JSONSCHEMA_VERSION" or m.version("kubernetes-validate") != "$KUBERNETES_VALIDATE_VERSION")
PY
then
	log "installing check-jsonschema==$CHECK_JSONSCHEMA_VERSION kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into $venv"
	python3 -m venv "$venv"
	"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
		"check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
kustomize="$TOOLS/bin/kustomize"
if ! "$kustomize" version 2>/dev/null | grep -qx "$KUSTOMIZE_VERSION"; then
	log "installing kustomize $KUSTOMIZE_VERSION into $TOOLS/bin"
	GOBIN="$TOOLS/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The binary whose commands, flags and rules parser the manifests must match.
export AISTREAM_BIN="$tmp/aistream"
go build -o "$AISTREAM_BIN" ./cmd/aistream

# compose FILE: schema, then the project's checks.
compose() {
	"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$1" &&
		"$venv/bin/python" scripts/deploy_checks.py compose "$1"
}
# k8s DIR: render, schema (strict), then the project's checks.
k8s() {
	local out="$tmp/$(echo "$1" | tr / _).yaml"
	"$kustomize" build "$1" >"$out" &&
		"$venv/bin/kubernetes-validate" --strict --quiet --no-warn -k "$K8S_VERSION" "$out" &&
		"$venv/bin/python" scripts/deploy_checks.py k8s "$out"
}
# must_fail WANT CMD...: CMD fails and says WANT.
fails=0
must_fail() {
	local want="$1"; shift
	if "$@" >"$tmp/out" 2>&1; then
		log "FAIL: '$*' passed a broken manifest"; fails=1
	elif ! grep -q -- "$want" "$tmp/out"; then
		log "FAIL: '$*' failed without saying '$want':"; cat "$tmp/out" >&2; fails=1
	else
		log "ok: rejected as expected: $(grep -m1 -- "$want" "$tmp/out")"
	fi
}

log "docker-compose.yml"
compose docker-compose.yml
for overlay in deploy/k8s/overlays/*/; do
	log "kustomize build ${overlay%/} (Kubernetes $K8S_VERSION schemas, strict)"
	k8s "${overlay%/}"
done

log "deploy/k8s/base/rules.json (the agent-quality rules parser, offline)"
"$AISTREAM_BIN" topics list --quality-rules deploy/k8s/base/rules.json >/dev/null 2>"$tmp/rules.err" || { cat "$tmp/rules.err" >&2; exit 1; }

log "broken manifests must fail"
must_fail "is not valid under any of the given schemas\|is not of type\|Failed validating" compose testdata/deploy/compose-wrong-type.yml
sed 's/"127.0.0.1:8080:8080"/"8080:8080"/' docker-compose.yml >"$tmp/docker-compose.yml"
cmp -s docker-compose.yml "$tmp/docker-compose.yml" && { log "FAIL: the public-port fixture did not change docker-compose.yml"; fails=1; }
must_fail "published on all interfaces" compose "$tmp/docker-compose.yml"
must_fail "containerPort: '8080' is not of type 'integer'" k8s testdata/deploy/k8s-wrong-type
must_fail "kafka-credentials/password" k8s testdata/deploy/k8s-wrong-secret
must_fail "differ from the Dockerfile's USER" k8s testdata/deploy/k8s-wrong-secret
sed 's/--chown=[0-9:]* //' Dockerfile >"$tmp/Dockerfile"
cmp -s Dockerfile "$tmp/Dockerfile" && { log "FAIL: the Dockerfile fixture did not change the Dockerfile"; fails=1; }
AISTREAM_DOCKERFILE="$tmp/Dockerfile" must_fail "the non-root user cannot write its state" compose docker-compose.yml
sed 's/"--views=false"/"--views=false", "--no-such-flag"/' docker-compose.yml >"$tmp/docker-compose.yml"
must_fail "has no flag --no-such-flag" compose "$tmp/docker-compose.yml"
exit "$fails"
