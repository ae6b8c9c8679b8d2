#!/usr/bin/env python3
"""Prints every metric name the chart's Grafana dashboards and Prometheus alert
rules use, one a line, sorted, with the histogram suffixes _bucket, _sum and
_count stripped to the base name, leaving out EXTERNAL_METRICS (what other
exporters provide). An end-to-end test scrapes every service's /metrics and
checks each name printed here is exported.

    python3 helm/tests/metric_names.py

It renders the chart with its default values, switching on the dashboards and
the PrometheusRule (off by default: it needs the Prometheus operator's CRDs).
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

# Metrics the rules use that staymesh does not export: the one place they are listed.
EXTERNAL_METRICS = {
    # kafka-exporter (Strimzi's Kafka Exporter, or danielqsj/kafka_exporter)
    "kafka_consumergroup_lag",
    # kube-state-metrics
    "kube_deployment_spec_replicas",
    "kube_deployment_status_replicas_available",
}

SUFFIXES = ("_bucket", "_sum", "_count")
# What an identifier outside braces, brackets and strings may be besides a metric.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "and", "or", "unless", "inf", "nan", "atan2", "le",
}
IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def names_in(expr: str) -> set[str]:
    """Metric names of one PromQL expression (or a Grafana label_values query)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    e = re.sub(r"\{[^}]*\}", " ", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)  # ranges and subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\{?\w+\}?", " ", e)  # Grafana variables
    e = re.sub(r"(?<![\w:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|[smhdwy])?(?![\w:])", " ", e)  # numbers, durations
    e = re.sub(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,[^)]*\)", r" \1 ", e)
    found = set()
    for m in IDENT.finditer(e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        if rest.startswith("("):  # a function
            continue
        if word.lower() in KEYWORDS:
            continue
        found.add(word)
    return found


def base_name(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def expressions(objects) -> list[str]:
    """PromQL of every alert and recording rule and every dashboard query."""
    out = []
    for obj in objects:
        if obj["kind"] == "PrometheusRule":
            for group in obj["spec"]["groups"]:
                out += [rule["expr"] for rule in group["rules"]]
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"].split("-dashboard-")[-1] != obj["metadata"]["name"]:
            for text in obj["data"].values():
                out += dashboard_queries(json.loads(text))
    return out


def dashboard_queries(dashboard) -> list[str]:
    out = []
    for panel in dashboard.get("panels", []):
        out += [t["expr"] for t in panel.get("targets", []) if t.get("expr")]
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            q = var.get("query")
            out.append(q["query"] if isinstance(q, dict) else q)
    return out


def used_metrics(objects) -> set[str]:
    """Base names of every metric the objects' rules and dashboards use."""
    names = set()
    for expr in expressions(objects):
        names |= {base_name(n) for n in names_in(expr)}
    return names


def default_objects():
    import chart

    return chart.render({"metrics": {"prometheusRule": {"enabled": True}}, "dashboards": {"enabled": True}})


def main() -> int:
    names = used_metrics(default_objects()) - EXTERNAL_METRICS
    for name in sorted(names):
        print(name)
    return 0 if names else 1


if __name__ == "__main__":
    sys.exit(main())
