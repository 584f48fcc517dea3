"""deploy_checks.py — the project's own checks of docker-compose.yml, the
Dockerfile and the rendered Kubernetes manifests, beyond their JSON schemas
(scripts/validate-deploy.sh runs it with the tools venv's Python).

  deploy_checks.py compose FILE      commands and flags, env names, 127.0.0.1 ports, pinned images,
                                     three brokers, processors' own state volumes
  deploy_checks.py k8s RENDERED.yaml args, secrets as the seed shows, probes, requests,
                                     non-root user and fsGroup of the Dockerfile

Exit status 1 with one line per problem. The facts compared come from their
own source: env names from internal/config, commands and flags from the
built binary's -h (AISTREAM_BIN), the user and state directory
from the Dockerfile (AISTREAM_DOCKERFILE names another, for the tests).
"""
import os
import pathlib
import re
import subprocess
import sys

from ruamel.yaml import YAML

REPO = pathlib.Path(__file__).resolve().parent.parent


def known_env():
    """Every environment variable internal/config reads."""
    names = set()
    for f in (REPO / "internal" / "config").glob("*.go"):
        if f.name.endswith("_test.go"):
            continue
        names.update(re.findall(r'"((?:KAFKA|AISTREAM)_[A-Z0-9_]+)"', f.read_text()))
    if not names:
        sys.exit("deploy_checks: found no environment variable names in internal/config")
    return names


_flags = {}


def check_argv(where, argv):
    """Problems of an aistream command line: its subcommand and every flag
    must be the built binary's (AISTREAM_BIN, from its -h)."""
    binp = os.environ.get("AISTREAM_BIN")
    if not binp or not argv:
        return [] if binp else ["deploy_checks: set AISTREAM_BIN to the built aistream binary"]
    sub = tuple(argv[:2] if argv[0] in ("topics", "tokens", "dead-letters") else argv[:1])
    if sub not in _flags:
        r = subprocess.run([binp, *sub, "-h"], capture_output=True, text=True)
        out = r.stdout + r.stderr
        found = set(re.findall(r"(?m)^  -([a-z0-9-]+)", out))
        _flags[sub] = found if "Usage of aistream" in out or (r.returncode in (0, 2) and found and "unknown command" not in out) else None
    flags = _flags[sub]
    if flags is None:
        return [f"{where}: aistream has no command {' '.join(sub)!r}"]
    return [f"{where}: aistream {' '.join(sub)} has no flag {a}"
            for a in argv[len(sub):] if a.startswith("-") and a.lstrip("-").split("=")[0] not in flags]


def dockerfile():
    """uid, gid and state directory of the Dockerfile's final stage, and a
    problem list (the state directory must be owned by that user)."""
    text = pathlib.Path(os.environ.get("AISTREAM_DOCKERFILE", REPO / "Dockerfile")).read_text()
    final = re.split(r"(?m)^FROM\s", text)[-1]
    problems = []
    m = re.search(r"(?m)^USER\s+(\d+):(\d+)\s*$", final)
    if not m:
        return None, None, None, ["Dockerfile: the final stage needs USER uid:gid (numeric, so runAsNonRoot can verify it)"]
    uid, gid = int(m.group(1)), int(m.group(2))
    s = re.search(r"AISTREAM_STATE_DIR=(\S+)", final)
    if not s:
        return uid, gid, None, ["Dockerfile: the final stage sets no AISTREAM_STATE_DIR"]
    state = s.group(1)
    owned = re.search(r"(?m)^COPY\s+.*--chown=%d:%d\s+\S+\s+%s/?\s*$" % (uid, gid, re.escape(state)), final)
    if not owned:
        problems.append(f"Dockerfile: {state} is not created owned by {uid}:{gid} (COPY --chown={uid}:{gid} ... {state}); the non-root user cannot write its state")
    return uid, gid, state, problems


def load_all(path):
    yaml = YAML(typ="safe")
    with open(path) as fh:
        return [d for d in yaml.load_all(fh) if d]


def check_compose(path):
    problems = []
    env_names = known_env()
    uid, gid, state, dp = dockerfile()
    problems += dp
    (doc,) = load_all(path)
    services = doc.get("services") or {}
    brokers, processors = 0, []
    for name, svc in services.items():
        image = svc.get("image")
        if image is not None and (":" not in image or image.endswith(":latest")):
            problems.append(f"{path}: service {name}: image {image} is not pinned to a tag")
        for p in svc.get("ports") or []:
            host_ip = p.get("host_ip") if isinstance(p, dict) else None
            if host_ip is None and not isinstance(p, dict):
                host_ip = str(p).split(":")[0] if str(p).count(":") == 2 else None
            if host_ip != "127.0.0.1":
                problems.append(f"{path}: service {name}: port {p} is published on all interfaces; bind it to 127.0.0.1")
        if image and image.startswith("apache/kafka:") and "kafka-node.sh" in " ".join(svc.get("entrypoint") or []):
            brokers += 1
        if "build" not in svc:
            continue
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
        for k in env:
            if k not in env_names:
                problems.append(f"{path}: service {name}: environment {k} is not read by aistream (internal/config)")
        cmd = svc.get("command") or []
        problems += check_argv(f"{path}: service {name}", cmd)
        if "--views=false" in cmd:
            vols = [v for v in svc.get("volumes") or [] if isinstance(v, str) and v.split(":")[1:2] == [state]]
            if not vols:
                problems.append(f"{path}: processor {name} has no volume at the state directory {state}")
            processors += [v.split(":")[0] for v in vols]
    if brokers < 3:
        problems.append(f"{path}: {brokers} Kafka broker(s); replication 3 needs three")
    if len(processors) < 2:
        problems.append(f"{path}: {len(processors)} processor replica(s) with a state volume; want two")
    if len(set(processors)) != len(processors):
        problems.append(f"{path}: processors share a state volume ({processors}); each needs its own")
    return problems


SEED_SECRETS = {"KAFKA_SASL_USERNAME": "username", "KAFKA_SASL_PASSWORD": "password"}


def check_k8s(path):
    problems = []
    env_names = known_env()
    uid, gid, state, dp = dockerfile()
    problems += dp
    docs = load_all(path)
    configmaps = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d.get("kind") == "ConfigMap"}
    pdbs = [d for d in docs if d.get("kind") == "PodDisruptionBudget"]
    workloads = [d for d in docs if d.get("kind") in ("Deployment", "StatefulSet")]
    if not any(w["kind"] == "StatefulSet" for w in workloads) or not any(w["kind"] == "Deployment" for w in workloads):
        problems.append(f"{path}: want a processors StatefulSet and an API Deployment")
    for w in workloads:
        where = f"{path}: {w['kind']}/{w['metadata']['name']}"
        spec = w["spec"]
        pod = spec["template"]["spec"]
        sc = pod.get("securityContext") or {}
        if sc.get("runAsNonRoot") is not True:
            problems.append(f"{where}: securityContext.runAsNonRoot must be true")
        if sc.get("runAsUser") != uid or sc.get("fsGroup") != gid:
            problems.append(f"{where}: runAsUser/fsGroup {sc.get('runAsUser')}/{sc.get('fsGroup')} differ from the Dockerfile's USER {uid}:{gid}")
        labels = spec["template"]["metadata"].get("labels") or {}
        if any(labels.get(k) != v for k, v in spec["selector"].get("matchLabels", {}).items()):
            problems.append(f"{where}: selector {spec['selector']} does not match the pod labels {labels}")
        if not any(all(labels.get(k) == v for k, v in p["spec"]["selector"].get("matchLabels", {}).items()) for p in pdbs):
            problems.append(f"{where}: no PodDisruptionBudget selects its pods")
        if w["kind"] == "StatefulSet":
            if spec.get("podManagementPolicy") != "Parallel":
                problems.append(f"{where}: podManagementPolicy must be Parallel")
            claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates") or []}
        else:
            claims = set()
        for c in pod["containers"]:
            cw = f"{where} container {c['name']}"
            problems += check_argv(cw, c.get("args") or [])
            names = set()
            for ef in c.get("envFrom") or []:
                ref = (ef.get("configMapRef") or {}).get("name")
                if ref not in configmaps:
                    problems.append(f"{cw}: envFrom ConfigMap {ref} is not in the manifests")
                names.update(configmaps.get(ref, {}))
            secret_refs = {}
            for e in c.get("env") or []:
                names.add(e["name"])
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    secret_refs[e["name"]] = (ref.get("name"), ref.get("key"))
            for n in sorted(names - env_names):
                problems.append(f"{cw}: environment {n} is not read by aistream (internal/config)")
            for n, key in SEED_SECRETS.items():
                if secret_refs.get(n) != ("kafka-credentials", key):
                    problems.append(f"{cw}: {n} must come from secretKeyRef kafka-credentials/{key} (the seed's Secret)")
            for probe, want in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                got = ((c.get(probe) or {}).get("httpGet") or {}).get("path")
                if got != want:
                    problems.append(f"{cw}: {probe} must GET {want}, has {got}")
            req = (c.get("resources") or {}).get("requests") or {}
            if "cpu" not in req or "memory" not in req:
                problems.append(f"{cw}: resources.requests needs cpu and memory")
            if "memory" not in ((c.get("resources") or {}).get("limits") or {}):
                problems.append(f"{cw}: resources.limits needs memory")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
            if state not in mounts:
                problems.append(f"{cw}: no volume at the state directory {state}")
            elif w["kind"] == "StatefulSet" and mounts[state] not in claims:
                problems.append(f"{cw}: the state directory is not on a volumeClaimTemplate")
    templates = [w["spec"]["template"]["metadata"].get("labels") or {} for w in workloads]
    for svc in (d for d in docs if d.get("kind") == "Service"):
        sel = svc["spec"].get("selector") or {}
        if not any(all(l.get(k) == v for k, v in sel.items()) for l in templates):
            problems.append(f"{path}: Service/{svc['metadata']['name']}: selector {sel} matches no pods")
    return problems


def main(argv):
    if len(argv) != 3 or argv[1] not in ("compose", "k8s"):
        sys.exit(__doc__)
    problems = (check_compose if argv[1] == "compose" else check_k8s)(argv[2])
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
