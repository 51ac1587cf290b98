#!/usr/bin/env python3
"""Writes the two generated files of the operators' pack from their sources:

  deploy/monitoring/grafana/dashboards/tandem.json   from the panel list below
  k8s/components/monitoring/prometheusrule.yaml      from deploy/monitoring/{recording,alerts}.yml

  scripts/gen-monitoring.py          rewrite both
  scripts/gen-monitoring.py --check  exit 1 (and say which) if either is not current

The panel list is the dashboard's source: one line per panel, laid out left to right in
rows of 24 columns. Queries use the dashboard's variables ($job, $instance) and the
recording rules of deploy/monitoring/recording.yml; tests/deploy checks that each parses
and names metrics a real server exposes.
"""
import argparse
import json
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy/monitoring/grafana/dashboards/tandem.json"
RULE_SOURCES = [ROOT / "deploy/monitoring/recording.yml", ROOT / "deploy/monitoring/alerts.yml"]
PROMETHEUS_RULE = ROOT / "k8s/components/monitoring/prometheusrule.yaml"

SEL = 'job="$job", instance=~"$instance"'  # every panel's series selector


def q(expr, legend=""):
    return (expr.replace("{SEL}", "{" + SEL + "}"), legend)


# (kind, title, width, height, queries, options). Kinds: row, stat, timeseries, state,
# table. Options: unit, stack, max.
PANELS = [
    ("row", "Overview"),
    ("stat", "Nodes up", 4, 4, [q('sum(up{SEL})')]),
    ("stat", "Connections", 4, 4, [q("sum(tandem_connections{SEL})")]),
    ("stat", "Joined connections", 4, 4, [q("sum(tandem_joined_connections{SEL})")]),
    ("stat", "Rooms", 4, 4, [q("sum(tandem_rooms{SEL})")]),
    ("stat", "Messages in/s", 4, 4,
     [q("sum(instance_type:tandem_messages_in:rate5m{SEL})")], {"unit": "reqps"}),
    ("stat", "Deliveries/s", 4, 4,
     [q("sum(instance_type:tandem_messages_out:rate5m{SEL})")], {"unit": "reqps"}),
    ("row", "Traffic"),
    ("timeseries", "Connections by node", 12, 8,
     [q("sum by (instance) (tandem_connections{SEL})", "{{instance}} open"),
      q("sum by (instance) (tandem_joined_connections{SEL})", "{{instance}} joined")]),
    ("timeseries", "Rooms by node", 12, 8,
     [q("sum by (instance) (tandem_rooms{SEL})", "{{instance}}")]),
    ("timeseries", "Messages in by type", 8, 8,
     [q("sum by (type) (instance_type:tandem_messages_in:rate5m{SEL})", "{{type}}")],
     {"unit": "reqps", "stack": True}),
    ("timeseries", "Messages out by type", 8, 8,
     [q("sum by (type) (instance_type:tandem_messages_out:rate5m{SEL})", "{{type}}")],
     {"unit": "reqps", "stack": True}),
    ("timeseries", "Deliveries/s by node", 8, 8,
     [q("sum by (instance) (instance_type:tandem_messages_out:rate5m{SEL})", "{{instance}}")],
     {"unit": "reqps"}),
    ("row", "Problems"),
    ("timeseries", "Errors by code", 8, 8,
     [q("sum by (code) (instance_code:tandem_errors:rate5m{SEL}) > 0", "{{code}}")],
     {"unit": "reqps"}),
    ("timeseries", "Ready-gate outcomes", 8, 8,
     [q("sum by (outcome) (instance_outcome:tandem_gate_outcomes:rate5m{SEL})", "{{outcome}}")],
     {"unit": "reqps", "stack": True}),
    ("timeseries", "WebSocket closes by code", 8, 8,
     [q("sum by (code) (instance_code:tandem_ws_closes:rate5m{SEL}) > 0", "{{code}}")],
     {"unit": "reqps"}),
    ("timeseries", "Slow clients, rate limit, refusals", 12, 8,
     [q("sum by (instance) (instance:tandem_send_queue_overflows:rate5m{SEL})",
        "{{instance}} slow clients closed"),
      q("sum by (instance) (instance:tandem_rate_limited:rate5m{SEL})",
        "{{instance}} rate-limited"),
      q("sum by (reason) (rate(tandem_connections_rejected_total{SEL}[$__rate_interval]))",
        "refused: {{reason}}")],
     {"unit": "reqps"}),
    ("timeseries", "PIN failures and lockouts", 12, 8,
     [q("sum(rate(tandem_pin_failures_total{SEL}[$__rate_interval]))", "wrong PIN"),
      q("sum(rate(tandem_pin_lockouts_total{SEL}[$__rate_interval]))", "lockouts"),
      q("sum(rate(tandem_pin_locked_joins_total{SEL}[$__rate_interval]))", "joins while locked")],
     {"unit": "reqps"}),
    ("row", "Sync"),
    ("timeseries", "Sync spread (max - min of members' positions)", 12, 8,
     [q("histogram_quantile(0.95, sum by (le) "
        "(rate(tandem_sync_spread_seconds_bucket{SEL}[$__rate_interval])))", "p95"),
      q("sum(rate(tandem_sync_spread_seconds_sum{SEL}[$__rate_interval])) / "
        "sum(rate(tandem_sync_spread_seconds_count{SEL}[$__rate_interval]))", "mean")],
     {"unit": "s"}),
    ("timeseries", "Spreads over one frame (40 ms)", 12, 8,
     [q("1 - sum(rate(tandem_sync_spread_seconds_bucket{" + SEL + ', le="0.04"}'
        "[$__rate_interval])) / "
        "sum(rate(tandem_sync_spread_seconds_count{SEL}[$__rate_interval]))", "share over 40 ms")],
     {"unit": "percentunit", "max": 1}),
    ("row", "Backends"),
    ("state", "Redis and store links (1 = up)", 12, 8,
     [q("min by (instance) (tandem_redis_connected{SEL})", "{{instance}} Redis"),
      q("min by (instance) (tandem_store_up{SEL})", "{{instance}} store")]),
    ("timeseries", "Journal backlog", 12, 8,
     [q("sum by (instance) (tandem_journal_backlog{SEL})", "{{instance}}")]),
    ("timeseries", "Journal writes", 12, 8,
     [q("sum(rate(tandem_journal_written_total{SEL}[$__rate_interval]))", "written"),
      q("sum(rate(tandem_journal_spilled_total{SEL}[$__rate_interval]))", "spilled"),
      q("sum(rate(tandem_journal_dropped_total{SEL}[$__rate_interval]))", "dropped"),
      q("sum(rate(tandem_journal_write_failures_total{SEL}[$__rate_interval]))",
        "write failures")],
     {"unit": "reqps"}),
    ("timeseries", "Journal batch duration", 12, 8,
     [q("max by (instance) (tandem_journal_batch_seconds{SEL})", "{{instance}}")],
     {"unit": "s"}),
    ("row", "Nodes"),
    ("table", "Nodes", 24, 8,
     [q("max by (instance) (up{SEL})", "up"),
      q("max by (instance) (tandem_uptime_seconds{SEL})", "uptime"),
      q("sum by (instance) (tandem_connections{SEL})", "connections"),
      q("sum by (instance) (tandem_joined_connections{SEL})", "joined"),
      q("sum by (instance) (tandem_rooms{SEL})", "rooms"),
      q("sum by (instance) (instance_type:tandem_messages_in:rate5m{SEL})", "messages in/s"),
      q("min by (instance) (tandem_redis_connected{SEL})", "Redis"),
      q("min by (instance) (tandem_store_up{SEL})", "store"),
      q("sum by (instance) (tandem_journal_backlog{SEL})", "journal backlog")]),
]

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def panel_json(pid, spec, x, y):
    kind, title, width, height, queries = spec[:5]
    opts = spec[5] if len(spec) > 5 else {}
    targets = []
    for i, (expr, legend) in enumerate(queries):
        target = {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr,
                  "legendFormat": legend or "__auto"}
        if kind in ("stat", "table"):
            target["instant"] = True
            target["range"] = False
        if kind == "table":
            target["format"] = "table"
        targets.append(target)
    defaults = {"unit": opts.get("unit", "short")}
    panel = {"id": pid, "type": "timeseries", "title": title, "datasource": DATASOURCE,
             "gridPos": {"h": height, "w": width, "x": x, "y": y}, "targets": targets,
             "fieldConfig": {"defaults": defaults, "overrides": []}, "options": {}}
    if kind == "timeseries":
        defaults["custom"] = {"stacking": {"mode": "normal" if opts.get("stack") else "none"},
                              "fillOpacity": 10 if opts.get("stack") else 0}
        panel["options"] = {"legend": {"displayMode": "list", "placement": "bottom"},
                            "tooltip": {"mode": "multi"}}
    elif kind == "stat":
        panel["type"] = "stat"
        panel["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "graphMode": "none"}
    elif kind == "state":
        panel["type"] = "state-timeline"
        defaults["mappings"] = [{"type": "value", "options": {
            "0": {"text": "down", "color": "red"}, "1": {"text": "up", "color": "green"}}}]
        defaults["color"] = {"mode": "thresholds"}
        defaults["thresholds"] = {"mode": "absolute", "steps": [
            {"color": "red", "value": None}, {"color": "green", "value": 1}]}
    elif kind == "table":
        panel["type"] = "table"
        # One row per node: the instant queries joined on `instance`, each value a column
        # named after its query.
        panel["transformations"] = [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": {"Time": True},
                "renameByName": {f"Value #{t['refId']}": t["legendFormat"] for t in targets}}},
        ]
    return panel


def dashboard():
    panels, x, y, row_height, pid = [], 0, 0, 0, 0
    for spec in PANELS:
        pid += 1
        if spec[0] == "row":
            y += row_height
            x, row_height = 0, 0
            panels.append({"id": pid, "type": "row", "title": spec[1], "collapsed": False,
                           "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
            y += 1
            continue
        width, height = spec[2], spec[3]
        if x + width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(panel_json(pid, spec, x, y))
        x += width
        row_height = max(row_height, height)
    variables = [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "current": {}, "hide": 0, "refresh": 1},
        {"name": "job", "label": "Job", "type": "query", "datasource": DATASOURCE,
         "query": {"query": "label_values(tandem_uptime_seconds, job)", "refId": "job"},
         "definition": "label_values(tandem_uptime_seconds, job)", "refresh": 2,
         "current": {"text": "tandem-server", "value": "tandem-server"}, "sort": 1},
        {"name": "instance", "label": "Node", "type": "query", "datasource": DATASOURCE,
         "query": {"query": 'label_values(tandem_uptime_seconds{job="$job"}, instance)',
                   "refId": "instance"},
         "definition": 'label_values(tandem_uptime_seconds{job="$job"}, instance)',
         "refresh": 2, "multi": True, "includeAll": True, "allValue": ".*",
         "current": {"text": "All", "value": "$__all"}, "sort": 1},
    ]
    return {
        "uid": "tandem-server", "title": "tandem.watch signaling server",
        "description": "Generated by scripts/gen-monitoring.py; docs/OPERATIONS.md explains it.",
        "tags": ["tandem"], "timezone": "browser", "editable": True, "graphTooltip": 1,
        "schemaVersion": 39, "version": 1, "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": variables},
        "panels": panels,
    }


def prometheus_rule():
    """The PrometheusRule: the rule files' groups, embedded as they are written (comments
    kept), so that Kubernetes and the compose Prometheus evaluate the same rules."""
    out = ["---",
           "# Generated by scripts/gen-monitoring.py from deploy/monitoring/recording.yml and",
           "# alerts.yml: edit those and run the script (tests/deploy fails when this is stale).",
           "apiVersion: monitoring.coreos.com/v1",
           "kind: PrometheusRule",
           "metadata:",
           "  name: tandem-server",
           "  labels:",
           "    app.kubernetes.io/name: tandem-server",
           "    app.kubernetes.io/part-of: tandem-watch",
           "spec:",
           "  groups:"]
    for source in RULE_SOURCES:
        lines = source.read_text(encoding="utf-8").splitlines()
        start = lines.index("groups:") + 1
        out += [("  " + line) if line else "" for line in lines[start:]]
    text = "\n".join(out) + "\n"
    embedded = yaml.safe_load(text)["spec"]["groups"]
    expected = [g for s in RULE_SOURCES for g in yaml.safe_load(s.read_text())["groups"]]
    if embedded != expected:
        raise SystemExit("gen-monitoring: the embedded rules differ from their sources "
                         "(a rule file with content before `groups:`?)")
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check they are current")
    args = parser.parse_args()
    outputs = {DASHBOARD: json.dumps(dashboard(), indent=2) + "\n",
               PROMETHEUS_RULE: prometheus_rule()}
    stale = []
    for path, text in outputs.items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(path.relative_to(ROOT))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    for path in stale:
        print(f"{path} is stale: run scripts/gen-monitoring.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
