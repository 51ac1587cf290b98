#!/usr/bin/env python3
"""Checks the rendered Kubernetes overlays and the compose file against the server's own
configuration (`tandem-server --config-schema`) and the deployment rules of
docs/DEPLOYMENT.md, so that the manifests cannot drift from the code.

  check_manifests.py --server BIN --kubectl KUBECTL --source-dir DIR [--only kustomize|compose]
  check_manifests.py ... --self-test   # every check must catch its broken manifest

Every problem found is printed; the exit status is 1 if there was any.
"""
import argparse
import base64
import copy
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy_lib import CheckError, load_schema, quantity, render_overlay, selector_matches  # noqa: E402
import monitoring_wiring  # noqa: E402
import turn_wiring  # noqa: E402

# What the issue asks of each overlay: server replicas and LOG_LEVEL.
OVERLAYS = {"dev": (1, "debug"), "staging": (2, "info"), "prod": (5, "warn")}
# Overlays that must include the monitoring component (ServiceMonitor, PrometheusRule).
MONITORED = {"prod"}

# docs/BENCHMARKS.md: 7,246 B of server RSS per joined connection (18,900 connections,
# the most measured), and the idle process measured at ~14 MB RSS (Release build).
MEMORY_PER_CONNECTION = 7246
MEMORY_BASELINE = 14 * 2**20

# After the drain, the journal gets up to this long to flush (docs/STORAGE.md).
JOURNAL_FLUSH_S = 3

SERVER_NAME = "tandem-server"
HEALTH_PATH, READY_PATH = "/health", "/ready"


# --- helpers over rendered objects ------------------------------------------------------

def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def workloads(docs):
    return [d for d in docs if d.get("kind") in ("Deployment", "StatefulSet", "DaemonSet")]


def pod_labels(workload):
    return workload["spec"]["template"]["metadata"].get("labels") or {}


def server_container(pod_spec):
    for c in pod_spec.get("containers", []):
        if c.get("name") == SERVER_NAME or str(c.get("image", "")).startswith(SERVER_NAME):
            return c
    return None


def server_deployments(docs):
    return [d for d in by_kind(docs, "Deployment")
            if server_container(d["spec"]["template"]["spec"]) is not None]


def find(docs, kind, name):
    for d in docs:
        if d.get("kind") == kind and d["metadata"]["name"] == name:
            return d
    return None


def secret_values(secret):
    """Decoded values of a Secret, by key."""
    out = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(value).decode("utf-8", "replace")
        except ValueError:
            out[key] = value
    for key, value in (secret.get("stringData") or {}).items():
        out[key] = str(value)
    return out


def container_env(docs, container):
    """(names, values): every env name the container gets (env and envFrom) and the
    literal values known from the manifests (ConfigMap values, env `value`)."""
    names, values = [], {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            cm = find(docs, "ConfigMap", source["configMapRef"]["name"])
            if cm is None:
                names.append(f"<missing ConfigMap {source['configMapRef']['name']}>")
                continue
            for key, value in (cm.get("data") or {}).items():
                names.append(prefix + key)
                values[prefix + key] = str(value)
        if "secretRef" in source:
            secret = find(docs, "Secret", source["secretRef"]["name"])
            if secret is None:
                names.append(f"<missing Secret {source['secretRef']['name']}>")
                continue
            for key in secret_values(secret):
                names.append(prefix + key)
    for entry in container.get("env") or []:
        names.append(entry["name"])
        if "value" in entry:
            values[entry["name"]] = str(entry["value"])
    return names, values


def resolve_port(container, port):
    """A probe's or Service's port (number or name) as a container port number."""
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return p["containerPort"]
    return None


def prestop_seconds(container):
    """How long the preStop hook delays SIGTERM: a `sleep N` exec or the sleep action."""
    pre = (container.get("lifecycle") or {}).get("preStop")
    if not pre:
        return 0
    if "sleep" in pre:
        return float(pre["sleep"]["seconds"])
    if "exec" in pre:
        text = " ".join(str(a) for a in pre["exec"].get("command", []))
        m = re.search(r"\bsleep\s+([0-9]+(?:\.[0-9]+)?)\b", text)
        if m:
            return float(m.group(1))
    return None  # some other hook: its duration is unknown


def effective(values, schema, name):
    value = values.get(name)
    return value if value is not None else schema.get(name, "")


# --- the checks of one rendered overlay ---------------------------------------------------

def check_overlay(overlay, docs, schema, image_uid, files):
    """Every problem of one rendered overlay, as a list of messages. `files`: the parsed
    deploy/monitoring files (monitoring_wiring.load_files)."""
    errors = []

    def err(msg):
        errors.append(f"{overlay}: {msg}")

    deployments = server_deployments(docs)
    if len(deployments) != 1:
        err(f"expected one Deployment running {SERVER_NAME}, found {len(deployments)}")
        return errors
    dep = deployments[0]
    pod = dep["spec"]["template"]["spec"]
    labels = pod_labels(dep)
    container = server_container(pod)
    env_names, env_values = container_env(docs, container)
    other_pods = [w for w in workloads(docs) if w is not dep]

    # Namespaces: every object in one namespace, created by the overlay itself.
    namespaces = {d["metadata"]["name"] for d in by_kind(docs, "Namespace")}
    used = {d["metadata"].get("namespace") for d in docs if d.get("kind") != "Namespace"}
    if len(used) != 1 or not used <= namespaces:
        err(f"objects are in namespaces {sorted(map(str, used))} but the Namespace objects "
            f"are {sorted(namespaces)}")

    # Environment names: exactly the server's options.
    for name in env_names:
        if name not in schema:
            err(f"server env {name} is not an option of tandem-server (--config-schema)")
    node_id = [e for e in container.get("env") or [] if e["name"] == "NODE_ID"]
    if not node_id or (node_id[0].get("valueFrom") or {}).get("fieldRef", {}).get(
            "fieldPath") != "metadata.name":
        err("NODE_ID must come from the pod name (valueFrom.fieldRef metadata.name)")

    # Replicas, logging and autoscaling per overlay. The HPA owns the count: a `replicas`
    # in the Deployment would be re-applied by every `kubectl apply`, scaling an autoscaled
    # deployment down and draining the removed pods' parties.
    replicas, level = OVERLAYS[overlay]
    if "replicas" in dep["spec"]:
        err(f"Deployment states replicas {dep['spec']['replicas']}: the HPA owns the count "
            f"(kubectl apply would reset it)")
    if effective(env_values, schema, "LOG_LEVEL") != level:
        err(f"LOG_LEVEL {effective(env_values, schema, 'LOG_LEVEL')!r}, expected {level!r}")
    hpas = [h for h in by_kind(docs, "HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"].get("kind") == "Deployment"
            and h["spec"]["scaleTargetRef"].get("name") == dep["metadata"]["name"]]
    hpa_max = 1
    if len(hpas) != 1:
        err(f"expected one HorizontalPodAutoscaler targeting Deployment "
            f"{dep['metadata']['name']}, found {len(hpas)}")
    else:
        spec = hpas[0]["spec"]
        hpa_max = spec.get("maxReplicas", 0)
        if spec.get("minReplicas", 1) != replicas:
            err(f"HPA minReplicas {spec.get('minReplicas', 1)}, expected the overlay's "
                f"{replicas} servers")
        if hpa_max < spec.get("minReplicas", 1):
            err("HPA maxReplicas below minReplicas")
        if not any(m.get("type") == "Resource" and m["resource"]["name"] == "cpu"
                   for m in spec.get("metrics") or []):
            err("HPA does not scale on CPU")

    # Port: the container port is the server's PORT.
    port = int(effective(env_values, schema, "PORT"))
    container_ports = [p["containerPort"] for p in container.get("ports") or []]
    if container_ports != [port]:
        err(f"container ports {container_ports}, but PORT is {port}")

    # Probes.
    for probe_name, path in (("livenessProbe", HEALTH_PATH), ("readinessProbe", READY_PATH),
                             ("startupProbe", HEALTH_PATH)):
        probe = container.get(probe_name)
        if probe is None:
            if probe_name != "startupProbe":
                err(f"no {probe_name}")
            continue
        get = probe.get("httpGet")
        if not get or get.get("path") != path:
            err(f"{probe_name} must be GET {path}, is {get or probe}")
        elif resolve_port(container, get.get("port")) != port:
            err(f"{probe_name} port {get.get('port')} is not PORT {port}")

    # Prometheus scrape annotations.
    annotations = dep["spec"]["template"]["metadata"].get("annotations") or {}
    if annotations.get("prometheus.io/scrape") != "true":
        err("pod template lacks prometheus.io/scrape: \"true\"")
    if annotations.get("prometheus.io/path") != "/metrics":
        err(f"prometheus.io/path is {annotations.get('prometheus.io/path')!r}, not /metrics")
    if str(annotations.get("prometheus.io/port")) != str(port):
        err(f"prometheus.io/port is {annotations.get('prometheus.io/port')!r}, not {port}")

    # Drain timing: the kubelet must not SIGKILL a server that is still draining.
    drain_ms = int(effective(env_values, schema, "DRAIN_TIMEOUT_MS"))
    pre = prestop_seconds(container)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if pre is None:
        err("preStop hook of unknown duration (use `sleep N`)")
    elif not pre > 0:
        err("no preStop sleep: SIGTERM would arrive before the endpoints are removed")
    elif not grace > pre + drain_ms / 1000 + JOURNAL_FLUSH_S:
        err(f"terminationGracePeriodSeconds {grace} <= preStop {pre:g} s + DRAIN_TIMEOUT_MS "
            f"{drain_ms / 1000:g} s + {JOURNAL_FLUSH_S} s journal flush")
    rolling = (dep["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    if dep["spec"].get("strategy", {}).get("type", "RollingUpdate") != "RollingUpdate" or \
            str(rolling.get("maxUnavailable")) != "0":
        err("rolling update must have maxUnavailable 0")

    # Selectors: each selects exactly the server's pods.
    def selects_server_only(what, selector):
        if not selector_matches(selector, labels):
            err(f"{what} {selector} does not match the server pod labels {labels}")
        for w in other_pods:
            if selector_matches(selector, pod_labels(w)):
                err(f"{what} {selector} also matches the pods of {w['kind']} "
                    f"{w['metadata']['name']}")

    selects_server_only("Deployment selector", dep["spec"]["selector"])
    anti = ((pod.get("affinity") or {}).get("podAntiAffinity")) or {}
    terms = list(anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []) + [
        t["podAffinityTerm"] for t in anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
    if not terms:
        err("no podAntiAffinity")
    for term in terms:
        selects_server_only("podAntiAffinity labelSelector", term.get("labelSelector"))
        if term.get("namespaces") or term.get("namespaceSelector") is not None:
            err("podAntiAffinity term looks outside the pod's own namespace")
    pdbs = [p for p in by_kind(docs, "PodDisruptionBudget")
            if selector_matches(p["spec"].get("selector"), labels)]
    if len(pdbs) != 1:
        err(f"expected one PodDisruptionBudget selecting the server pods, found {len(pdbs)}")
    for p in by_kind(docs, "PodDisruptionBudget"):
        selects_server_only(f"PodDisruptionBudget {p['metadata']['name']} selector",
                            p["spec"].get("selector"))
    server_services = []
    for svc in by_kind(docs, "Service"):
        sel = svc["spec"].get("selector") or {}
        if sel and selector_matches({"matchLabels": sel}, labels):
            server_services.append(svc)
            for sp in svc["spec"].get("ports") or []:
                if resolve_port(container, sp.get("targetPort", sp["port"])) != port:
                    err(f"Service {svc['metadata']['name']} targetPort {sp.get('targetPort')} "
                        f"is not the server's port {port}")
            selects_server_only(f"Service {svc['metadata']['name']} selector",
                                {"matchLabels": sel})
    if not server_services:
        err("no Service selects the server pods")

    # Security context (every workload): non-root, no privilege escalation, no
    # capabilities, RuntimeDefault seccomp, read-only root filesystem.
    for w in workloads(docs):
        wname = f"{w['kind']} {w['metadata']['name']}"
        wpod = w["spec"]["template"]["spec"]
        psc = wpod.get("securityContext") or {}
        for c in wpod.get("containers", []) + wpod.get("initContainers", []):
            csc = c.get("securityContext") or {}
            where = f"{wname} container {c['name']}"
            if not csc.get("runAsNonRoot", psc.get("runAsNonRoot")):
                err(f"{where}: runAsNonRoot is not true")
            if csc.get("runAsUser", psc.get("runAsUser")) == 0:
                err(f"{where}: runAsUser 0")
            if csc.get("allowPrivilegeEscalation") is not False:
                err(f"{where}: allowPrivilegeEscalation is not false")
            if csc.get("privileged"):
                err(f"{where}: privileged")
            if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
                err(f"{where}: capabilities do not drop ALL")
            if (csc.get("capabilities") or {}).get("add"):
                err(f"{where}: adds capabilities")
            seccomp = (csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
            if seccomp != "RuntimeDefault":
                err(f"{where}: seccompProfile is {seccomp}, not RuntimeDefault")
            if csc.get("readOnlyRootFilesystem") is not True:
                err(f"{where}: readOnlyRootFilesystem is not true")
    psc = pod.get("securityContext") or {}
    uid = (container.get("securityContext") or {}).get("runAsUser", psc.get("runAsUser"))
    if image_uid is None:
        err("the Dockerfile has no numeric USER to compare runAsUser with")
    elif uid != image_uid:
        err(f"server runAsUser {uid} differs from the image's USER {image_uid} (Dockerfile)")
    # DATA_DIR must be writable under the read-only root: an emptyDir mounted there.
    data_dir = effective(env_values, schema, "DATA_DIR")
    mounts = {m["mountPath"].rstrip("/"): m["name"] for m in container.get("volumeMounts") or []}
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    vol = volumes.get(mounts.get(data_dir.rstrip("/"), ""), {})
    if "emptyDir" not in vol:
        err(f"DATA_DIR {data_dir} is not an emptyDir mount of the server container")

    # Secrets: placeholders only; secret-like settings only from Secrets.
    for secret in by_kind(docs, "Secret"):
        for key, value in secret_values(secret).items():
            if not value.startswith("CHANGE_ME"):
                err(f"Secret {secret['metadata']['name']} key {key} holds a value that is "
                    f"not a CHANGE_ME placeholder")
    secretish = re.compile(r"PASSWORD|TOKEN|SECRET")
    for name, value in env_values.items():
        if secretish.search(name):
            err(f"server env {name} is set in plain text (ConfigMap or value), not from a Secret")
    for name in ("REDIS_URL", "DATABASE_URL"):
        if re.search(r"://[^/@]*:[^/@]+@", env_values.get(name, "")):
            err(f"{name} carries a password in plain text")

    # Memory, from the measured RSS per connection.
    resources = container.get("resources") or {}
    max_conn = int(effective(env_values, schema, "MAX_CONNECTIONS"))
    need = max_conn * MEMORY_PER_CONNECTION + MEMORY_BASELINE
    req_mem = quantity(resources.get("requests", {}).get("memory", "0"))
    lim_mem = quantity(resources.get("limits", {}).get("memory", "0"))
    if req_mem < need:
        err(f"memory request {req_mem / 2**20:.0f} MiB < MAX_CONNECTIONS {max_conn} x "
            f"{MEMORY_PER_CONNECTION} B + {MEMORY_BASELINE / 2**20:.0f} MiB = {need / 2**20:.0f} MiB")
    if lim_mem < req_mem:
        err("memory limit below the request")
    if not resources.get("requests", {}).get("cpu") or not resources.get("limits", {}).get("cpu"):
        err("server container lacks a CPU request or limit (the HPA and the quota need them)")

    # The quota holds the HPA's maximum plus the surge pod and the stateful services.
    surge = rolling.get("maxSurge", 1)
    surge = -(-hpa_max * int(surge[:-1]) // 100) if str(surge).endswith("%") else int(surge)
    pods = [(dep, hpa_max + surge)] + [(w, w["spec"].get("replicas", 1)) for w in other_pods]
    for quota in by_kind(docs, "ResourceQuota"):
        hard = quota["spec"].get("hard") or {}
        total_pods = sum(n for _, n in pods)
        if "pods" in hard and total_pods > quantity(hard["pods"]):
            err(f"ResourceQuota pods {hard['pods']} < {total_pods} (HPA max {hpa_max} + "
                f"surge {surge} + the StatefulSets)")
        for field in ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory"):
            if field not in hard:
                continue
            kind, res = field.split(".")
            total = sum(n * sum(quantity((c.get("resources") or {}).get(kind, {}).get(res, "0"))
                                for c in w["spec"]["template"]["spec"]["containers"])
                        for w, n in pods)
            if total > quantity(hard[field]):
                err(f"ResourceQuota {field} {hard[field]} < {total:g} needed at the HPA maximum")

    # Ingress: to the server's Service, with timeouts longer than an idle WebSocket lives.
    heartbeat_s = int(effective(env_values, schema, "HEARTBEAT_TIMEOUT_MS")) / 1000
    ingresses = by_kind(docs, "Ingress")
    if not ingresses:
        err("no Ingress")
    service_names = {s["metadata"]["name"] for s in server_services}
    for ing in ingresses:
        ann = ing["metadata"].get("annotations") or {}
        for key in ("nginx.ingress.kubernetes.io/proxy-read-timeout",
                    "nginx.ingress.kubernetes.io/proxy-send-timeout"):
            if key not in ann or float(ann[key]) < 2 * heartbeat_s:
                err(f"Ingress {ing['metadata']['name']}: {key} {ann.get(key)} below twice "
                    f"HEARTBEAT_TIMEOUT_MS ({2 * heartbeat_s:g} s): idle WebSockets would be cut")
        for rule in ing["spec"].get("rules") or []:
            for p in (rule.get("http") or {}).get("paths") or []:
                name = p["backend"]["service"]["name"]
                if name not in service_names:
                    err(f"Ingress backend {name} is not the server's Service")

    # NetworkPolicy: the stores admit the server pods and nothing else; the server may
    # reach them and DNS.
    policies = by_kind(docs, "NetworkPolicy")
    if not any(p["spec"].get("podSelector") == {} and
               set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"} and
               not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies):
        err("no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)")
    for store, store_port in (("redis", 6379), ("postgres", 5432)):
        sts = find(docs, "StatefulSet", store)
        if sts is None:
            err(f"no StatefulSet {store}")
            continue
        store_labels = pod_labels(sts)
        guarding = [p for p in policies if p["spec"].get("podSelector") and
                    selector_matches(p["spec"]["podSelector"], store_labels)]
        if not guarding:
            err(f"no NetworkPolicy selects the {store} pods")
        for p in guarding:
            for rule in p["spec"].get("ingress") or []:
                peers = rule.get("from") or []
                if not peers:
                    err(f"NetworkPolicy {p['metadata']['name']} admits anyone to {store}")
                for peer in peers:
                    if "podSelector" not in peer or "namespaceSelector" in peer or "ipBlock" in peer:
                        err(f"NetworkPolicy {p['metadata']['name']}: {store} admits a peer "
                            f"other than this namespace's pods: {peer}")
                    elif not selector_matches(peer["podSelector"], labels) or any(
                            selector_matches(peer["podSelector"], pod_labels(w))
                            for w in other_pods):
                        err(f"NetworkPolicy {p['metadata']['name']}: {store} peer "
                            f"{peer['podSelector']} is not exactly the server pods")
                for rp in rule.get("ports") or []:
                    if rp.get("port") != store_port:
                        err(f"NetworkPolicy {p['metadata']['name']} opens {store} port "
                            f"{rp.get('port')}, not {store_port}")
        egress_ok = any(
            any(selector_matches(peer.get("podSelector"), store_labels) for peer in rule.get("to") or [])
            and any(rp.get("port") == store_port for rp in rule.get("ports") or [])
            for p in policies if selector_matches(p["spec"].get("podSelector"), labels)
            for rule in p["spec"].get("egress") or [])
        if not egress_ok:
            err(f"no NetworkPolicy lets the server reach {store} on {store_port}")
    dns_ok = any(any(rp.get("port") == 53 and rp.get("protocol", "TCP") == "UDP"
                     for rp in rule.get("ports") or [])
                 for p in policies
                 if p["spec"].get("podSelector") and selector_matches(p["spec"]["podSelector"], labels)
                 for rule in p["spec"].get("egress") or [])
    if not dns_ok:
        err("no NetworkPolicy lets the server resolve names (UDP 53)")
    ingress_ok = any(any(rp.get("port") in (port, "http") for rp in rule.get("ports") or [])
                     for p in policies
                     if p["spec"].get("podSelector") and selector_matches(p["spec"]["podSelector"], labels)
                     for rule in p["spec"].get("ingress") or [])
    if not ingress_ok:
        err(f"no NetworkPolicy admits clients to the server's port {port}")

    # Redis and PostgreSQL: probes and volumes.
    for store, probe_word, size in (("redis", "ping", "5Gi"), ("postgres", "pg_isready", "20Gi")):
        sts = find(docs, "StatefulSet", store)
        if sts is None:
            continue
        c = sts["spec"]["template"]["spec"]["containers"][0]
        for probe_name in ("livenessProbe", "readinessProbe"):
            command = " ".join(((c.get(probe_name) or {}).get("exec") or {}).get("command") or [])
            if probe_word not in command:
                err(f"StatefulSet {store}: {probe_name} does not run {probe_word}")
        claims = sts["spec"].get("volumeClaimTemplates") or []
        sizes = [t["spec"]["resources"]["requests"]["storage"] for t in claims]
        if sizes != [size]:
            err(f"StatefulSet {store}: volumeClaimTemplates {sizes}, expected [{size}]")

    errors += monitoring_wiring.check_k8s_monitoring(
        overlay, docs, files, port, overlay in MONITORED, lambda p: resolve_port(container, p))
    errors += turn_wiring.check_overlay_turn(overlay, docs, container, env_values)
    return errors


# --- the compose file ------------------------------------------------------------------------

def compose_env(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def duration_seconds(text):
    total, rest = 0.0, str(text)
    for number, unit in re.findall(r"([0-9.]+)(us|ms|s|m|h)", rest):
        total += float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def check_compose(compose, source_dir, schema, files):
    """The stack (server, stores, load balancer) and the monitoring profile."""
    port = int(compose_env((compose.get("services") or {}).get("server") or {}).get(
        "PORT") or schema["PORT"])
    return check_compose_stack(compose, source_dir, schema) + \
        monitoring_wiring.check_compose_monitoring(compose, files, source_dir, port) + \
        turn_wiring.check_compose_turn(compose)


def check_compose_stack(compose, source_dir, schema):
    errors = []

    def err(msg):
        errors.append(f"compose: {msg}")

    services = compose.get("services") or {}
    server = services.get("server")
    if server is None:
        return ["compose: no `server` service"]
    env = compose_env(server)
    for name in env:
        if name not in schema:
            err(f"server environment {name} is not an option of tandem-server (--config-schema)")
    for name in ("REDIS_URL", "DATABASE_URL"):
        if not env.get(name):
            err(f"server lacks {name}: the stack runs the server in cluster mode")
    for name in ("REDIS_URL", "DATABASE_URL"):
        m = re.match(r"[a-z]+://(?:[^@/]*@)?([^:/]+)", env.get(name, ""))
        if m and m.group(1) not in services:
            err(f"{name} points at {m.group(1)}, which is not a service")
    replicas = (server.get("deploy") or {}).get("replicas", 1)
    if replicas < 2:
        err(f"server runs {replicas} replica(s); the stack shows a cluster of two")
    if not server.get("build"):
        err("server is not built from this repository's Dockerfile (`build: .`)")
    drain_ms = int(env.get("DRAIN_TIMEOUT_MS") or schema["DRAIN_TIMEOUT_MS"])
    grace = duration_seconds(server.get("stop_grace_period", "10s"))
    if not grace > drain_ms / 1000 + JOURNAL_FLUSH_S:
        err(f"stop_grace_period {grace:g} s <= DRAIN_TIMEOUT_MS {drain_ms / 1000:g} s + "
            f"{JOURNAL_FLUSH_S} s journal flush")
    for dep in ("redis", "postgres"):
        cond = ((server.get("depends_on") or {}).get(dep) or {}) \
            if isinstance(server.get("depends_on"), dict) else {}
        if cond.get("condition") != "service_healthy":
            err(f"server does not wait for {dep} to be healthy (depends_on condition)")
    for name, image in (("redis", "redis:7"), ("postgres", "postgres:15")):
        svc = services.get(name)
        if svc is None:
            err(f"no {name} service")
            continue
        if svc.get("image") != image:
            err(f"{name} image {svc.get('image')}, expected {image}")
        if not svc.get("healthcheck"):
            err(f"{name} has no healthcheck")
        if not svc.get("volumes"):
            err(f"{name} keeps its data on no volume")
    redis_cmd = services.get("redis", {}).get("command") or []
    redis_cmd = redis_cmd if isinstance(redis_cmd, str) else " ".join(redis_cmd)
    if not re.search(r"--appendonly\s+yes", redis_cmd):
        err("redis runs without AOF (--appendonly yes)")

    # The load balancer in front: publishes PORT, checks /ready, keeps WebSockets open.
    port = int(env.get("PORT") or schema["PORT"])
    # Services in a profile (monitoring) are optional: not part of the stack checked here.
    lbs = [(n, s) for n, s in services.items()
           if n not in ("server", "redis", "postgres") and not s.get("profiles")]
    if len(lbs) != 1:
        return errors + [f"compose: expected one load balancer service, found {len(lbs)}"]
    lb_name, lb = lbs[0]
    if (lb.get("depends_on") or {}).get("server", {}).get("condition") != "service_healthy":
        err(f"{lb_name} does not wait for the server to be healthy")
    if not any(str(p).split(":")[-1] == str(port) for p in lb.get("ports") or []):
        err(f"{lb_name} does not publish the server port {port}")
    configs = [v.split(":")[0] for v in lb.get("volumes") or [] if str(v).startswith("./")]
    if len(configs) != 1:
        return errors + [f"compose: {lb_name} mounts no configuration file"]
    path = os.path.join(source_dir, configs[0])
    if not os.path.isfile(path):
        return errors + [f"compose: {lb_name} configuration {configs[0]} does not exist"]
    with open(path, encoding="utf-8") as f:
        cfg = f.read()
    lines = [line.split("#", 1)[0].strip() for line in cfg.splitlines()]
    lines = [line for line in lines if line]
    if not any(re.fullmatch(r"bind\s+\S*:" + str(port), line) for line in lines):
        err(f"{configs[0]}: no `bind :{port}`")
    if not any(re.search(r"\bserver(-template)?\b.*\bserver:" + str(port) + r"\b", line)
               for line in lines):
        err(f"{configs[0]}: no backend server at server:{port}")
    if not any(re.search(r"http-check send .*uri " + re.escape(READY_PATH) + r"\b", line) or
               re.fullmatch(r"option httpchk\s+GET\s+" + re.escape(READY_PATH), line)
               for line in lines):
        err(f"{configs[0]}: servers are not health-checked on GET {READY_PATH}")
    tunnel = [duration_seconds(line.split()[-1]) for line in lines
              if re.fullmatch(r"timeout tunnel\s+\S+", line)]
    heartbeat_s = int(env.get("HEARTBEAT_TIMEOUT_MS") or schema["HEARTBEAT_TIMEOUT_MS"]) / 1000
    if not tunnel or tunnel[0] < 2 * heartbeat_s:
        err(f"{configs[0]}: `timeout tunnel` {tunnel} below twice HEARTBEAT_TIMEOUT_MS "
            f"({2 * heartbeat_s:g} s): idle WebSockets would be cut")
    if not any(line == "mode http" for line in lines):
        err(f"{configs[0]}: not in `mode http` (the /ready check and WebSocket upgrades need it)")
    return errors


def dockerfile_uid(source_dir):
    """The numeric uid of the Dockerfile's last USER, or None."""
    uid = None
    with open(os.path.join(source_dir, "Dockerfile"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*USER\s+([0-9]+)", line)
            if m:
                uid = int(m.group(1))
    return uid


# --- self-test: each check must catch its broken manifest --------------------------------------

def _server(docs):
    return server_deployments(docs)[0]


def _container(docs):
    return server_container(_server(docs)["spec"]["template"]["spec"])


def _configmap(docs):
    name = _container(docs)["envFrom"][0]["configMapRef"]["name"]
    return find(docs, "ConfigMap", name)


def _anti_selector(docs):
    anti = _server(docs)["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    terms = anti.get("requiredDuringSchedulingIgnoredDuringExecution") or [
        t["podAffinityTerm"] for t in anti["preferredDuringSchedulingIgnoredDuringExecution"]]
    return terms[0]["labelSelector"]


def _set(mapping, key, value):
    mapping[key] = value


MUTATIONS = [
    ("env name unknown to the server",
     lambda d: _container(d)["env"].append({"name": "REDIS_PASS", "value": "x"}),
     "REDIS_PASS is not an option"),
    ("ConfigMap key unknown to the server",
     lambda d: _set(_configmap(d)["data"], "LOGLEVEL", "debug"), "LOGLEVEL is not an option"),
    ("container port differs from PORT",
     lambda d: _set(_container(d)["ports"][0], "containerPort", 8080), "container ports"),
    ("PORT changed but not the container port",
     lambda d: _set(_configmap(d)["data"], "PORT", "4002"), "but PORT is 4002"),
    ("readiness on /health",
     lambda d: _set(_container(d)["readinessProbe"]["httpGet"], "path", "/health"),
     "readinessProbe must be GET /ready"),
    ("liveness on /ready",
     lambda d: _set(_container(d)["livenessProbe"]["httpGet"], "path", "/ready"),
     "livenessProbe must be GET /health"),
    ("grace period too short",
     lambda d: _set(_server(d)["spec"]["template"]["spec"], "terminationGracePeriodSeconds", 15),
     "terminationGracePeriodSeconds 15"),
    ("drain raised past the grace period",
     lambda d: _set(_configmap(d)["data"], "DRAIN_TIMEOUT_MS", "11000")
     or _set(_container(d)["lifecycle"]["preStop"]["exec"], "command", ["sleep", "12"]),
     "terminationGracePeriodSeconds"),
    ("anti-affinity on a label the pods lack (the old manifests' bug)",
     lambda d: _set(_anti_selector(d), "matchLabels", {"app": "tandem-server"}),
     "podAntiAffinity labelSelector"),
    ("anti-affinity that also selects Redis",
     lambda d: _set(_anti_selector(d), "matchLabels", {"app.kubernetes.io/part-of": "tandem-watch"}),
     "also matches the pods of StatefulSet redis"),
    ("PDB selecting nothing",
     lambda d: _set(by_kind(d, "PodDisruptionBudget")[0]["spec"]["selector"], "matchLabels",
                    {"app.kubernetes.io/name": "tandem"}), "PodDisruptionBudget"),
    ("Service selecting the wrong pods",
     lambda d: _set(find(d, "Service", "tandem-server")["spec"], "selector",
                    {"app.kubernetes.io/name": "tandem-server", "app.kubernetes.io/component": "web"}),
     "no Service selects the server pods"),
    ("root user",
     lambda d: _set(_server(d)["spec"]["template"]["spec"]["securityContext"], "runAsUser", 0),
     "runAsUser 0"),
    ("writable root filesystem",
     lambda d: _set(_container(d)["securityContext"], "readOnlyRootFilesystem", False),
     "readOnlyRootFilesystem"),
    ("capabilities kept",
     lambda d: _set(_container(d)["securityContext"], "capabilities", {"drop": ["NET_RAW"]}),
     "drop ALL"),
    ("privilege escalation allowed",
     lambda d: _container(d)["securityContext"].pop("allowPrivilegeEscalation"),
     "allowPrivilegeEscalation"),
    ("uid other than the image's",
     lambda d: _set(_server(d)["spec"]["template"]["spec"]["securityContext"], "runAsUser", 1000),
     "differs from the image's USER"),
    ("real secret value",
     lambda d: _set(by_kind(d, "Secret")[0], "data",
                    {"POSTGRES_PASSWORD": base64.b64encode(b"hunter2").decode()}),
     "not a CHANGE_ME placeholder"),
    ("password in the ConfigMap",
     lambda d: _set(_configmap(d)["data"], "POSTGRES_PASSWORD", "hunter2"), "in plain text"),
    ("MAX_CONNECTIONS raised without memory",
     lambda d: _set(_configmap(d)["data"], "MAX_CONNECTIONS", "100000"), "memory request"),
    ("NODE_ID not from the pod name",
     lambda d: _container(d)["env"].pop(0), "NODE_ID"),
    ("ingress timeout at nginx's default",
     lambda d: _set(by_kind(d, "Ingress")[0]["metadata"]["annotations"],
                    "nginx.ingress.kubernetes.io/proxy-read-timeout", "60"), "proxy-read-timeout"),
    ("postgres open to everyone",
     lambda d: _set(find(d, "NetworkPolicy", "postgres")["spec"]["ingress"][0], "from",
                    [{"namespaceSelector": {}}]), "postgres admits a peer"),
    ("redis volume too small",
     lambda d: _set(find(d, "StatefulSet", "redis")["spec"]["volumeClaimTemplates"][0]["spec"]
                    ["resources"]["requests"], "storage", "1Gi"), "volumeClaimTemplates"),
    ("quota too small for the HPA maximum",
     lambda d: _set(by_kind(d, "HorizontalPodAutoscaler")[0]["spec"], "maxReplicas", 40),
     "ResourceQuota"),
    ("wrong server count",
     lambda d: _set(by_kind(d, "HorizontalPodAutoscaler")[0]["spec"], "minReplicas", 7),
     "HPA minReplicas 7"),
    ("replica count in the Deployment, fighting the HPA",
     lambda d: _set(_server(d)["spec"], "replicas", 5), "the HPA owns the count"),
    ("rolling update that takes a pod down first",
     lambda d: _set(_server(d)["spec"]["strategy"]["rollingUpdate"], "maxUnavailable", 1),
     "maxUnavailable 0"),
    ("Namespace object not renamed (kustomize v2)",
     lambda d: _set(by_kind(d, "Namespace")[0]["metadata"], "name", "elsewhere"), "namespaces"),
]

COMPOSE_MUTATIONS = [
    ("env name unknown to the server",
     lambda c: _set(c["services"]["server"]["environment"], "REDIS_ADDR", "redis:6379"),
     "REDIS_ADDR is not an option"),
    ("standalone, not cluster mode",
     lambda c: c["services"]["server"]["environment"].pop("REDIS_URL"), "lacks REDIS_URL"),
    ("stop grace shorter than the drain",
     lambda c: _set(c["services"]["server"], "stop_grace_period", "10s"), "stop_grace_period"),
    ("no health condition",
     lambda c: _set(c["services"]["server"]["depends_on"], "redis", {"condition": "service_started"}),
     "healthy"),
    ("redis without AOF",
     lambda c: _set(c["services"]["redis"], "command", ["redis-server"]), "AOF"),
    ("one replica",
     lambda c: _set(c["services"]["server"]["deploy"], "replicas", 1), "replica"),
]


def self_test(rendered, compose, source_dir, schema, image_uid, files):
    failures = []

    def expect(where, what, errors, expected):
        if not any(expected in e for e in errors):
            failures.append(f"{where}: breaking it ({what}) went unnoticed; "
                            f"expected an error with {expected!r}, got {errors}")

    count = 0
    for overlay, docs in rendered.items():
        baseline = check_overlay(overlay, docs, schema, image_uid, files)
        if baseline:
            failures.append(f"{overlay}: not clean to begin with: {baseline}")
            continue
        mutations = MUTATIONS + (monitoring_wiring.K8S_MUTATIONS if overlay in MONITORED else []) + \
            (turn_wiring.K8S_MUTATIONS if turn_wiring.coturn_workloads(docs) else [])
        for what, mutate, expected in mutations:
            broken = copy.deepcopy(docs)
            mutate(broken)
            expect(overlay, what, check_overlay(overlay, broken, schema, image_uid, files),
                   expected)
            count += 1
    compose_baseline = check_compose(compose, source_dir, schema, files) if compose else []
    if compose_baseline:
        failures.append(f"compose: not clean to begin with: {compose_baseline}")
    elif compose is not None:
        for what, mutate, expected in COMPOSE_MUTATIONS + turn_wiring.COMPOSE_MUTATIONS:
            broken = copy.deepcopy(compose)
            mutate(broken)
            expect("compose", what, check_compose(broken, source_dir, schema, files), expected)
        for what, mutate, expected in monitoring_wiring.COMPOSE_MUTATIONS:
            broken, broken_files = copy.deepcopy(compose), copy.deepcopy(files)
            mutate(broken, broken_files)
            expect("compose", what, check_compose(broken, source_dir, schema, broken_files),
                   expected)
        count += len(COMPOSE_MUTATIONS) + len(monitoring_wiring.COMPOSE_MUTATIONS)
    return failures, count


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="the tandem-server binary")
    parser.add_argument("--kubectl", default="kubectl")
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--only", choices=["kustomize", "compose"])
    parser.add_argument("--overlay", action="append", help="only these overlays")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()

    try:
        schema = load_schema(args.server)
        image_uid = dockerfile_uid(args.source_dir)
        files = monitoring_wiring.load_files(args.source_dir)
        rendered = {}
        if args.only in (None, "kustomize"):
            for overlay in args.overlay or sorted(OVERLAYS):
                path = os.path.join(args.source_dir, "k8s", "overlays", overlay)
                rendered[overlay] = render_overlay(args.kubectl, path)
        compose = None
        if args.only in (None, "compose"):
            with open(os.path.join(args.source_dir, "docker-compose.yml"), encoding="utf-8") as f:
                compose = yaml.safe_load(f)
    except (CheckError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    if args.self_test:
        failures, count = self_test(rendered, compose, args.source_dir, schema, image_uid, files)
        for f in failures:
            print(f"FAIL {f}", file=sys.stderr)
        print(f"{count - len(failures)} of {count} broken manifests were caught")
        return 1 if failures else 0

    errors = []
    for overlay, docs in rendered.items():
        errors += check_overlay(overlay, docs, schema, image_uid, files)
        print(f"{overlay}: {len(docs)} objects checked")
    if compose is not None:
        errors += check_compose(compose, args.source_dir, schema, files)
        print("docker-compose.yml checked")
    for e in errors:
        print(f"FAIL {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
