"""Checks of the monitoring wiring, called by check_manifests.py: the compose `monitoring`
profile (Prometheus and Grafana, deploy/monitoring) and the Kubernetes component
(k8s/components/monitoring: a ServiceMonitor and a PrometheusRule)."""
import os
import re

import yaml

from deploy_lib import selector_matches

RULE_FILES = ["deploy/monitoring/recording.yml", "deploy/monitoring/alerts.yml"]
DASHBOARD = "deploy/monitoring/grafana/dashboards/tandem.json"
PROFILE = "monitoring"
PROMETHEUS_DEFAULT_CONFIG = "/etc/prometheus/prometheus.yml"
GRAFANA_PROVISIONING = "/etc/grafana/provisioning"
PROMETHEUS_PORT = 9090


def load_files(source_dir):
    """The repository files the wiring refers to, parsed: {relative path: object}."""
    files = {}
    for root, _, names in os.walk(os.path.join(source_dir, "deploy", "monitoring")):
        for name in names:
            if name.endswith((".yml", ".yaml")):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    files[os.path.relpath(path, source_dir)] = yaml.safe_load(f)
    return files


def alert_job(files):
    """The scrape job the alerts select (`up{job="..."}`), or None."""
    for group in (files.get("deploy/monitoring/alerts.yml") or {}).get("groups") or []:
        for rule in group.get("rules") or []:
            m = re.search(r'\bup\{job="([^"]+)"', str(rule.get("expr", "")))
            if m:
                return m.group(1)
    return None


def rule_groups(files):
    return [g for rel in RULE_FILES for g in (files.get(rel) or {}).get("groups") or []]


# --- compose ---------------------------------------------------------------------------------

def _binds(service):
    """{container path: repository path} of a service's `./` bind mounts."""
    out = {}
    for v in service.get("volumes") or []:
        parts = str(v).split(":")
        if parts[0].startswith("./") and len(parts) >= 2:
            out[parts[1].rstrip("/")] = os.path.normpath(parts[0])
    return out


def _by_image(services, prefix):
    return [(n, s) for n, s in services.items() if str(s.get("image", "")).startswith(prefix)]


def check_compose_monitoring(compose, files, source_dir, port):
    errors = []

    def err(msg):
        errors.append(f"compose monitoring: {msg}")

    services = compose.get("services") or {}
    proms, grafanas = _by_image(services, "prom/prometheus"), _by_image(services, "grafana/")
    if len(proms) != 1 or len(grafanas) != 1:
        return [f"compose monitoring: expected one Prometheus and one Grafana service, found "
                f"{[n for n, _ in proms]} and {[n for n, _ in grafanas]}"]
    (prom_name, prom), (_, grafana) = proms[0], grafanas[0]
    for name, svc in (proms[0], grafanas[0]):
        if svc.get("profiles") != [PROFILE]:
            err(f"{name} is not in (only) the `{PROFILE}` profile: it would run in every stack")
        for published in svc.get("ports") or []:
            if not str(published).startswith("127.0.0.1:"):
                err(f"{name} publishes {published} beyond 127.0.0.1")

    # Prometheus: the configuration and every rule file it loads are this repository's.
    binds = _binds(prom)
    command = " ".join(prom.get("command") or []) if isinstance(prom.get("command"), list) \
        else str(prom.get("command") or "")
    m = re.search(r"--config\.file=(\S+)", command)
    config_path = m.group(1) if m else PROMETHEUS_DEFAULT_CONFIG
    config_rel = binds.get(config_path)
    config = files.get(config_rel) if config_rel else None
    if config is None:
        err(f"{prom_name}: {config_path} is not a file of deploy/monitoring mounted from here")
        return errors
    mounted_rules = set()
    for rule_file in config.get("rule_files") or []:
        in_container = os.path.normpath(os.path.join(os.path.dirname(config_path), rule_file))
        rel = binds.get(in_container)
        if rel is None or rel not in files:
            err(f"{prom_name}: rule file {rule_file} ({in_container}) is not mounted from here")
        else:
            mounted_rules.add(rel)
    for rel in RULE_FILES:
        if rel not in mounted_rules:
            err(f"{prom_name} does not load {rel}")

    # The scrape job: the alerts' job name, every replica of `server` on PORT, /metrics.
    job = alert_job(files)
    jobs = {j.get("job_name"): j for j in config.get("scrape_configs") or []}
    scrape = jobs.get(job)
    if scrape is None:
        err(f"no scrape job {job!r} (the job the alerts select); jobs: {sorted(map(str, jobs))}")
    else:
        if scrape.get("metrics_path", "/metrics") != "/metrics":
            err(f"scrape job {job} reads {scrape.get('metrics_path')}, not /metrics")
        targets = [(n, d.get("port")) for d in scrape.get("dns_sd_configs") or []
                   for n in d.get("names") or []]
        targets += [tuple(t.rsplit(":", 1)) for s in scrape.get("static_configs") or []
                    for t in s.get("targets") or []]
        if not any(host == "server" and str(p) == str(port) for host, p in targets):
            err(f"scrape job {job} does not scrape the `server` service on port {port}: "
                f"{targets}")

    # Grafana: this Prometheus as data source, the dashboard provisioned.
    gbinds = _binds(grafana)
    provisioning = gbinds.get(GRAFANA_PROVISIONING)
    if provisioning is None:
        return errors + [f"compose monitoring: grafana does not mount a provisioning directory "
                         f"at {GRAFANA_PROVISIONING}"]
    sources = [d for rel, doc in files.items()
               if rel.startswith(os.path.join(provisioning, "datasources"))
               for d in (doc or {}).get("datasources") or []]
    wanted_url = f"http://{prom_name}:{PROMETHEUS_PORT}"
    if not any(d.get("type") == "prometheus" and str(d.get("url", "")).rstrip("/") == wanted_url
               for d in sources):
        err(f"grafana has no prometheus data source at {wanted_url}")
    providers = [p for rel, doc in files.items()
                 if rel.startswith(os.path.join(provisioning, "dashboards"))
                 for p in (doc or {}).get("providers") or []]
    dashboard_dirs = [gbinds.get(str((p.get("options") or {}).get("path", "")).rstrip("/"))
                      for p in providers]
    if os.path.dirname(DASHBOARD) not in dashboard_dirs:
        err(f"grafana provisions no dashboards from {os.path.dirname(DASHBOARD)} "
            f"(providers' paths {[(p.get('options') or {}).get('path') for p in providers]})")
    if not os.path.isfile(os.path.join(source_dir, DASHBOARD)):
        err(f"{DASHBOARD} does not exist")
    return errors


def _volumes_without(service, needle):
    return [v for v in service["volumes"] if needle not in str(v)]


COMPOSE_MUTATIONS = [
    ("Prometheus outside the profile",
     lambda c, f: c["services"]["prometheus"].pop("profiles"), "prometheus is not in"),
    ("Grafana published on every interface",
     lambda c, f: c["services"]["grafana"].update(ports=["3000:3000"]), "beyond 127.0.0.1"),
    ("alert rules not mounted",
     lambda c, f: c["services"]["prometheus"].update(
         volumes=_volumes_without(c["services"]["prometheus"], "alerts.yml")),
     "rule file alerts.yml"),
    ("scrape job renamed",
     lambda c, f: f["deploy/monitoring/prometheus.yml"]["scrape_configs"][0].update(
         job_name="tandem"), "no scrape job 'tandem-server'"),
    ("scrape port not the server's",
     lambda c, f: f["deploy/monitoring/prometheus.yml"]["scrape_configs"][0]
     ["dns_sd_configs"][0].update(port=8080), "on port 4001"),
    ("data source pointing elsewhere",
     lambda c, f: f["deploy/monitoring/grafana/provisioning/datasources/prometheus.yml"]
     ["datasources"][0].update(url="http://localhost:9090"), "no prometheus data source"),
    ("dashboards mounted where no provider reads",
     lambda c, f: c["services"]["grafana"].update(volumes=[
         v.replace(":/etc/grafana/dashboards", ":/var/lib/grafana/dashboards")
         for v in c["services"]["grafana"]["volumes"]]), "provisions no dashboards"),
]


# --- Kubernetes ----------------------------------------------------------------------------

def check_k8s_monitoring(overlay, docs, files, port, required, resolve_port):
    """The ServiceMonitor and PrometheusRule of a rendered overlay (`required`: prod).
    `resolve_port` maps a Service targetPort (number or name) to the container's port."""
    errors = []

    def err(msg):
        errors.append(f"{overlay}: {msg}")

    monitors = [d for d in docs if d.get("kind") == "ServiceMonitor"]
    prom_rules = [d for d in docs if d.get("kind") == "PrometheusRule"]
    if not monitors and not prom_rules:
        return [f"{overlay}: no ServiceMonitor and PrometheusRule (k8s/components/monitoring)"] \
            if required else []
    services = [d for d in docs if d.get("kind") == "Service"]
    job = alert_job(files)
    if len(monitors) != 1:
        err(f"expected one ServiceMonitor, found {len(monitors)}")
    for sm in monitors:
        spec = sm.get("spec") or {}
        chosen = [s for s in services
                  if selector_matches(spec.get("selector"), s["metadata"].get("labels") or {})]
        names = [s["metadata"]["name"] for s in chosen]
        if names != [job]:
            err(f"ServiceMonitor selects Services {names}, not exactly {job!r} (the Service's "
                f"name becomes the job the alerts select)")
        if spec.get("jobLabel"):
            err(f"ServiceMonitor sets jobLabel {spec['jobLabel']}: the job would not be {job!r}")
        svc_ports = {p.get("name"): p for s in chosen for p in s["spec"].get("ports") or []}
        for ep in spec.get("endpoints") or []:
            sp = svc_ports.get(ep.get("port"))
            if sp is None:
                err(f"ServiceMonitor endpoint port {ep.get('port')!r} is no named port of "
                    f"{names}")
            elif resolve_port(sp.get("targetPort", sp.get("port"))) != port:
                err(f"ServiceMonitor scrapes Service port {sp.get('port')}, which is not the "
                    f"server's PORT {port}")
            if ep.get("path", "/metrics") != "/metrics":
                err(f"ServiceMonitor endpoint path {ep.get('path')} is not /metrics")
        if not spec.get("endpoints"):
            err("ServiceMonitor has no endpoints")
    if len(prom_rules) != 1:
        err(f"expected one PrometheusRule, found {len(prom_rules)}")
    elif (prom_rules[0].get("spec") or {}).get("groups") != rule_groups(files):
        err("PrometheusRule groups differ from deploy/monitoring/{recording,alerts}.yml "
            "(run scripts/gen-monitoring.py)")
    # Prometheus must be let in by the NetworkPolicy of the server pods.
    if not any(((peer.get("namespaceSelector") or {}).get("matchLabels") or {}).get(
            "kubernetes.io/metadata.name") == "monitoring"
            for p in docs if p.get("kind") == "NetworkPolicy"
            for rule in p["spec"].get("ingress") or [] for peer in rule.get("from") or []):
        err("no NetworkPolicy admits the `monitoring` namespace (Prometheus) to the servers")
    return errors


def _kind(docs, kind):
    return next(d for d in docs if d.get("kind") == kind)


K8S_MUTATIONS = [
    ("ServiceMonitor selecting Redis too",
     lambda d: _kind(d, "ServiceMonitor")["spec"]["selector"].update(
         matchLabels={"app.kubernetes.io/part-of": "tandem-watch"}), "ServiceMonitor selects"),
    ("ServiceMonitor on a port name the Service lacks",
     lambda d: _kind(d, "ServiceMonitor")["spec"]["endpoints"][0].update(port="metrics"),
     "endpoint port 'metrics'"),
    ("ServiceMonitor on another path",
     lambda d: _kind(d, "ServiceMonitor")["spec"]["endpoints"][0].update(path="/status"),
     "path /status"),
    ("PrometheusRule out of date",
     lambda d: _kind(d, "PrometheusRule")["spec"]["groups"][-1]["rules"].pop(),
     "PrometheusRule groups differ"),
    ("monitoring component dropped",
     lambda d: [d.remove(x) for x in [x for x in d if x.get("kind") in
                                      ("ServiceMonitor", "PrometheusRule")]],
     "no ServiceMonitor and PrometheusRule"),
]
