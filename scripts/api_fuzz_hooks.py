"""Schemathesis hooks of scripts/api-fuzz.sh: no cross-tenant data.

The fuzzer runs with tenant A's credentials. Its path parameters are now and
then replaced by ids that exist only in tenant B (AISTREAM_FUZZ_FOREIGN_IDS,
a file of one id a line, gathered with B's credentials before the run), and
the check no_cross_tenant_data fails any response whose body names another
tenant or holds one of B's ids.
"""

import json
import os

import schemathesis
from hypothesis import strategies as st

TENANT = os.environ["AISTREAM_FUZZ_TENANT"]


def _ids(var):
    with open(os.environ[var], encoding="utf-8") as f:
        return sorted({line.strip() for line in f if line.strip()})


FOREIGN = _ids("AISTREAM_FUZZ_FOREIGN_IDS")
# A's own ids let the fuzzer reach the routes' data, not only their 404s.
OWN = sorted(set(_ids("AISTREAM_FUZZ_OWN_IDS")) - set(FOREIGN))

# Path parameters that name a tenant's entity, and which of B's ids fit them.
ID_PARAMS = {"trace_id": "trace", "response_id": "resp", "agent": "", "dataset": "", "other": ""}


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    """Sometimes ask for one of tenant B's ids, or one of A's, instead of a
    generated one."""
    names = [n for n in (path_parameters or {}) if n in ID_PARAMS]
    if not names or not FOREIGN:
        return st.just(path_parameters)
    choices = [st.just(path_parameters)]
    for ids in (FOREIGN, OWN):
        if ids:
            choices.append(st.sampled_from(ids).flatmap(
                lambda i: st.sampled_from(names).map(lambda n: {**path_parameters, n: i})))
    return st.one_of(*choices)


def _walk(v, path="$"):
    if isinstance(v, dict):
        for k, e in v.items():
            yield from _walk(e, f"{path}.{k}")
            if k == "tenant_id" and isinstance(e, str):
                yield path, "tenant_id", e
    elif isinstance(v, list):
        for i, e in enumerate(v):
            yield from _walk(e, f"{path}[{i}]")
    elif isinstance(v, str):
        yield path, "string", v


@schemathesis.check
def no_cross_tenant_data(ctx, response, case):
    """A response to tenant A never names another tenant nor holds B's ids."""
    if not response.headers.get("content-type", [""])[0].startswith("application/json"):
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    foreign = set(FOREIGN)
    for path, kind, value in _walk(body):
        if kind == "tenant_id" and value != TENANT:
            raise AssertionError(f"{path}.tenant_id is {value!r}, the caller is tenant {TENANT!r}")
        if kind == "string" and value in foreign:
            raise AssertionError(f"{path} holds {value!r}, an id of another tenant")
    return None
