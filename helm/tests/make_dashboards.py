#!/usr/bin/env python3
"""Writes helm/staymesh/dashboards/*.json (Grafana dashboards) from the panel
lists below. The JSON files are committed; test_chart.py checks they are what
this script writes, so edit here and run `python3 helm/tests/make_dashboards.py`."""

import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parent.parent / "staymesh" / "dashboards"
NS = 'namespace=~"$namespace"'


def panel(title, exprs, unit="short", kind="timeseries", description=""):
    """exprs: [(expr, legend)]"""
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True}}
        if kind == "timeseries"
        else {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": e, "legendFormat": legend,
             "datasource": {"type": "prometheus", "uid": "${datasource}"}}
            for i, (e, legend) in enumerate(exprs)
        ],
    }


def variable(name, query, multi=True, label=None):
    return {
        "name": name,
        "label": label or name,
        "type": "query",
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "query": {"query": query, "refId": name},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": multi,
        "current": {},
        "sort": 1,
    }


def dashboard(uid, title, description, panels, extra_vars=()):
    laid = []
    for i, p in enumerate(panels):
        w = 24 if p.get("_wide") else 12
        p.pop("_wide", None)
        p["id"] = i + 1
        laid.append(p)
    # Two panels a row, 8 high.
    x = y = 0
    for p in laid:
        w = 12 if p["type"] != "stat" else 6
        if x + w > 24:
            x, y = 0, y + 8
        p["gridPos"] = {"h": 8, "w": w, "x": x, "y": y}
        x += w
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["staymesh"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "label": "Data source", "type": "datasource",
                 "query": "prometheus", "current": {}, "hide": 0},
                variable("namespace", "label_values(grpc_server_requests_total, namespace)", multi=False),
                *extra_vars,
            ]
        },
        "panels": laid,
        "annotations": {"list": []},
    }


SERVICE = f'{NS}, service=~"$service"'
rpc = dashboard(
    "staymesh-rpc",
    "staymesh / RPCs (RED)",
    "Rate, errors and duration of every gRPC service and method.",
    [
        panel("Requests per second by service",
              [(f"sum by (service) (rate(grpc_server_requests_total{{{SERVICE}}}[$__rate_interval]))", "{{service}}")], "reqps"),
        panel("Server-fault ratio by service",
              [(f'sum by (service) (rate(grpc_server_requests_total{{{SERVICE}, code=~"Internal|Unknown|Unavailable|DeadlineExceeded|DataLoss"}}[$__rate_interval]))'
                f" / sum by (service) (rate(grpc_server_requests_total{{{SERVICE}}}[$__rate_interval]))", "{{service}}")],
              "percentunit", description="Internal, Unknown, Unavailable, DeadlineExceeded and DataLoss over all RPCs (what StaymeshHighErrorRatio alerts on)."),
        panel("p99 latency by service (unary)",
              [(f'histogram_quantile(0.99, sum by (service, le) (rate(grpc_server_request_duration_seconds_bucket{{{SERVICE}, method!~".*/Watch[^/]*"}}[$__rate_interval])))', "{{service}}")], "s"),
        panel("Answers by code",
              [(f"sum by (service, code) (rate(grpc_server_requests_total{{{SERVICE}}}[$__rate_interval]))", "{{service}} {{code}}")], "reqps"),
        panel("Requests per second by method",
              [(f"sum by (method) (rate(grpc_server_requests_total{{{SERVICE}}}[$__rate_interval]))", "{{method}}")], "reqps"),
        panel("Non-OK answers per second by method",
              [(f"sum by (method) (rate(grpc_server_errors_total{{{SERVICE}}}[$__rate_interval]))", "{{method}}")], "reqps",
              description="Every answer but OK, refusals of bad input included."),
        panel("p50 / p99 latency by method",
              [(f"histogram_quantile(0.5, sum by (method, le) (rate(grpc_server_request_duration_seconds_bucket{{{SERVICE}}}[$__rate_interval])))", "p50 {{method}}"),
               (f"histogram_quantile(0.99, sum by (method, le) (rate(grpc_server_request_duration_seconds_bucket{{{SERVICE}}}[$__rate_interval])))", "p99 {{method}}")], "s"),
        panel("Mean latency by method",
              [(f"sum by (method) (rate(grpc_server_request_duration_seconds_sum{{{SERVICE}}}[$__rate_interval]))"
                f" / sum by (method) (rate(grpc_server_request_duration_seconds_count{{{SERVICE}}}[$__rate_interval]))", "{{method}}")], "s"),
        panel("In flight by service",
              [(f"sum by (service) (grpc_server_requests_in_flight{{{SERVICE}}})", "{{service}}")]),
        panel("Started minus finished per second",
              [(f"sum by (service) (rate(grpc_server_requests_started_total{{{SERVICE}}}[$__rate_interval]))"
                f" - sum by (service) (rate(grpc_server_requests_total{{{SERVICE}}}[$__rate_interval]))", "{{service}}")], "reqps",
              description="Above zero for long: RPCs pile up (compare with in flight)."),
    ],
    [variable("service", 'label_values(grpc_server_requests_total{namespace=~"$namespace"}, service)')],
)

coupons = dashboard(
    "staymesh-coupons",
    "staymesh / coupon sales",
    "First-come-first-served claims: answers per second, coupons issued, and the way from Redis to Postgres.",
    [
        panel("Claims per second by result",
              [(f"sum by (result) (rate(coupon_claims_total{{{NS}}}[$__rate_interval]))", "{{result}}")], "reqps"),
        panel("Coupons left by event",
              [(f"min by (event) (coupon_event_remaining{{{NS}}})", "{{event}}")],
              description="What Redis says each limited event has left, after every claim and at every reconciler pass. Replicas each report the last count they saw; stock only goes down, so the smallest is the newest."),
        panel("Coupons issued in the time range",
              [(f'sum(increase(coupon_claims_total{{{NS}, result="claimed"}}[$__range]))', "claimed")], kind="stat",
              description="Claims answered CLAIMED."),
        panel("Sold-out answers in the time range",
              [(f'sum(increase(coupon_claims_total{{{NS}, result="sold_out"}}[$__range]))', "sold out")], kind="stat"),
        panel("Claimed vs stored in Postgres per second",
              [(f'sum(rate(coupon_claims_total{{{NS}, result="claimed"}}[$__rate_interval]))', "claimed (Redis)"),
               (f"sum(rate(coupon_user_coupons_stored_total{{{NS}}}[$__rate_interval]))", "stored (Postgres)")], "reqps",
              description="Stored should follow claimed within a second; a gap that stays is StaymeshCouponWriterStuck."),
        panel("Direct writes (Kafka did not acknowledge)",
              [(f"sum(rate(coupon_claim_publish_fallbacks_total{{{NS}}}[$__rate_interval]))", "fallbacks")], "reqps"),
        panel("Repaired by the reconciler",
              [(f"sum(increase(coupon_reconcile_repaired_total{{{NS}}}[$__rate_interval]))", "repaired")]),
        panel("ClaimCoupon latency",
              [(f'histogram_quantile(0.5, sum by (le) (rate(grpc_server_request_duration_seconds_bucket{{{NS}, service="coupon", method=~".*/ClaimCoupon"}}[$__rate_interval])))', "p50"),
               (f'histogram_quantile(0.99, sum by (le) (rate(grpc_server_request_duration_seconds_bucket{{{NS}, service="coupon", method=~".*/ClaimCoupon"}}[$__rate_interval])))', "p99")], "s"),
    ],
)

sagas = dashboard(
    "staymesh-sagas",
    "staymesh / bookings and sagas",
    "Bookings, the saga that drives each one, its compensations, and the Kafka traffic under it.",
    [
        panel("Sagas started per second by kind",
              [(f"sum by (kind) (rate(staymesh_sagas_started_total{{{NS}}}[$__rate_interval]))", "{{kind}}")], "reqps"),
        panel("Sagas finished per second by kind and state",
              [(f"sum by (kind, state) (rate(staymesh_sagas_finished_total{{{NS}}}[$__rate_interval]))", "{{kind}} {{state}}")], "reqps"),
        panel("Stuck sagas",
              [(f"max(staymesh_saga_stuck{{{NS}}})", "stuck")], kind="stat"),
        panel("Compensations per second by cause",
              [(f"sum by (cause) (rate(staymesh_saga_compensations_total{{{NS}}}[$__rate_interval]))", "{{cause}}")], "reqps"),
        panel("Participant replies per second by step and outcome",
              [(f"sum by (step, outcome) (rate(staymesh_saga_replies_total{{{NS}}}[$__rate_interval]))", "{{step}} {{outcome}}")], "reqps"),
        panel("Stale replies ignored per second",
              [(f"sum(rate(staymesh_saga_stale_replies_total{{{NS}}}[$__rate_interval]))", "stale")], "reqps"),
        panel("Bookings created and finished per second",
              [(f"sum(rate(staymesh_bookings_created_total{{{NS}}}[$__rate_interval]))", "created"),
               (f"sum by (state) (rate(staymesh_bookings_finished_total{{{NS}}}[$__rate_interval]))", "{{state}}")], "reqps"),
        panel("Dead letters by topic",
              [(f"sum by (topic) (increase(staymesh_kafka_dead_letters_total{{{NS}}}[$__rate_interval]))", "{{topic}}")]),
        panel("Outbox relay lag (p99)",
              [(f"histogram_quantile(0.99, sum by (le) (rate(staymesh_outbox_relay_lag_seconds_bucket{{{NS}}}[$__rate_interval])))", "p99")], "s"),
        panel("Kafka messages per second",
              [(f"sum by (topic) (rate(staymesh_kafka_produced_total{{{NS}}}[$__rate_interval]))", "produced {{topic}}"),
               (f"sum by (topic) (rate(staymesh_kafka_consumed_total{{{NS}}}[$__rate_interval]))", "consumed {{topic}}"),
               (f"sum(rate(staymesh_outbox_published_total{{{NS}}}[$__rate_interval]))", "published from outboxes")], "reqps"),
        panel("Kafka produce errors and duplicates per second",
              [(f"sum by (topic) (rate(staymesh_kafka_produce_errors_total{{{NS}}}[$__rate_interval]))", "produce errors {{topic}}"),
               (f"sum by (consumer) (rate(staymesh_kafka_duplicates_total{{{NS}}}[$__rate_interval]))", "duplicates {{consumer}}")], "reqps"),
        panel("Payments per second",
              [(f"sum(rate(payment_approved_total{{{NS}}}[$__rate_interval]))", "approved"),
               (f"sum(rate(payment_failed_total{{{NS}}}[$__rate_interval]))", "failed"),
               (f"sum(rate(payment_refunded_total{{{NS}}}[$__rate_interval]))", "refunded"),
               (f"sum(rate(payment_tampering_refused_total{{{NS}}}[$__rate_interval]))", "tampering refused"),
               (f"sum(rate(payment_webhook_refused_total{{{NS}}}[$__rate_interval]))", "webhooks refused")], "reqps"),
    ],
)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for d in (rpc, coupons, sagas):
        (OUT / f"{d['uid']}.json").write_text(json.dumps(d, indent=2, ensure_ascii=False) + "\n")


def rendered():
    """{file name: text} as main() writes them (for the test)."""
    return {f"{d['uid']}.json": json.dumps(d, indent=2, ensure_ascii=False) + "\n" for d in (rpc, coupons, sagas)}


if __name__ == "__main__":
    main()
