#!/usr/bin/env bash
# Offline checks of skein's deployment files (`make deploy-check`, part of `make test`):
#   - helm/skein: `helm lint --strict` and `helm template` with the default values and with
#     helm/skein/ci/production-values.yaml; every rendered document is validated against the
#     Kubernetes JSON schemas shipped by kubernetes-validate (strict: unknown fields are
#     errors), custom resources (monitoring.coreos.com) against the openAPIV3Schema of their
#     real CRDs, and anything without a schema is an error, never a silent pass;
#   - docker-compose.yml against the Compose specification's JSON schema (+ references
#     between services, networks, volumes, configs and secrets);
#   - negative tests proving each validator can fail: a corrupted Deployment, ingester
#     replicas above the partition count, an unknown kind, a corrupted ServiceMonitor and a
#     corrupted docker-compose.yml must all be rejected.
# Set-up, idempotent and cached under $SKEIN_CACHE_DIR (default ~/.cache/skein):
#   - helm, `go install`ed from the Go module proxy into $SKEIN_CACHE_DIR/bin;
#   - a venv $SKEIN_CACHE_DIR/venv-deploy with scripts/deploy/requirements.txt;
#   - schemas from pinned Go modules (compose-go's compose-spec.json, prometheus-operator's
#     CRDs), checksum-pinned, in $SKEIN_CACHE_DIR/deploy-schemas.
# A warm run only compares stamps, then runs the checks (a few seconds).
#
#   scripts/deploy/check.sh [check]   set up, then run every check (default)
#   scripts/deploy/check.sh setup     only the set-up
#
# Knobs: SKEIN_CACHE_DIR, SKEIN_PYTHON (default python3), SKEIN_DEPLOY_FORCE=1 (redo the
#        set-up), SKEIN_KUBE_VERSIONS (render with --kube-version and validate against
#        each; the last one also for lint and the negative tests; default: the oldest
#        version Chart.yaml's kubeVersion admits, and 1.37),
#        SKEIN_DEPLOY_CHART, SKEIN_DEPLOY_PROD_VALUES and
#        SKEIN_DEPLOY_COMPOSE (check other files), GOPROXY/GOMODCACHE as usual.
# Exit status: 0 when every check passed, 1 otherwise (the work directory with the rendered
# manifests and every log is then kept and printed).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/scripts/deploy"
REQS="$HERE/requirements.txt"
CHART="${SKEIN_DEPLOY_CHART:-$REPO/helm/skein}"
PROD_VALUES="${SKEIN_DEPLOY_PROD_VALUES:-$CHART/ci/production-values.yaml}"
COMPOSE_FILE="${SKEIN_DEPLOY_COMPOSE:-$REPO/docker-compose.yml}"
SKEIN_CACHE_DIR="${SKEIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skein}"
PYTHON="${SKEIN_PYTHON:-python3}"
FORCE="${SKEIN_DEPLOY_FORCE:-0}"
# Kubernetes versions to render for and validate against: the oldest the chart claims
# (Chart.yaml kubeVersion ">=1.N", not below 1.25, the oldest kubernetes-validate ships;
# 1.31 when it claims none) and the newest kubernetes-validate ships (= helm's client-go).
KUBE_NEWEST=1.37
kube_floor() {
  local n
  n="$(sed -nE 's/^kubeVersion:[[:space:]]*["'\'']?[[:space:]]*>=?[[:space:]]*v?1\.([0-9]+).*/\1/p' "$CHART/Chart.yaml" 2>/dev/null | head -n1)"
  if [[ -z "$n" ]]; then echo 1.31
  elif (( n < 25 )); then echo 1.25
  elif (( n > ${KUBE_NEWEST#1.} )); then echo "$KUBE_NEWEST"
  else echo "1.$n"; fi
}
if [[ -n "${SKEIN_KUBE_VERSIONS:-}" ]]; then
  read -r -a KUBE_VERSIONS <<<"$SKEIN_KUBE_VERSIONS"
elif [[ "$(kube_floor)" == "$KUBE_NEWEST" ]]; then
  KUBE_VERSIONS=("$KUBE_NEWEST")
else
  KUBE_VERSIONS=("$(kube_floor)" "$KUBE_NEWEST")
fi

# ---- pins ----------------------------------------------------------------------------
# helm v3.22.0: go.mod says go 1.26.0, built with client-go v0.37 (Kubernetes 1.37).
HELM_VERSION=v3.22.0
HELM_MODULE=helm.sh/helm/v3
# The Compose specification's schema, as embedded by docker compose (compose-go).
COMPOSE_GO_MODULE=github.com/compose-spec/compose-go/v2
COMPOSE_GO_VERSION=v2.16.2
COMPOSE_GO_SUM='h1:pTp1DqQwJzFd85GzlWsSszKA1ABrV/ySqsClujIcWA8='
# The CRDs of the prometheus-operator (ServiceMonitor, PodMonitor, PrometheusRule, Probe).
PROMOP_MODULE=github.com/prometheus-operator/prometheus-operator
PROMOP_VERSION=v0.85.0
PROMOP_SUM='h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s='
PROMOP_CRDS=(servicemonitors podmonitors prometheusrules probes)

BIN_DIR="$SKEIN_CACHE_DIR/bin"
HELM="$BIN_DIR/helm"
VENV="$SKEIN_CACHE_DIR/venv-deploy"
SCHEMA_DIR="$SKEIN_CACHE_DIR/deploy-schemas"
RELEASE=skein
NAMESPACE=skein

LOG_TAG="skein-deploy"
LOCK_NAME=deploy
# shellcheck source=scripts/lib/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/setup.sh"

# ---- the Python half: validators, CRD conversion, corruptions for the negative tests ----
PY_TOOL="$(cat <<'PY'
import argparse, collections, copy, functools, json, os, sys
import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ComposeLoader(Loader):
    """Safe YAML loader that also accepts Compose's !reset and !override tags."""


def _tagged(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


ComposeLoader.add_multi_constructor("!reset", _tagged)
ComposeLoader.add_multi_constructor("!override", _tagged)


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.load_all(f, Loader=Loader) if d is not None]


def dump_all(docs, path):
    with open(path, "w") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)


def jpath(parts):
    return ".".join(str(p) for p in parts) or "(document root)"


# ---- CRD openAPIV3Schema -> JSON schema (what the API server enforces, as far as JSON
#      schema can say it: CEL x-kubernetes-validations are not evaluated) ----
def crd_to_jsonschema(node, strict=True):
    if isinstance(node, list):
        return [crd_to_jsonschema(x, strict) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k in ("description", "example", "externalDocs", "x-kubernetes-validations"):
            continue
        if k in ("properties", "patternProperties", "definitions"):
            out[k] = {pk: crd_to_jsonschema(pv, strict) for pk, pv in v.items()}
        elif k in ("items", "additionalProperties", "not") and isinstance(v, dict):
            out[k] = crd_to_jsonschema(v, strict)
        elif k in ("allOf", "anyOf", "oneOf"):
            out[k] = [crd_to_jsonschema(x, strict) for x in v]
        elif k.startswith("x-kubernetes-") or k == "nullable":
            continue
        else:
            out[k] = v
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    if (strict and "properties" in out and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def cmd_crds(a):
    os.makedirs(a.out, exist_ok=True)
    index = {}
    for path in a.files:
        for crd in load_all(path):
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for v in crd["spec"]["versions"]:
                if not v.get("served", True):
                    continue
                schema = crd_to_jsonschema(v["schema"]["openAPIV3Schema"])
                schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
                props = schema.setdefault("properties", {})
                props["apiVersion"] = {"const": f"{group}/{v['name']}"}
                props["kind"] = {"const": kind}
                schema.setdefault("required", [])
                for r in ("apiVersion", "kind", "metadata"):
                    if r not in schema["required"]:
                        schema["required"].append(r)
                name = f"{group}_{v['name']}_{kind}.json".lower()
                with open(os.path.join(a.out, name), "w") as f:
                    json.dump(schema, f)
                index[f"{group}/{v['name']}|{kind}"] = {
                    "file": name, "source": f"{a.source} {os.path.basename(path)}"}
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
    print(f"{len(index)} custom resource schemas: {', '.join(sorted(index))}")


def strip_nulls(x):
    # The API server prunes null fields of custom resources (structural schemas).
    if isinstance(x, dict):
        return {k: strip_nulls(v) for k, v in x.items() if v is not None}
    if isinstance(x, list):
        return [strip_nulls(v) for v in x]
    return x


# ---- what the API server checks beyond the OpenAPI schema (the usual chart bugs) ----
import re
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
IANA_SVC_NAME = re.compile(r"^[-a-z0-9]+$")
POD_SPEC = {"Deployment": ("spec", "template"), "StatefulSet": ("spec", "template"),
            "DaemonSet": ("spec", "template"), "ReplicaSet": ("spec", "template"),
            "Job": ("spec", "template"), "CronJob": ("spec", "jobTemplate", "spec", "template")}


def dig(x, *keys):
    for k in keys:
        if not isinstance(x, dict):
            return None
        x = x.get(k)
    return x


def label_problems(labels, where):
    out = []
    for k, v in (labels or {}).items() if isinstance(labels, dict) else []:
        prefix, _, name = str(k).rpartition("/")
        if (prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix))) \
                or len(name) > 63 or not LABEL_NAME.match(name):
            out.append(f"{where}: invalid label key {k!r}")
        if v is not None and (not isinstance(v, str) or len(v) > 63
                              or (v and not LABEL_NAME.match(v))):
            out.append(f"{where}: invalid label value {k}={v!r} (at most 63 characters [A-Za-z0-9_.-], "
                       "alphanumeric at both ends)")
    return out


def semantic_problems(doc):
    kind, md, out = doc["kind"], doc["metadata"], []
    name = md["name"]
    if len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        out.append(f"metadata.name {name!r} is not a DNS-1123 subdomain")
    if kind == "Service" and (len(name) > 63 or not DNS1035_LABEL.match(name)):
        out.append(f"Service name {name!r} must be a DNS-1035 label (at most 63 characters, a letter first)")
    out += label_problems(md.get("labels"), "metadata.labels")
    if kind in POD_SPEC:
        tmpl = dig(doc, *POD_SPEC[kind])
        tlabels = dig(tmpl, "metadata", "labels") or {}
        out += label_problems(tlabels, "pod template labels")
        sel = dig(doc, "spec", "selector", "matchLabels")
        if kind != "Job" and kind != "CronJob" and isinstance(sel, dict):
            out += label_problems(sel, "spec.selector.matchLabels")
            for k, v in sel.items():
                if tlabels.get(k) != v:
                    out.append(f"spec.selector.matchLabels {k}={v!r} does not match the pod template labels "
                               f"(the API server refuses a selector that does not select its own pods)")
        pod = dig(tmpl, "spec") or {}
        for ckey in ("initContainers", "containers"):
            for c in pod.get(ckey) or []:
                cname = c.get("name", "")
                if len(cname) > 63 or not DNS1123_LABEL.match(cname):
                    out.append(f"{ckey} name {cname!r} is not a DNS-1123 label")
                for p in c.get("ports") or []:
                    pn = p.get("name")
                    if pn is not None and (len(pn) > 15 or not IANA_SVC_NAME.match(pn)
                                           or not re.search("[a-z]", pn) or pn.startswith("-")
                                           or pn.endswith("-") or "--" in pn):
                        out.append(f"{ckey} {cname}: port name {pn!r} must be at most 15 characters "
                                   "[a-z0-9-] with a letter (IANA_SVC_NAME)")
    if kind == "Service":
        for p in dig(doc, "spec", "ports") or []:
            pn = p.get("name")
            if pn is not None and (len(pn) > 63 or not DNS1123_LABEL.match(pn)):
                out.append(f"Service port name {pn!r} is not a DNS-1123 label")
        out += label_problems(dig(doc, "spec", "selector"), "spec.selector")
    return out


def cmd_k8s(a):
    import jsonschema
    from kubernetes_validate import utils as kv
    # Parse each schema file once per run, not once per document.
    kv.schema_contents = functools.lru_cache(maxsize=None)(kv.schema_contents)
    with open(os.path.join(a.crd_dir, "index.json")) as f:
        crd_index = json.load(f)
    crd_validators = {}

    def crd_validator(key):
        if key not in crd_validators:
            with open(os.path.join(a.crd_dir, crd_index[key]["file"])) as f:
                schema = json.load(f)
            crd_validators[key] = jsonschema.Draft202012Validator(schema)
        return crd_validators[key]

    def all_errors(doc, err):
        # What kubernetes_validate.utils.validate does (schema file per kind and apiVersion in
        # the v<version>-local-strict directory + _definitions.json), with iter_errors.
        try:
            from referencing import Registry, Resource
            import re as _re
            api = _re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", doc["apiVersion"])
            sdir = f"kubernetes-json-schema/v{err.version}.0-local-strict"
            schema = kv.schema_contents(f"{sdir}/{doc['kind'].lower()}-{api}.json", a.kube_version)
            defs = kv.schema_contents(f"{sdir}/_definitions.json", a.kube_version)
            registry = Resource.from_contents(defs) @ (Resource.from_contents(schema) @ Registry())
            v = jsonschema.Draft202012Validator(schema, registry=registry)
            return [(e.absolute_path, e.message)
                    for e in sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))]
        except Exception:
            return []

    problems, kinds, seen, total = [], collections.Counter(), {}, 0
    for path in a.files:
        try:
            docs = load_all(path)
        except yaml.YAMLError as e:
            problems.append(f"{path}: not YAML: {e}")
            continue
        if not docs:
            problems.append(f"{path}: no Kubernetes documents at all")
        for i, doc in enumerate(docs):
            total += 1
            where = f"{os.path.basename(path)} document {i + 1}"
            if not isinstance(doc, dict) or not isinstance(doc.get("apiVersion"), str) \
                    or not isinstance(doc.get("kind"), str):
                problems.append(f"{where}: not a Kubernetes object (apiVersion and kind must be strings)")
                continue
            md = doc.get("metadata")
            name = md.get("name") if isinstance(md, dict) else None
            if not isinstance(name, str) or not name:
                problems.append(f"{where}: {doc['kind']} without metadata.name")
                continue
            api, kind = doc["apiVersion"], doc["kind"]
            what = f"{kind}/{name} ({api})"
            ident = (api.split("/")[0] if "/" in api else "", kind, md.get("namespace", ""), name)
            if ident in seen:
                problems.append(f"{where}: {what} is also defined in {seen[ident]}")
            seen[ident] = where
            key = f"{api}|{kind}"
            before = len(problems)
            if key in crd_index:
                v = crd_validator(key)
                errs = sorted(v.iter_errors(strip_nulls(doc)), key=lambda e: list(e.absolute_path))
                for e in errs:
                    problems.append(f"{where}: {what}: invalid for its CRD ({crd_index[key]['source']}): "
                                    f"{jpath(e.absolute_path)}: {e.message}")
                # metadata is ObjectMeta for custom resources too: check it with the
                # built-in schema (a ConfigMap's metadata is exactly ObjectMeta).
                try:
                    kv.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": md},
                                a.kube_version, True)
                except kv.ValidationError as e:
                    problems.append(f"{where}: {what}: {jpath(e.path)}: {e.message}")
                label = f"{kind} [CRD]"
            else:
                label = kind
                try:
                    kv.validate(doc, a.kube_version, True)
                except kv.ValidationError as e:
                    # kubernetes-validate reports the best error only; list them all.
                    for epath, msg in all_errors(doc, e) or [(e.path, e.message)]:
                        problems.append(f"{where}: {what}: invalid for Kubernetes {e.version}: "
                                        f"{jpath(epath)}: {msg}")
                except kv.SchemaNotFoundError as e:
                    problems.append(f"{where}: {what}: no schema: {e.message}; kubernetes-validate "
                                    "has only built-in kinds, and check.sh has no CRD for this one "
                                    f"(it knows: {', '.join(sorted(crd_index)) or 'none'})")
                except kv.VersionNotSupportedError:
                    problems.append(f"kubernetes-validate does not ship Kubernetes {a.kube_version}")
                    break
            if len(problems) == before:
                problems += [f"{where}: {what}: {p}" for p in semantic_problems(doc)]
            if len(problems) == before:
                kinds[label] += 1
    summary = ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items()))
    if problems:
        for p in problems:
            print(f"  ERROR {p}")
        print(f"{len(problems)} problem(s) in {total} document(s)")
        return 1
    print(f"{total} document(s) valid for Kubernetes {a.kube_version} (strict): {summary}")
    return 0


# ---- docker-compose.yml ----
def compose_refs(data):
    """References the schema cannot check: every name used must be defined."""
    problems = []
    services = data.get("services") or {}
    top = {k: set((data.get(k) or {}).keys()) for k in ("networks", "volumes", "configs", "secrets")}
    for sname, svc in services.items():
        if not isinstance(svc, dict):
            continue
        deps = svc.get("depends_on") or []
        for d in (deps.keys() if isinstance(deps, dict) else deps):
            if d not in services:
                problems.append(f"services.{sname}.depends_on: no service named {d!r}")
        nets = svc.get("networks") or []
        for n in (nets.keys() if isinstance(nets, dict) else nets):
            if n != "default" and n not in top["networks"]:
                problems.append(f"services.{sname}.networks: network {n!r} is not declared in the top-level networks")
        for vol in svc.get("volumes") or []:
            if isinstance(vol, str):
                src = vol.split(":")[0] if ":" in vol else ""
                vtype = "volume" if src and not src.startswith((".", "/", "~", "$")) else "bind"
            elif isinstance(vol, dict):
                src, vtype = vol.get("source", ""), vol.get("type", "volume")
            else:
                continue
            if vtype == "volume" and src and src not in top["volumes"]:
                problems.append(f"services.{sname}.volumes: named volume {src!r} is not declared in the top-level volumes")
        for k in ("configs", "secrets"):
            for ref in svc.get(k) or []:
                name = ref if isinstance(ref, str) else (ref or {}).get("source")
                if name and name not in top[k]:
                    problems.append(f"services.{sname}.{k}: {name!r} is not declared in the top-level {k}")
        ext = svc.get("extends")
        if isinstance(ext, dict) and "file" not in ext and ext.get("service") not in services:
            problems.append(f"services.{sname}.extends: no service named {ext.get('service')!r}")
    return problems


def cmd_compose(a):
    import jsonschema
    from jsonschema.exceptions import best_match
    with open(a.schema) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)  # the schema's own $schema draft
    cls.check_schema(schema)
    try:
        with open(a.file) as f:
            docs = list(yaml.load_all(f, Loader=ComposeLoader))
    except yaml.YAMLError as e:
        print(f"  ERROR {a.file}: not YAML: {e}")
        return 1
    if len(docs) != 1 or not isinstance(docs[0], dict):
        print(f"  ERROR {a.file}: expected one YAML mapping, found {len(docs)} document(s)")
        return 1
    data = docs[0]
    v = cls(schema, format_checker=cls.FORMAT_CHECKER)
    problems = []
    for e in sorted(v.iter_errors(data), key=lambda e: list(e.absolute_path)):
        deep = best_match(e.context) if e.context else None
        msg = e.message if deep is None else f"{e.message} (closest: {jpath(deep.absolute_path)}: {deep.message})"
        problems.append(f"{jpath(e.absolute_path)}: {msg}")
    if not problems:
        problems = compose_refs(data)
    if problems:
        for p in problems:
            print(f"  ERROR {os.path.basename(a.file)}: {p}")
        return 1
    print(f"{os.path.basename(a.file)} matches the Compose specification ({cls.__name__}): "
          f"services {', '.join(data.get('services') or {}) or '(none)'}")
    return 0


# ---- corruptions for the negative tests ----
def cmd_corrupt_k8s(a):
    docs = load_all(a.src)
    target = next((d for d in docs if isinstance(d, dict) and d.get("kind") == a.kind), None)
    if target is None:
        print(f"no {a.kind} in {a.src}")
        return 1
    name = target["metadata"]["name"]
    if a.mode == "replicas-string":
        target.setdefault("spec", {})["replicas"] = "three"
    elif a.mode == "unknown-field":
        pod = target["spec"]["template"]["spec"]
        pod["containerz"] = copy.deepcopy(pod["containers"])
    elif a.mode == "selector-mismatch":
        target["spec"]["selector"].setdefault("matchLabels", {})["app.kubernetes.io/component"] = "not-its-pods"
    elif a.mode == "servicemonitor-endpoint":
        target["spec"]["endpoints"][0]["portz"] = target["spec"]["endpoints"][0].pop("port", "admin")
    else:
        print(f"unknown mode {a.mode}")
        return 1
    dump_all(docs, a.dst)
    print(f"{a.kind}/{name}")
    return 0


def cmd_corrupt_compose(a):
    with open(a.src) as f:
        data = yaml.load(f, Loader=ComposeLoader)
    services = data.get("services") or {}
    if not services:
        print(f"no services in {a.src}")
        return 1
    name = "collector" if "collector" in services else next(iter(services))
    if a.mode == "unknown-key":
        services[name]["portz"] = []
    elif a.mode == "ports-number":
        services[name]["ports"] = 4317
    elif a.mode == "undefined-dependency":
        services[name]["depends_on"] = ["no-such-service"]
    else:
        print(f"unknown mode {a.mode}")
        return 1
    with open(a.dst, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False)
    print(f"services.{name}")
    return 0


def cmd_get(a):
    with open(a.file) as f:
        node = yaml.load(f, Loader=Loader)
    for part in a.key.split("."):
        if not isinstance(node, dict) or part not in node:
            return 1
        node = node[part]
    print(json.dumps(node) if isinstance(node, (dict, list)) else node)
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("crds"); s.add_argument("--out", required=True)
    s.add_argument("--source", required=True); s.add_argument("files", nargs="+")
    s.set_defaults(fn=cmd_crds)
    s = sub.add_parser("k8s"); s.add_argument("--kube-version", required=True)
    s.add_argument("--crd-dir", required=True); s.add_argument("files", nargs="+")
    s.set_defaults(fn=cmd_k8s)
    s = sub.add_parser("compose"); s.add_argument("--schema", required=True)
    s.add_argument("file"); s.set_defaults(fn=cmd_compose)
    s = sub.add_parser("corrupt-k8s"); s.add_argument("--kind", required=True)
    s.add_argument("--mode", required=True); s.add_argument("src"); s.add_argument("dst")
    s.set_defaults(fn=cmd_corrupt_k8s)
    s = sub.add_parser("corrupt-compose"); s.add_argument("--mode", required=True)
    s.add_argument("src"); s.add_argument("dst"); s.set_defaults(fn=cmd_corrupt_compose)
    s = sub.add_parser("get"); s.add_argument("file"); s.add_argument("key")
    s.set_defaults(fn=cmd_get)
    a = p.parse_args()
    sys.exit(a.fn(a))


main()
PY
)"

# ------------------------------------------------------------------ set-up: go -------
go_env() {
  command -v go >/dev/null 2>&1 || die "'go' not found on PATH; install Go >= 1.26 (helm $HELM_VERSION's go.mod says go 1.26.0)"
  export GOTOOLCHAIN=local   # never fetch another toolchain
  export GOMODCACHE="${GOMODCACHE:-$SKEIN_CACHE_DIR/go-mod}"
  export GOWORK=off
  local gov maj min
  gov="$(go env GOVERSION)"
  maj="$(sed -E 's/^go([0-9]+)\.([0-9]+).*/\1/' <<<"$gov")"
  min="$(sed -E 's/^go([0-9]+)\.([0-9]+).*/\2/' <<<"$gov")"
  if (( maj < 1 || (maj == 1 && min < 26) )); then
    die "Go $gov is too old: helm $HELM_VERSION needs Go >= 1.26"
  fi
}

# mod_download MODULE VERSION SUM LOG: download a module (checksum-pinned) into GOMODCACHE,
# print its directory.
mod_download() {
  local mod="$1" ver="$2" want_sum="$3" logf="$4" tmp json dir sum
  tmp="$(mktemp -d)"
  # Outside any module; -mod=mod so a GOFLAGS=-mod=vendor/readonly of the caller cannot get in the way.
  json="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$mod@$ver" 2>>"$logf")" \
    || { rm -rf "$tmp"; printf '%s\n' "$json" >>"$logf"; fail "go mod download $mod@$ver (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))" "$logf"; }
  rm -rf "$tmp"
  printf '%s\n' "$json" >>"$logf"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
  sum="$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
  [[ -n "$dir" && -d "$dir" ]] || fail "go mod download $mod@$ver gave no module directory" "$logf"
  if [[ -n "$want_sum" && "$sum" != "$want_sum" ]]; then
    die "$mod@$ver has checksum '$sum', pinned '$want_sum' in ${BASH_SOURCE[0]}"
  fi
  printf '%s\n' "$dir"
}

setup_helm() {
  local t0 have logf json gomod kmaj kmin ldflags
  have="$("$HELM" version --template '{{.Version}}' 2>/dev/null || true)"
  if [[ "$FORCE" != 1 && "$have" == "$HELM_VERSION" ]]; then
    log "helm $HELM_VERSION up to date ($HELM)"
    return 0
  fi
  t0="$(now_ms)"
  go_env
  logf="$SKEIN_CACHE_DIR/deploy-helm.log"
  : >"$logf"
  # helm's release Makefile stamps its version and the Kubernetes version of its client-go
  # (the default .Capabilities.KubeVersion and the lint deprecation baseline) with -ldflags;
  # a plain `go install` would say "v3.22" and Kubernetes 1.20. Do the same.
  json="$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$HELM_MODULE@$HELM_VERSION" 2>>"$logf")" \
    || fail "go mod download $HELM_MODULE@$HELM_VERSION (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))" "$logf"
  gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
  read -r kmaj kmin < <(sed -nE 's#^[[:space:]]*k8s.io/client-go v0\.([0-9]+)\..*#1 \1#p' "$gomod" | head -n1) \
    || die "cannot find k8s.io/client-go in $gomod"
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$kmaj -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kmin"
  ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$kmaj -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kmin"
  log "go install $HELM_MODULE/cmd/helm@$HELM_VERSION -> $BIN_DIR (cold: a few minutes on 2 cores) ..."
  mkdir -p "$BIN_DIR"
  (cd /tmp && GOBIN="$BIN_DIR" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
     go install -trimpath -ldflags "$ldflags" "$HELM_MODULE/cmd/helm@$HELM_VERSION") >>"$logf" 2>&1 \
    || fail "go install $HELM_MODULE/cmd/helm@$HELM_VERSION" "$logf"
  have="$("$HELM" version --template '{{.Version}}' 2>>"$logf" || true)"
  [[ "$have" == "$HELM_VERSION" ]] || fail "$HELM version says '$have', expected $HELM_VERSION" "$logf"
  log "helm $HELM_VERSION (Kubernetes $kmaj.$kmin client) ready in $(( $(now_ms) - t0 )) ms"
}

# ------------------------------------------------------------------ set-up: python ---
setup_venv() {
  local t0 logf
  if venv_current "$VENV" "$REQS" 9 "kubernetes-validate 1.37"; then
    log "python venv up to date ($VENV)"
    return 0
  fi
  t0="$(now_ms)"
  logf="$SKEIN_CACHE_DIR/deploy-python.log"
  venv_create "$VENV" "$REQS" "$logf"
  "$VENV/bin/python" - "${KUBE_VERSIONS[@]}" >>"$logf" 2>&1 <<'PY' || fail "kubernetes-validate self-test" "$logf"
import sys
from kubernetes_validate import utils as kv
print("kubernetes-validate ships Kubernetes", ", ".join(kv.all_versions()))
for v in sys.argv[1:]:
    kv.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, v, True)
PY
  venv_stamp "$VENV" "$REQS"
  log "python venv ready in $(( $(now_ms) - t0 )) ms"
}

# ------------------------------------------------------------------ set-up: schemas --
setup_schemas() {
  local t0 want have logf dir crds=() c
  want="$( { printf '%s\n' "$COMPOSE_GO_MODULE@$COMPOSE_GO_VERSION $COMPOSE_GO_SUM" \
               "$PROMOP_MODULE@$PROMOP_VERSION $PROMOP_SUM ${PROMOP_CRDS[*]}"; printf '%s' "$PY_TOOL"; } | sha)"
  have="$(cat "$SCHEMA_DIR/.skein-schemas.sha256" 2>/dev/null || true)"
  if [[ "$FORCE" != 1 && "$want" == "$have" && -f "$SCHEMA_DIR/compose-spec.json" && -f "$SCHEMA_DIR/crd/index.json" ]]; then
    log "schemas up to date ($SCHEMA_DIR)"
    return 0
  fi
  t0="$(now_ms)"
  go_env
  logf="$SKEIN_CACHE_DIR/deploy-schemas.log"
  : >"$logf"
  rm -rf "$SCHEMA_DIR"
  mkdir -p "$SCHEMA_DIR/crd"
  log "compose-spec.json from $COMPOSE_GO_MODULE@$COMPOSE_GO_VERSION ..."
  dir="$(mod_download "$COMPOSE_GO_MODULE" "$COMPOSE_GO_VERSION" "$COMPOSE_GO_SUM" "$logf")"
  [[ -f "$dir/schema/compose-spec.json" ]] || die "$COMPOSE_GO_MODULE@$COMPOSE_GO_VERSION has no schema/compose-spec.json"
  cp "$dir/schema/compose-spec.json" "$SCHEMA_DIR/compose-spec.json"
  log "CRDs (${PROMOP_CRDS[*]}) from $PROMOP_MODULE@$PROMOP_VERSION ..."
  dir="$(mod_download "$PROMOP_MODULE" "$PROMOP_VERSION" "$PROMOP_SUM" "$logf")"
  for c in "${PROMOP_CRDS[@]}"; do
    crds+=("$dir/example/prometheus-operator-crd/monitoring.coreos.com_$c.yaml")
    [[ -f "${crds[-1]}" ]] || die "$PROMOP_MODULE@$PROMOP_VERSION has no ${crds[-1]#"$dir"/}"
  done
  printf '%s' "$PY_TOOL" >"$SCHEMA_DIR/.tool.py"
  "$VENV/bin/python" "$SCHEMA_DIR/.tool.py" crds --out "$SCHEMA_DIR/crd" \
      --source "prometheus-operator $PROMOP_VERSION" "${crds[@]}" >>"$logf" 2>&1 \
    || fail "converting the CRDs to JSON schemas" "$logf"
  rm -f "$SCHEMA_DIR/.tool.py"
  printf '%s\n' "$want" >"$SCHEMA_DIR/.skein-schemas.sha256"
  log "schemas ready in $(( $(now_ms) - t0 )) ms: $(tail -n1 "$logf")"
}

# ------------------------------------------------------------------ checks -----------
PASSED=0
FAILED=0
FAILED_NAMES=()
WORK=""

pass() { printf 'PASS  %s\n' "$1"; PASSED=$((PASSED + 1)); }
# failed NAME [LOG]: a FAIL line, then the log (indented, at most 60 lines).
failed() {
  printf 'FAIL  %s\n' "$1"
  FAILED=$((FAILED + 1))
  FAILED_NAMES+=("$1")
  if [[ -n "${2:-}" && -s "$2" ]]; then
    sed 's/^/      /' "$2" | head -n 60
    (( $(wc -l <"$2") <= 60 )) || printf '      ... (all of it: %s)\n' "$2"
  fi
}
# expect_ok NAME LOG CMD...: PASS when CMD succeeds (its last line is shown as detail).
expect_ok() {
  local name="$1" logf="$2"; shift 2
  if "$@" >"$logf" 2>&1; then
    local last
    last="$(tail -n1 "$logf")"
    pass "$name${last:+: $last}"
  else
    failed "$name" "$logf"
  fi
}
# expect_fail NAME LOG PATTERN CMD...: PASS when CMD fails and its output matches PATTERN.
expect_fail() {
  local name="$1" logf="$2" pattern="$3"; shift 3
  if "$@" >"$logf" 2>&1; then
    printf '(the command succeeded, but it must fail)\n' >>"$logf"
    failed "$name" "$logf"
  elif grep -Eq -- "$pattern" "$logf"; then
    pass "$name: $(grep -Em1 -- "$pattern" "$logf" | sed -E 's/^[[:space:]]*(ERROR )?//; s/^[^ ]+ document [0-9]+: //' | cut -c1-200)"
  else
    printf '(it failed, but its output does not match /%s/)\n' "$pattern" >>"$logf"
    failed "$name" "$logf"
  fi
}

tool() { "$VENV/bin/python" "$WORK/tool.py" "$@"; }
helm_() { "$HELM" "$@"; }
render() {  # render OUT KUBE_VERSION [helm args...]
  local out="$1" kv="$2"; shift 2
  helm_ template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$kv" "$@" >"$out"
}

run_checks() {
  local t0 kv label args out f dep partitions replicas vals crd_src
  t0="$(now_ms)"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/skein-deploy-check.XXXXXX")"
  printf '%s' "$PY_TOOL" >"$WORK/tool.py"
  mkdir -p "$WORK/rendered" "$WORK/negative" "$WORK/logs"
  # helm must not read or write the user's helm config, and needs no cluster.
  export HELM_CACHE_HOME="$WORK/helm/cache" HELM_CONFIG_HOME="$WORK/helm/config" \
         HELM_DATA_HOME="$WORK/helm/data" KUBECONFIG=/dev/null

  # ---- a. helm lint
  if [[ ! -f "$CHART/Chart.yaml" ]]; then
    failed "helm chart: no ${CHART#"$REPO"/}/Chart.yaml"
  elif [[ ! -f "$PROD_VALUES" ]]; then
    failed "helm chart: no production values file ${PROD_VALUES#"$REPO"/}"
  else
    expect_ok "helm lint --strict (default values)" "$WORK/logs/lint-default.log" \
      helm_ lint --strict --kube-version "${KUBE_VERSIONS[-1]}" "$CHART"
    expect_ok "helm lint --strict (${PROD_VALUES#"$CHART"/})" "$WORK/logs/lint-production.log" \
      helm_ lint --strict --kube-version "${KUBE_VERSIONS[-1]}" "$CHART" -f "$PROD_VALUES"

    # ---- b. helm template + schema validation, per values file and Kubernetes version
    for kv in "${KUBE_VERSIONS[@]}"; do
      for label in default production; do
        args=()
        [[ "$label" == production ]] && args=(-f "$PROD_VALUES")
        out="$WORK/rendered/$label-k8s$kv.yaml"
        if render "$out" "$kv" "${args[@]}" 2>"$WORK/logs/template-$label-k8s$kv.log"; then
          expect_ok "helm template ($label values, Kubernetes $kv) validates" "$WORK/logs/validate-$label-k8s$kv.log" \
            tool k8s --kube-version "$kv" --crd-dir "$SCHEMA_DIR/crd" "$out"
        else
          failed "helm template ($label values, Kubernetes $kv)" "$WORK/logs/template-$label-k8s$kv.log"
        fi
      done
    done

    # ---- c. negative tests: the validators must reject broken input
    kv="${KUBE_VERSIONS[-1]}"
    f="$WORK/rendered/default-k8s$kv.yaml"
    [[ -s "$f" ]] || f="$WORK/rendered/production-k8s$kv.yaml"
    if [[ -s "$f" ]] && grep -q '^kind: Deployment' "$f"; then
      dep="$(tool corrupt-k8s --kind Deployment --mode replicas-string "$f" "$WORK/negative/deployment-replicas-string.yaml")"
      expect_fail "negative: $dep with spec.replicas: \"three\" is rejected" "$WORK/logs/neg-replicas.log" \
        'spec\.replicas: .three. is not of type .integer' \
        tool k8s --kube-version "$kv" --crd-dir "$SCHEMA_DIR/crd" "$WORK/negative/deployment-replicas-string.yaml"
      dep="$(tool corrupt-k8s --kind Deployment --mode unknown-field "$f" "$WORK/negative/deployment-containerz.yaml")"
      expect_fail "negative: $dep with unknown field spec.template.spec.containerz is rejected" "$WORK/logs/neg-containerz.log" \
        "containerz" \
        tool k8s --kube-version "$kv" --crd-dir "$SCHEMA_DIR/crd" "$WORK/negative/deployment-containerz.yaml"
      dep="$(tool corrupt-k8s --kind Deployment --mode selector-mismatch "$f" "$WORK/negative/deployment-selector.yaml")"
      expect_fail "negative: $dep whose spec.selector does not select its pod template is rejected" "$WORK/logs/neg-selector.log" \
        "does not match the pod template labels" \
        tool k8s --kube-version "$kv" --crd-dir "$SCHEMA_DIR/crd" "$WORK/negative/deployment-selector.yaml"
    else
      failed "negative: the rendered chart has no Deployment to corrupt (see $f)"
    fi
    # A custom resource: taken from the production render when there is one, else a stand-in.
    crd_src="$WORK/rendered/production-k8s$kv.yaml"
    if ! grep -q '^kind: ServiceMonitor' "$crd_src" 2>/dev/null; then
      crd_src="$WORK/negative/servicemonitor-standin.yaml"
      cat >"$crd_src" <<'EOF'
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: stand-in
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: skein
  endpoints:
    - port: admin
      path: /metrics
      interval: 30s
EOF
      expect_ok "ServiceMonitor stand-in validates against the CRD schema" "$WORK/logs/crd-standin.log" \
        tool k8s --kube-version "$kv" --crd-dir "$SCHEMA_DIR/crd" "$crd_src"
    fi
    dep="$(tool corrupt-k8s --kind ServiceMonitor --mode servicemonitor-endpoint "$crd_src" "$WORK/negative/servicemonitor-portz.yaml")"
    expect_fail "negative: $dep with spec.endpoints[0].portz is rejected (CRD schema)" "$WORK/logs/neg-servicemonitor.log" \
      'portz' \
      tool k8s --kube-version "$kv" --crd-dir "$SCHEMA_DIR/crd" "$WORK/negative/servicemonitor-portz.yaml"
    cat >"$WORK/negative/unknown-kind.yaml" <<'EOF'
apiVersion: example.com/v1
kind: Widget
metadata:
  name: no-schema
spec: {}
EOF
    expect_fail "negative: a kind without any schema (example.com/v1 Widget) is rejected" "$WORK/logs/neg-unknown-kind.log" \
      'no schema' \
      tool k8s --kube-version "$kv" --crd-dir "$SCHEMA_DIR/crd" "$WORK/negative/unknown-kind.yaml"
    # Ingesters above the partition count: the chart must refuse to render.
    helm_ show values "$CHART" >"$WORK/values-default.yaml" 2>"$WORK/logs/show-values.log" || true
    partitions="$(tool get "$WORK/values-default.yaml" kafka.partitions || true)"
    replicas="$(tool get "$WORK/values-default.yaml" ingester.replicaCount || true)"
    if [[ ! "$partitions" =~ ^[0-9]+$ || ! "$replicas" =~ ^[0-9]+$ ]]; then
      failed "negative: values.yaml has no numeric kafka.partitions / ingester.replicaCount (got '$partitions' / '$replicas'); update check.sh"
    else
      expect_ok "helm template with ingester.replicaCount = kafka.partitions = $partitions renders" "$WORK/logs/partitions-equal.log" \
        render "$WORK/negative/partitions-equal.yaml" "$kv" --set "kafka.partitions=$partitions" --set "ingester.replicaCount=$partitions"
      expect_fail "negative: helm template with ingester.replicaCount $((partitions + 1)) > kafka.partitions $partitions fails" \
        "$WORK/logs/neg-partitions.log" 'partitions' \
        render "$WORK/negative/partitions-above.yaml" "$kv" --set "kafka.partitions=$partitions" --set "ingester.replicaCount=$((partitions + 1))"
    fi
  fi

  # ---- d. docker-compose.yml
  if [[ ! -f "$COMPOSE_FILE" ]]; then
    failed "docker compose: no ${COMPOSE_FILE#"$REPO"/}"
  else
    expect_ok "${COMPOSE_FILE#"$REPO"/} validates against the Compose specification ($COMPOSE_GO_MODULE@$COMPOSE_GO_VERSION)" \
      "$WORK/logs/compose.log" tool compose --schema "$SCHEMA_DIR/compose-spec.json" "$COMPOSE_FILE"
    for vals in "unknown-key|'portz' was unexpected|Additional properties are not allowed \('portz'" \
                "ports-number|4317 is not of type 'array'" \
                "undefined-dependency|no service named 'no-such-service'"; do
      f="$WORK/negative/compose-${vals%%|*}.yml"
      if dep="$(tool corrupt-compose --mode "${vals%%|*}" "$COMPOSE_FILE" "$f" 2>&1)"; then
        case "${vals%%|*}" in
          unknown-key) label="$dep.portz: []" ;;
          ports-number) label="$dep.ports: 4317" ;;
          *) label="$dep.depends_on: [no-such-service]" ;;
        esac
        expect_fail "negative: docker-compose.yml with $label is rejected" "$WORK/logs/neg-compose-${vals%%|*}.log" \
          "${vals#*|}" tool compose --schema "$SCHEMA_DIR/compose-spec.json" "$f"
      else
        failed "negative: cannot corrupt ${COMPOSE_FILE#"$REPO"/}: $dep"
      fi
    done
  fi

  # ---- e. the configuration the chart and the image generate loads in skein itself
  if cargo build -q --bin skein >"$WORK/logs/cargo-build.log" 2>&1; then
    local skein="$REPO/target/debug/skein" n=0
    for f in "$WORK"/rendered/*-k8s"${KUBE_VERSIONS[-1]}".yaml; do
      [[ -s "$f" ]] || continue
      label="$(basename "$f" .yaml)"
      "$VENV/bin/python" - "$f" "$WORK/negative/$label" <<'PY' >"$WORK/logs/config-extract-$label.log" 2>&1 || true
import sys, yaml
for i, doc in enumerate(d for d in yaml.safe_load_all(open(sys.argv[1])) if d):
    if doc.get("kind") == "ConfigMap" and "skein.yaml" in (doc.get("data") or {}):
        open(f"{sys.argv[2]}-{doc['metadata']['name']}.skein.yaml", "w").write(doc["data"]["skein.yaml"])
PY
      for config in "$WORK/negative/$label"-*.skein.yaml; do
        [[ -f "$config" ]] || continue
        n=$((n + 1))
        expect_ok "skein config loads the chart's $(basename "$config" .skein.yaml | sed "s/^$label-//") ConfigMap ($label values)" \
          "$WORK/logs/config-$(basename "$config").log" env -u SKEIN_CONFIG "$skein" config --config "$config"
      done
    done
    (( n > 0 )) || failed "no skein.yaml ConfigMap found in the rendered chart"
    # A mistyped option under `config:` must fail here, not in the cluster.
    if render "$WORK/negative/bad-option.yaml" "${KUBE_VERSIONS[-1]}" --set config.collector.max_inflight=1 2>/dev/null; then
      "$VENV/bin/python" - "$WORK/negative/bad-option.yaml" "$WORK/negative/bad-option.skein.yaml" <<'PY'
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc.get("kind") == "ConfigMap" and "skein.yaml" in (doc.get("data") or {}):
        open(sys.argv[2], "w").write(doc["data"]["skein.yaml"])
        break
PY
      expect_fail "negative: a chart rendered with config.collector.max_inflight (no such option) fails skein config" \
        "$WORK/logs/neg-bad-option.log" 'max_inflight' env -u SKEIN_CONFIG "$skein" config --config "$WORK/negative/bad-option.skein.yaml"
    else
      failed "helm template with config.collector.max_inflight=1"
    fi
    expect_ok "skein config loads config/container.yaml with docker-compose.yml's variables" "$WORK/logs/config-container.log" \
      env SKEIN_KAFKA__BROKERS=kafka:9092 SKEIN_ELASTICSEARCH__URL=http://elasticsearch:9200 SKEIN_KAFKA__PARTITIONS=6 \
      "$skein" config --config "$REPO/config/container.yaml"
  else
    failed "cargo build --bin skein (to load the generated configuration)" "$WORK/logs/cargo-build.log"
  fi
  # The image builds the binary the way the Makefile does.
  if grep -Eq '^(RUN )?[[:space:]]*make release' "$REPO/Dockerfile" && grep -Eq '^release:' "$REPO/Makefile"; then
    pass "Dockerfile builds with \`make release\` (the Makefile's release build)"
  else
    failed "Dockerfile does not build with \`make release\`"
  fi

  printf 'deploy-check: %d passed, %d failed\n' "$PASSED" "$FAILED"
  if (( FAILED > 0 )); then
    printf '[skein-deploy] FAILED: %s\n' "${FAILED_NAMES[@]}" >&2
    log "rendered manifests, corrupted copies and logs are kept in $WORK (rendered/, negative/, logs/)"
    return 1
  fi
  rm -rf "$WORK"
  log "all checks passed in $(( $(now_ms) - t0 )) ms"
}

cmd="${1:-check}"
case "$cmd" in
  check)  lock; setup_helm; setup_venv; setup_schemas; exec 9>&-; run_checks ;;
  setup)  lock; setup_helm; setup_venv; setup_schemas ;;
  -h|--help|help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" ;;
  *) die "unknown command '$cmd' (check | setup | help)" ;;
esac
