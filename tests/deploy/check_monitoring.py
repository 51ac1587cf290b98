#!/usr/bin/env python3
"""Checks the operators' pack (deploy/monitoring: alert and recording rules, the Grafana
dashboard, the compose Prometheus configuration) against promtool, docs/OPERATIONS.md,
its promtool unit tests and the metrics real servers expose.

  check_monitoring.py static    --source-dir DIR --promtool PROMTOOL
      every alert has a `for:`, a severity, a summary and a runbook link to a heading of
      docs/OPERATIONS.md, and promtool tests in which it fires and stays quiet; the
      dashboard is valid, reads its datasource from a variable, shows what the issue asks
      and every query parses (promtool check rules on a generated file); promtool check
      config accepts the compose Prometheus configuration.
  check_monitoring.py metrics   --source-dir DIR --server BIN
      every metric (and label value) the rules and the dashboard name exists in the
      /metrics of real servers started here: standalone with SQLite, and a cluster node
      with Redis and PostgreSQL; then each deliberate misspelling must be reported.
  check_monitoring.py self-test --source-dir DIR --promtool PROMTOOL
      each static check must catch its broken input.

Every problem found is printed; the exit status is 1 if there was any.
"""
import argparse
import copy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_servers import Servers, ServerError, scrape, wait_ready  # noqa: E402
from monitoring_lib import (PromqlError, VARIABLE_VALUE, dashboard_panels,  # noqa: E402
                            expanded_queries, markdown_anchors, parse_exposition, selectors,
                            variable_list)

RULE_FILES = ["deploy/monitoring/recording.yml", "deploy/monitoring/alerts.yml"]
RULE_TESTS = "tests/deploy/rules/*_test.yml"
DASHBOARD = "deploy/monitoring/grafana/dashboards/tandem.json"
PROMETHEUS_CONFIG = "deploy/monitoring/prometheus.yml"
RUNBOOK = "docs/OPERATIONS.md"

SEVERITIES = {"critical", "warning"}
# Labels Prometheus attaches to every scraped series (not in /metrics).
TARGET_LABELS = {"job", "instance"}
# Metrics the rules may use that no tandem-server exposes, with where they come from.
EXTERNAL = {
    "up": "Prometheus itself, one series per scrape target",
    "kube_pod_deletion_timestamp": "kube-state-metrics (Kubernetes only)",
}
# What the dashboard must show (issue 21), as the metric that carries it.
DASHBOARD_MUST_SHOW = {
    "connections": "tandem_connections", "rooms": "tandem_rooms",
    "messages in by type": "tandem_messages_in_total",
    "messages out by type and deliveries": "tandem_messages_out_total",
    "errors by code": "tandem_errors_total", "gate outcomes": "tandem_gate_outcomes_total",
    "journal backlog": "tandem_journal_backlog", "Redis link state": "tandem_redis_connected",
    "PostgreSQL (store) state": "tandem_store_up",
}


def load_inputs(source_dir):
    def path(rel):
        return os.path.join(source_dir, rel)
    groups = []
    for rel in RULE_FILES:
        with open(path(rel), encoding="utf-8") as f:
            groups += yaml.safe_load(f)["groups"]
    tests = {}
    for test_path in sorted(glob.glob(path(RULE_TESTS))):
        with open(test_path, encoding="utf-8") as f:
            tests[os.path.relpath(test_path, source_dir)] = yaml.safe_load(f)
    with open(path(DASHBOARD), encoding="utf-8") as f:
        dashboard = json.load(f)
    with open(path(RUNBOOK), encoding="utf-8") as f:
        runbook = f.read()
    return {"groups": groups, "tests": tests, "dashboard": dashboard, "runbook": runbook}


def rules(groups):
    return [r for g in groups for r in g.get("rules") or []]


def duration_s(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)(ms|s|m|h|d|w|y)", text))


# --- the rules ---------------------------------------------------------------------------------

def rule_problems(inputs, source_dir):
    errors = []
    anchors = markdown_anchors(inputs["runbook"])
    alerts = [r for r in rules(inputs["groups"]) if "alert" in r]
    names = [a["alert"] for a in alerts]
    for name in sorted({n for n in names if names.count(n) > 1}):
        errors.append(f"alert {name} is defined twice")
    for rule in rules(inputs["groups"]):
        if "record" in rule and not re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", rule["record"]):
            errors.append(f"recording rule {rule['record']} is not named level:metric:operations")
    for a in alerts:
        where = f"alert {a['alert']}"
        if duration_s(str(a.get("for", ""))) <= 0:
            errors.append(f"{where} has no `for:` (a single bad scrape would page)")
        severity = (a.get("labels") or {}).get("severity")
        if severity not in SEVERITIES:
            errors.append(f"{where}: severity {severity!r} is not one of {sorted(SEVERITIES)}")
        annotations = a.get("annotations") or {}
        if not str(annotations.get("summary", "")).strip():
            errors.append(f"{where} has no summary")
        m = re.fullmatch(re.escape(RUNBOOK) + r"#([\w-]+)", str(annotations.get("runbook_url")))
        if not m:
            errors.append(f"{where}: runbook_url {annotations.get('runbook_url')!r} is not "
                          f"{RUNBOOK}#<anchor>")
        elif m.group(1) not in anchors:
            errors.append(f"{where}: runbook anchor #{m.group(1)} is no heading of {RUNBOOK}")

    # Every alert: a promtool test in which it fires, and one in which it stays quiet.
    fires, quiet = set(), set()
    wanted = {os.path.normpath(os.path.join(source_dir, rel)) for rel in RULE_FILES}
    for test_path, test in inputs["tests"].items():
        base = os.path.dirname(os.path.join(source_dir, test_path))
        used = {os.path.normpath(os.path.join(base, f)) for f in test.get("rule_files") or []}
        if used != wanted:
            errors.append(f"{test_path}: rule_files must be exactly {RULE_FILES}")
        for case in test.get("tests") or []:
            for t in case.get("alert_rule_test") or []:
                (fires if t.get("exp_alerts") else quiet).add(t["alertname"])
    for name in names:
        if name not in fires:
            errors.append(f"alert {name}: no promtool test in which it fires ({RULE_TESTS})")
        if name not in quiet:
            errors.append(f"alert {name}: no promtool test in which it stays quiet")
    for name in sorted((fires | quiet) - set(names)):
        errors.append(f"{RULE_TESTS} test alert {name}, which does not exist")
    return errors


# --- the dashboard -----------------------------------------------------------------------------

def _is_datasource_variable(ds):
    return isinstance(ds, dict) and ds.get("uid") in ("${datasource}", "$datasource")


def dashboard_problems(inputs, promtool):
    errors = []
    dash = inputs["dashboard"]
    for key in ("uid", "title", "schemaVersion", "panels"):
        if key not in dash:
            errors.append(f"dashboard has no {key}")
    if not any(v.get("type") == "datasource" and v.get("name") == "datasource" and
               v.get("query") == "prometheus" for v in variable_list(dash)):
        errors.append("dashboard has no `datasource` variable of type prometheus")
    panels = dashboard_panels(dash)
    ids = [p.get("id") for p in dash.get("panels") or [] if p.get("type") == "row"]
    ids += [p.get("id") for p in panels]
    if len(ids) != len(set(ids)):
        errors.append("dashboard panel ids are not unique")
    for p in panels:
        where = f"panel {p.get('id')} {p.get('title')!r}"
        grid = p.get("gridPos") or {}
        if not grid or grid.get("x", 0) + grid.get("w", 0) > 24:
            errors.append(f"{where}: gridPos {grid} is not within 24 columns")
        if not _is_datasource_variable(p.get("datasource")):
            errors.append(f"{where}: datasource {p.get('datasource')} is not ${{datasource}}")
        targets = p.get("targets") or []
        if not targets:
            errors.append(f"{where} has no query")
        refs = [t.get("refId") for t in targets]
        if len(refs) != len(set(refs)):
            errors.append(f"{where}: refIds {refs} are not unique")
        for t in targets:
            if "datasource" in t and not _is_datasource_variable(t["datasource"]):
                errors.append(f"{where}: query {t.get('refId')} has a fixed datasource")
            if not str(t.get("expr", "")).strip():
                errors.append(f"{where}: query {t.get('refId')} is empty")
    if not any(p.get("type") == "table" and (p.get("targets") or []) and
               all(re.search(r"\bby \(instance\)", t.get("expr", "")) for t in p["targets"])
               for p in panels):
        errors.append("dashboard has no per-node table (a table whose queries are by (instance))")

    recorded = {r["record"]: r["expr"] for r in rules(inputs["groups"]) if "record" in r}
    queries, shown = [], set()
    for where, expr in expanded_queries(dash):
        try:
            if isinstance(expr, PromqlError):
                raise expr
            for name, _ in selectors(expr):
                shown |= raw_metrics(name, recorded)
            queries.append((where, expr))
        except PromqlError as e:
            errors.append(f"dashboard {where}: {e}")
    for what, metric in DASHBOARD_MUST_SHOW.items():
        if metric not in shown:
            errors.append(f"dashboard shows no {what} ({metric})")
    if queries:
        errors += promtool_parse(promtool, [(f"dashboard {w}", e) for w, e in queries])
    return errors


def promtool_parse(promtool, queries):
    """promtool has no PromQL-only check: each query becomes a recording rule of a
    generated rules file, and `promtool check rules` parses them all."""
    doc = {"groups": [{"name": "queries", "rules": [
        {"record": f"query:n{i}:check", "expr": expr} for i, (_, expr) in enumerate(queries)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(doc, f)
    try:
        proc = subprocess.run([promtool, "check", "rules", f.name], capture_output=True,
                              text=True, timeout=60)
    finally:
        os.unlink(f.name)
    if proc.returncode == 0:
        return []
    out = proc.stdout + proc.stderr
    bad = [where for i, (where, _) in enumerate(queries) if f"query:n{i}:check" in out]
    return [f"{w}: promtool cannot parse it" for w in bad] or [f"promtool check rules: {out}"]


# --- metric names against real servers -----------------------------------------------------------

def raw_metrics(name, recorded, seen=None):
    """The metrics a (possibly recorded) series is computed from."""
    if name not in recorded:
        return {name}
    seen = (seen or set()) | {name}
    out = set()
    for source, _ in selectors(recorded[name]):
        if source not in seen:
            out |= raw_metrics(source, recorded, seen)
    return out


def _wanted_values(op, value):
    if op in ("=", "!="):
        return [value]
    if re.fullmatch(r"[\w.:/-]+(\|[\w.:/-]+)*", value):
        return value.split("|")
    return None  # a real regular expression


def selector_problems(where, name, matchers, recorded, exposed):
    if name is None:
        return [f"{where}: a selector without a metric name"]
    if name in EXTERNAL:
        return []
    if name in recorded:
        sources = raw_metrics(name, recorded) - set(EXTERNAL)
    elif name in exposed:
        sources = {name}
    elif name.startswith("tandem_"):
        return [f"{where}: {name} is in the /metrics of no server started (renamed?)"]
    else:
        return [f"{where}: {name} is no server metric, recording rule or declared external "
                f"metric (EXTERNAL in {os.path.basename(__file__)})"]
    errors = []
    for label, op, value in matchers:
        if label in TARGET_LABELS or label == "__name__" or value == "":
            continue
        values = {s[label] for m in sources for s in exposed.get(m, []) if label in s}
        if not values:
            errors.append(f"{where}: no series of {sorted(sources)} has a label {label!r}")
            continue
        if VARIABLE_VALUE in value:
            continue
        wanted = _wanted_values(op, value)
        if wanted is None:
            if op == "=~" and not any(re.fullmatch(value, v) for v in values):
                errors.append(f"{where}: {label}=~{value!r} matches none of {sorted(values)}")
            continue
        for w in wanted:
            if w not in values:
                errors.append(f"{where}: {name}: no series has {label}=\"{w}\" "
                              f"(it has {sorted(values)})")
    return errors


def metric_problems(inputs, exposed):
    recorded = {r["record"]: r["expr"] for r in rules(inputs["groups"]) if "record" in r}
    items = [(f"rule {r.get('alert') or r.get('record')}", r["expr"])
             for r in rules(inputs["groups"])]
    items += [(f"dashboard {w}", e) for w, e in expanded_queries(inputs["dashboard"])]
    errors = []
    for where, expr in items:
        try:
            if isinstance(expr, PromqlError):
                raise expr
            found = selectors(str(expr))
        except PromqlError as e:
            errors.append(f"{where}: {e}")
            continue
        for name, matchers in found:
            errors += selector_problems(where, name, matchers, recorded, exposed)
    return errors


def scrape_servers(server):
    """{name: [labels]} over the /metrics of a standalone server (SQLite) and of a cluster
    node (Redis + PostgreSQL), each started here."""
    exposed = {}
    with Servers() as s:
        standalone = s.tandem(server, "standalone", {})
        redis_url, pg_url = s.redis(), s.postgres()
        node = s.tandem(server, "cluster-node", {"REDIS_URL": redis_url, "DATABASE_URL": pg_url})
        wait_ready(node)  # both Redis links up: the node as it serves clients
        for name, port in (("standalone (SQLite)", standalone),
                           ("cluster node (Redis, PostgreSQL)", node)):
            families = parse_exposition(scrape(port))
            print(f"{name}: {len(families)} series names in /metrics")
            for metric, samples in families.items():
                exposed.setdefault(metric, []).extend(samples)
    return exposed


# Deliberate misspellings the name check must report (rule or dashboard text, replaced).
NAME_MUTATIONS = [
    ("metric renamed in an alert", "alerts", "tandem_store_up == 0", "tandem_store_ok == 0",
     "tandem_store_ok is in the /metrics of no server"),
    ("label value renamed in an alert", "alerts", 'reason="max_connections"',
     'reason="max_conn"', 'no series has reason="max_conn"'),
    ("excluded error code renamed", "alerts", "PIN_REQUIRED|", "PIN_NEEDED|",
     'no series has code="PIN_NEEDED"'),
    ("label renamed in an alert", "alerts", 'connection="command"', 'link="command"',
     "has a label 'link'"),
    ("external metric not declared", "alerts", "kube_pod_deletion_timestamp",
     "kube_pod_deleted_at", "kube_pod_deleted_at is no server metric"),
    ("metric renamed in a recording rule", "recording", "rate(tandem_rate_limited_total",
     "rate(tandem_rate_limits_total", "tandem_rate_limits_total is in the /metrics of no"),
    ("metric renamed in a panel", "dashboard", "tandem_journal_backlog{", "tandem_journal_lag{",
     "tandem_journal_lag is in the /metrics of no server"),
    ("recorded series misspelled in a panel", "dashboard", "instance_code:tandem_errors:rate5m",
     "instance_code:tandem_error:rate5m", "instance_code:tandem_error:rate5m is no server"),
]


def mutate_text(inputs, where, old, new):
    broken = copy.deepcopy(inputs)
    if where == "dashboard":
        text = json.dumps(broken["dashboard"])
        assert old in text, old
        broken["dashboard"] = json.loads(text.replace(old, new, 1))
        return broken
    group = "tandem.alerts" if where == "alerts" else "tandem.recording"
    for rule in next(g for g in broken["groups"] if g["name"] == group)["rules"]:
        if old in rule["expr"]:
            rule["expr"] = rule["expr"].replace(old, new, 1)
            return broken
    raise AssertionError(f"{old!r} is in no rule of {group}")


def run_metrics(source_dir, server):
    inputs = load_inputs(source_dir)
    try:
        exposed = scrape_servers(server)
    except (ServerError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    errors = metric_problems(inputs, exposed)
    for e in errors:
        print(f"FAIL {e}", file=sys.stderr)
    if errors:
        return 1
    missed = missed_breakages(
        [(what, lambda w=where, o=old, n=new: mutate_text(inputs, w, o, n), expected)
         for what, where, old, new, expected in NAME_MUTATIONS],
        lambda broken: metric_problems(broken, exposed))
    print(f"every metric of the rules and the dashboard exists; "
          f"{len(NAME_MUTATIONS) - len(missed)} of {len(NAME_MUTATIONS)} misspellings caught")
    return 1 if missed else 0


def missed_breakages(cases, problems_of):
    """Each (what, make_broken_inputs, expected message) must be reported by `problems_of`;
    prints and returns the ones that were not."""
    missed = []
    for what, make_broken, expected in cases:
        found = problems_of(make_broken())
        if not any(expected in e for e in found):
            missed.append(f"{what} went unnoticed: expected {expected!r}, got {found}")
    for m in missed:
        print(f"FAIL {m}", file=sys.stderr)
    return missed


# --- static checks and their self-test ---------------------------------------------------------

def static_problems(inputs, source_dir, promtool):
    return rule_problems(inputs, source_dir) + dashboard_problems(inputs, promtool)


def _alert(inputs, name):
    return next(r for r in rules(inputs["groups"]) if r.get("alert") == name)


def _panel(inputs, title):
    return next(p for p in dashboard_panels(inputs["dashboard"]) if p["title"] == title)


STATIC_MUTATIONS = [
    ("alert without for:", lambda i: _alert(i, "TandemStoreDown").pop("for"), "has no `for:`"),
    ("alert with an unknown severity",
     lambda i: _alert(i, "TandemNodeDown")["labels"].update(severity="page"), "severity 'page'"),
    ("runbook anchor that is no heading",
     lambda i: _alert(i, "TandemNodeDown")["annotations"].update(
         runbook_url="docs/OPERATIONS.md#node-down"), "#node-down is no heading"),
    ("runbook section removed",
     lambda i: i.update(runbook=i["runbook"].replace("### TandemStoreDown", "### Store")),
     "#tandemstoredown is no heading"),
    ("alert without a summary",
     lambda i: _alert(i, "TandemNodeDown")["annotations"].pop("summary"), "has no summary"),
    ("alert that no test fires",
     lambda i: i["groups"][-1]["rules"].append(dict(_alert(i, "TandemNodeDown"), alert="TandemX")),
     "TandemX: no promtool test in which it fires"),
    ("alert that no test keeps quiet",
     lambda i: [t["alert_rule_test"].__setitem__(slice(None), [
         a for a in t["alert_rule_test"] if a.get("exp_alerts") or
         a["alertname"] != "TandemStoreDown"]) for f in i["tests"].values()
         for t in f["tests"] if "alert_rule_test" in t],
     "TandemStoreDown: no promtool test in which it stays quiet"),
    ("panel with a fixed datasource",
     lambda i: _panel(i, "Rooms by node").update(datasource={"type": "prometheus", "uid": "abc"}),
     "is not ${datasource}"),
    ("no datasource variable",
     lambda i: i["dashboard"]["templating"]["list"].pop(0), "no `datasource` variable"),
    ("panel query that does not parse",
     lambda i: _panel(i, "Rooms by node")["targets"][0].update(
         expr="sum by (instance) (tandem_rooms"),
     "'Rooms by node' query A: promtool cannot parse it"),
    ("undefined variable in a panel",
     lambda i: _panel(i, "Rooms by node")["targets"][0].update(expr='tandem_rooms{node="$node"}'),
     "undefined dashboard variable $node"),
    ("journal backlog panel removed",
     lambda i: i["dashboard"]["panels"].remove(_panel(i, "Journal backlog")) or
     i["dashboard"]["panels"].remove(_panel(i, "Nodes")), "shows no journal backlog"),
    ("no per-node table",
     lambda i: _panel(i, "Nodes").update(type="timeseries"), "no per-node table"),
    ("panel wider than the grid",
     lambda i: _panel(i, "Rooms by node")["gridPos"].update(x=20), "not within 24 columns"),
]


def run_static(source_dir, promtool, self_test):
    inputs = load_inputs(source_dir)
    errors = static_problems(inputs, source_dir, promtool)
    if not self_test:
        proc = subprocess.run([promtool, "check", "config", os.path.join(source_dir,
                                                                         PROMETHEUS_CONFIG)],
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            errors.append(f"promtool check config {PROMETHEUS_CONFIG}:\n{proc.stdout}{proc.stderr}")
        for e in errors:
            print(f"FAIL {e}", file=sys.stderr)
        alerts = [r for r in rules(inputs["groups"]) if "alert" in r]
        print(f"{len(alerts)} alerts, {len(expanded_queries(inputs['dashboard']))} dashboard "
              f"queries checked")
        return 1 if errors else 0
    if errors:
        print(f"FAIL not clean to begin with: {errors}", file=sys.stderr)
        return 1
    def broken(mutate):
        out = copy.deepcopy(inputs)
        mutate(out)
        return out
    missed = missed_breakages(
        [(what, lambda m=mutate: broken(m), expected)
         for what, mutate, expected in STATIC_MUTATIONS],
        lambda b: static_problems(b, source_dir, promtool))
    print(f"{len(STATIC_MUTATIONS) - len(missed)} of {len(STATIC_MUTATIONS)} broken inputs "
          f"were caught")
    return 1 if missed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["static", "metrics", "self-test"])
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--promtool", default="promtool")
    parser.add_argument("--server", help="the tandem-server binary (metrics)")
    args = parser.parse_args()
    if args.mode == "metrics":
        if not args.server:
            parser.error("metrics needs --server")
        return run_metrics(args.source_dir, args.server)
    return run_static(args.source_dir, args.promtool, args.mode == "self-test")


if __name__ == "__main__":
    sys.exit(main())
