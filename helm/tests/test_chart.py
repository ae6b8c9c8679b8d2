"""The chart as a user installs it: Helm's lint and rendering, the Kubernetes
schemas, and the rules every service's objects must follow."""

from __future__ import annotations

import base64
import json
import re

import helm_python
import kubernetes_validate
import pytest
import yaml

import chart
import make_dashboards
import metric_names
import rules
from conftest import VALUES

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion; the preStop
# sleep action is on by default from 1.30) and the newest the validator ships.
KUBE_VERSIONS = ("1.30.0", "1.37.0")
# Kinds with no schema in the core Kubernetes schemas (Prometheus operator CRDs).
NO_SCHEMA = {"ServiceMonitor", "PrometheusRule"}

SERVICES = {s["name"]: s for s in chart.load_values("values.yaml")["services"]}


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def named(objects, kind, name):
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def container(deployment):
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    return c


# ---------------------------------------------------------------- Helm ---


@pytest.mark.parametrize("values", ["default", "dev", "prod"])
def test_helm_lint_passes_strict(values):
    report = helm_python.lint(str(chart.CHART), VALUES[values], strict=True, kube_version="v1.30.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems and not report["errors"], problems or report["errors"]


def test_helm_lint_finds_a_broken_chart(tmp_path):
    """The lint is real: a template with an unclosed action fails it."""
    broken = tmp_path / "staymesh"
    import shutil

    shutil.copytree(chart.CHART, broken)
    (broken / "templates" / "broken.yaml").write_text("kind: ConfigMap\nname: {{ .Values.oops\n")
    report = helm_python.lint(str(broken), {}, strict=True)
    assert any(m["severity"] == 3 for m in report["messages"]) or report["errors"]


def test_each_values_file_renders(renderings):
    for name in ("default", "dev", "prod"):
        kinds = {o["kind"] for o in renderings[name]}
        assert {"Deployment", "Service", "ConfigMap", "Job", "NetworkPolicy"} <= kinds, name


def test_payment_without_a_pg_is_refused():
    with pytest.raises(helm_python.HelmError, match="payment.pgUrl is required"):
        chart.render({"pgSandbox": {"enabled": False}})


# ------------------------------------------------------------- schemas ---


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_every_object_validates_against_the_kubernetes_schemas(rendering, version):
    name, objects = rendering
    checked = 0
    for obj in objects:
        if obj["kind"] in NO_SCHEMA:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{name}: {obj['kind']}/{obj['metadata']['name']}: {'.'.join(map(str, e.path))}: {e.message}")
        checked += 1
    assert checked >= 30


def test_the_validator_refuses_a_bad_probe():
    """The schemas are strict: a probe field that does not exist fails."""
    deployment = next(o for o in chart.render() if o["kind"] == "Deployment")
    container(deployment)["readinessProbe"]["grpcc"] = {"port": 1}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSIONS[0], strict=True)


# ------------------------------------------------------- every service ---


@pytest.mark.parametrize("service", list(SERVICES))
def test_service_runs_its_subcommand_with_grpc_probes_on_its_port(rendering, service):
    name, objects = rendering
    port = SERVICES[service]["port"]
    deployment = named(objects, "Deployment", f"staymesh-{service}")
    c = container(deployment)
    assert c["args"] == [service]
    assert "command" not in c, "the image's entrypoint is the staymesh binary"
    assert {"name": "grpc", "containerPort": port, "protocol": "TCP"} in c["ports"]
    assert {"name": "metrics", "containerPort": 9100 + port % 100, "protocol": "TCP"} in c["ports"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["grpc"] == {"port": port}, probe
    # The startup probe gives a first start (which migrates) minutes, not seconds.
    assert c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"] >= 120
    svc = named(objects, "Service", f"staymesh-{service}")
    assert {p["name"]: p["port"] for p in svc["spec"]["ports"]} == {"grpc": port, "metrics": 9100 + port % 100}


def drain_seconds(objects):
    config = named(objects, "ConfigMap", "staymesh-config")["data"]
    m = re.fullmatch(r"(\d+)s", config["STAYMESH_DRAIN_TIMEOUT"])
    assert m, config["STAYMESH_DRAIN_TIMEOUT"]
    return int(m.group(1))


def staymesh_deployments(objects):
    return [d for d in by_kind(objects, "Deployment")
            if container(d)["image"].split(":")[0].endswith("staymesh")]


def test_pods_outlive_their_drain_and_pause_before_sigterm(rendering):
    name, objects = rendering
    drain = drain_seconds(objects)
    for d in staymesh_deployments(objects):
        spec = d["spec"]["template"]["spec"]
        sleep = container(d)["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert sleep >= 1, d["metadata"]["name"]
        assert spec["terminationGracePeriodSeconds"] > sleep + drain, d["metadata"]["name"]


def test_every_container_is_locked_down(rendering):
    name, objects = rendering
    workloads = staymesh_deployments(objects) + by_kind(objects, "Job")
    assert len(workloads) >= 9
    for w in workloads:
        spec = w["spec"]["template"]["spec"]
        what = f"{name}: {w['kind']}/{w['metadata']['name']}"
        assert spec["automountServiceAccountToken"] is False, what
        assert spec["securityContext"]["runAsNonRoot"] is True, what
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, what
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True, what
            assert sc["readOnlyRootFilesystem"] is True, what
            assert sc["allowPrivilegeEscalation"] is False, what
            assert sc["capabilities"]["drop"] == ["ALL"], what
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, what
            assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"], what
            assert c["resources"]["limits"]["memory"], what
    for sa in by_kind(objects, "ServiceAccount"):
        assert sa["automountServiceAccountToken"] is False


@pytest.mark.parametrize("values", ["default", "prod"])
def test_every_service_and_the_edge_have_a_disruption_budget(renderings, values):
    objects = renderings[values]
    for target in [*SERVICES, "gateway"]:
        pdb = named(objects, "PodDisruptionBudget", f"staymesh-{target}")
        assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == target
        assert pdb["spec"].get("maxUnavailable", 0) >= 1 or "minAvailable" in pdb["spec"]


def test_autoscalers_follow_the_switch(renderings):
    assert not by_kind(renderings["default"], "HorizontalPodAutoscaler")
    for values in ("prod", "default+monitoring"):
        objects = renderings[values]
        targets = {h["spec"]["scaleTargetRef"]["name"] for h in by_kind(objects, "HorizontalPodAutoscaler")}
        assert {f"staymesh-{s}" for s in SERVICES} <= targets
        for s in SERVICES:
            # The autoscaler owns the replica count.
            assert "replicas" not in named(objects, "Deployment", f"staymesh-{s}")["spec"]


def test_network_policies_let_only_the_edge_take_outside_traffic(rendering):
    name, objects = rendering
    policies = {p["metadata"]["name"]: p for p in by_kind(objects, "NetworkPolicy")}
    for service, entry in SERVICES.items():
        policy = policies[f"staymesh-{service}"]
        assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == service
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        rules_ = policy["spec"]["ingress"]
        assert all(r.get("from") for r in rules_), f"{service} takes traffic from anywhere"
        grpc = [r for r in rules_ if {"protocol": "TCP", "port": entry["port"]} in r["ports"]]
        assert len(grpc) == 1
        (peer,) = grpc[0]["from"]
        assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/instance": "staymesh"}
        assert peer["podSelector"]["matchExpressions"] == [
            {"key": "staymesh.io/tier", "operator": "In", "values": ["grpc", "edge"]}]
        metrics = [r for r in rules_ if {"protocol": "TCP", "port": 9100 + entry["port"] % 100} in r["ports"]]
        assert len(metrics) == 1 and "namespaceSelector" in metrics[0]["from"][0]
    # The tier labels the policies select on are on the pods.
    for service in SERVICES:
        labels = named(objects, "Deployment", f"staymesh-{service}")["spec"]["template"]["metadata"]["labels"]
        assert labels["staymesh.io/tier"] == "grpc"
    edge = named(objects, "Deployment", "staymesh-gateway")["spec"]["template"]["metadata"]["labels"]
    assert edge["staymesh.io/tier"] == "edge"
    gateway = policies["staymesh-gateway"]
    http = [r for r in gateway["spec"]["ingress"] if {"protocol": "TCP", "port": 8080} in r["ports"]]
    assert len(http) == 1


# ---------------------------------------------------------- migrations ---


@pytest.mark.parametrize("values", ["default", "prod"])
def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(renderings, values):
    job = named(renderings[values], "Job", "staymesh-migrate")
    hooks = job["metadata"]["annotations"]["helm.sh/hook"].split(",")
    assert {"pre-install", "pre-upgrade"} <= set(hooks)
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["args"] == ["migrate"] and c["image"].split(":")[0].endswith("staymesh")
    env = {e["name"]: e for e in c["env"]}
    secret = env["STAYMESH_POSTGRES_URL"]["valueFrom"]["secretKeyRef"]
    # What a pre-install hook uses must exist before the release's objects do.
    sa = job["spec"]["template"]["spec"]["serviceAccountName"]
    hook_objects = {(o["kind"], o["metadata"]["name"]) for o in renderings[values]
                    if "helm.sh/hook" in (o["metadata"].get("annotations") or {})}
    assert ("ServiceAccount", sa) in hook_objects
    if values == "prod":
        assert secret["name"] == "staymesh-secrets"  # existingSecret: made before the install
    else:
        assert ("Secret", secret["name"]) in hook_objects
        hook_secret = named(renderings[values], "Secret", secret["name"])
        assert base64.b64decode(hook_secret["data"]["STAYMESH_POSTGRES_URL"]).startswith(b"postgres://")


def test_dev_runs_migrations_and_topics_as_plain_jobs(renderings):
    """With the stores in the release, hooks would wait for objects that do not exist yet."""
    for job in by_kind(renderings["dev"], "Job"):
        assert "helm.sh/hook" not in (job["metadata"].get("annotations") or {})
        assert job["metadata"]["name"].endswith("-r1")


def test_topics_job_creates_every_topic_the_services_use(renderings):
    used = {f"staymesh.{t}" for t in rules.crate_topics()}
    assert len(used) >= 9
    for values, partitions, replication in (("default", "6", "3"), ("dev", "3", "1"), ("prod", "12", "3")):
        job = next(j for j in by_kind(renderings[values], "Job") if "topics" in j["metadata"]["name"])
        c = job["spec"]["template"]["spec"]["containers"][0]
        script = c["args"][0]
        created = set(re.findall(r'^\s*create "([^"]+)"', script, re.M))
        assert created == used | {f"{t}.dlq" for t in used}, values
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert (env["PARTITIONS"], env["REPLICATION"]) == (partitions, replication)
        assert env["BROKERS"] == named(renderings[values], "ConfigMap", "staymesh-config")["data"]["STAYMESH_KAFKA_BROKERS"]


# --------------------------------------------------------- configuration ---


def effective_env(objects, c):
    """{variable: value} of a container; a Secret's value is ('secret', name, key)."""
    env = {}
    for source in c.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        env.update(named(objects, "ConfigMap", ref)["data"])
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        elif "secretKeyRef" in e.get("valueFrom", {}):
            ref = e["valueFrom"]["secretKeyRef"]
            env[e["name"]] = ("secret", ref["name"], ref["key"])
        else:
            env[e["name"]] = ("field", e["valueFrom"])
    return env


def consumers(variable):
    """Which processes need a variable that has no safe default in a cluster.
    A new such variable in README.md fails the test until it is placed here."""
    everything = [*SERVICES, "gateway", "pg-sandbox"]
    if variable == "STAYMESH_BIND_HOST":
        return everything
    m = re.fullmatch(r"STAYMESH_([A-Z_]+)_URL", variable)
    if m and m.group(1).lower().replace("_", "-") in SERVICES:
        return [*SERVICES, "gateway"]
    return {
        "STAYMESH_POSTGRES_URL": [*SERVICES, "pg-sandbox", "migrate"],
        "STAYMESH_REDIS_URL": list(SERVICES),
        "STAYMESH_KAFKA_BROKERS": list(SERVICES),
        "STAYMESH_JWT_SIGNING_KEYS": ["user"],
        "STAYMESH_PAYMENT_PG_URL": ["payment"],
        "STAYMESH_PAYMENT_RETURN_URL": ["payment"],
        "STAYMESH_PAYMENT_PG_API_SECRET": ["payment"],
        "STAYMESH_PAYMENT_PG_WEBHOOK_SECRET": ["payment"],
        "STAYMESH_QUEUE_TOKEN_SECRET": ["queue"],
        "STAYMESH_MEDIA_SECRET": ["review", "gateway"],
        "STAYMESH_PUBLIC_URL": ["review", "gateway"],
        "STAYMESH_PG_SANDBOX_API_SECRET": ["pg-sandbox"],
        "STAYMESH_PG_SANDBOX_WEBHOOK_SECRET": ["pg-sandbox"],
        "STAYMESH_PG_SANDBOX_PUBLIC_URL": ["pg-sandbox"],
        "STAYMESH_PG_SANDBOX_WEBHOOK_URL": ["pg-sandbox"],
    }[variable]


# Addresses browsers use: the local machine is right behind a port-forward.
BROWSER_FACING = {"STAYMESH_PAYMENT_RETURN_URL", "STAYMESH_PG_SANDBOX_PUBLIC_URL", "STAYMESH_PUBLIC_URL"}


def processes(objects):
    out = {}
    for d in staymesh_deployments(objects):
        out[d["metadata"]["labels"]["app.kubernetes.io/component"]] = container(d)
    for j in by_kind(objects, "Job"):
        if j["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate":
            out["migrate"] = j["spec"]["template"]["spec"]["containers"][0]
    return out


def test_unsafe_defaults_are_all_known():
    unsafe = rules.unsafe_variables()
    assert {"STAYMESH_POSTGRES_URL", "STAYMESH_KAFKA_BROKERS", "STAYMESH_JWT_SIGNING_KEYS", "STAYMESH_USER_URL"} <= set(unsafe)
    for variable in unsafe:
        consumers(variable)  # KeyError: a variable the chart does not know yet


def test_every_variable_without_a_safe_default_is_set(rendering):
    name, objects = rendering
    procs = processes(objects)
    secrets = {s["metadata"]["name"]: s for s in by_kind(objects, "Secret")}
    existing = (VALUES[name].get("secrets") or {}).get("existingSecret")
    for variable in rules.unsafe_variables():
        for process in consumers(variable):
            if process not in procs:
                assert process == "pg-sandbox" and not chart.deep_merge(
                    chart.load_values("values.yaml"), VALUES[name])["pgSandbox"]["enabled"], process
                continue
            env = effective_env(objects, procs[process])
            assert variable in env, f"{name}: {process} lacks {variable}"
            value = env[variable]
            if isinstance(value, tuple):
                _, secret, key = value
                if secret == existing:
                    continue  # the user's Secret; the chart checks nothing in it
                assert key in secrets[secret]["data"], f"{name}: {secret} lacks {key}"
                value = base64.b64decode(secrets[secret]["data"][key]).decode()
            assert value, f"{name}: {process} {variable} is empty"
            if variable not in BROWSER_FACING or name == "prod":
                assert not rules.UNSAFE_DEFAULT.search(value), f"{name}: {process} {variable}={value}"


def test_no_process_gets_a_secret_it_does_not_use(rendering):
    name, objects = rendering
    for process, c in processes(objects).items():
        for variable, value in effective_env(objects, c).items():
            if isinstance(value, tuple) and value[0] == "secret" and variable in rules.unsafe_variables():
                assert process in consumers(variable), f"{process} gets {variable}"


def test_the_chart_sets_only_variables_the_binary_reads(rendering):
    name, objects = rendering
    known = set(rules.config_table()) | rules.source_variables()
    for process, c in processes(objects).items():
        for variable in effective_env(objects, c):
            if variable.startswith(("STAYMESH_", "OTEL_", "RUST_")):
                assert variable in known, f"{process}: {variable} is not a staymesh setting"


def test_service_urls_point_at_each_service(renderings):
    config = named(renderings["default"], "ConfigMap", "staymesh-config")["data"]
    for service, entry in SERVICES.items():
        env = service.upper().replace("-", "_")
        assert config[f"STAYMESH_{env}_URL"] == f"http://staymesh-{service}:{entry['port']}"
        assert config[f"STAYMESH_{env}_PORT"] == str(entry["port"])
    assert config["STAYMESH_BIND_HOST"] == "0.0.0.0"


def test_generated_secrets_have_the_shapes_the_binary_parses(renderings):
    for values in ("default", "dev"):
        data = named(renderings[values], "Secret", "staymesh-secrets")["data"]
        keys = base64.b64decode(data["STAYMESH_JWT_SIGNING_KEYS"]).decode()
        for key in keys.split(","):
            kid, seed = key.split(":")
            assert kid and "=" not in seed
            assert len(base64.urlsafe_b64decode(seed + "=" * (-len(seed) % 4))) == 32
        hook = base64.b64decode(data["STAYMESH_PAYMENT_PG_WEBHOOK_SECRET"]).decode()
        assert hook.startswith("whsec_") and base64.b64decode(hook[len("whsec_"):])


def test_existing_secret_replaces_the_charts_secret(renderings):
    objects = renderings["prod"]
    assert not [s for s in by_kind(objects, "Secret")]
    refs = set()
    for c in processes(objects).values():
        refs |= {v[1] for v in effective_env(objects, c).values() if isinstance(v, tuple) and v[0] == "secret"}
    assert refs == {"staymesh-secrets"}


def test_sandbox_shares_the_payment_services_secrets(renderings):
    objects = renderings["dev"]
    sandbox = effective_env(objects, container(named(objects, "Deployment", "staymesh-pg-sandbox")))
    payment = effective_env(objects, container(named(objects, "Deployment", "staymesh-payment")))
    assert sandbox["STAYMESH_PG_SANDBOX_API_SECRET"][2] == payment["STAYMESH_PAYMENT_PG_API_SECRET"][2]
    assert sandbox["STAYMESH_PG_SANDBOX_WEBHOOK_SECRET"][2] == payment["STAYMESH_PAYMENT_PG_WEBHOOK_SECRET"][2]
    assert payment["STAYMESH_PAYMENT_PG_URL"] == "http://staymesh-pg-sandbox:8090"
    assert sandbox["STAYMESH_PG_SANDBOX_WEBHOOK_URL"] == "http://staymesh-gateway:8080/v1/webhooks/payments"


def test_adding_a_service_is_one_line_of_values():
    services = chart.load_values("values.yaml")["services"] + [{"name": "wishlist", "port": 50060, "topics": ["events"]}]
    objects = chart.render({"services": services})
    c = container(named(objects, "Deployment", "staymesh-wishlist"))
    assert c["args"] == ["wishlist"] and c["readinessProbe"]["grpc"] == {"port": 50060}
    assert {"name": "metrics", "containerPort": 9160, "protocol": "TCP"} in c["ports"]
    for kind in ("Service", "NetworkPolicy", "PodDisruptionBudget"):
        named(objects, kind, "staymesh-wishlist")
    config = named(objects, "ConfigMap", "staymesh-config")["data"]
    assert config["STAYMESH_WISHLIST_URL"] == "http://staymesh-wishlist:50060"
    script = named(objects, "Job", "staymesh-topics")["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert 'create "staymesh.wishlist.events.dlq"' in script


def test_notes_show_the_port_forwards(tmp_path):
    files = chart.render_files()
    notes = next(t for p, t in files.items() if p.endswith("NOTES.txt"))
    assert "port-forward svc/staymesh-gateway 8080:8080" in notes
    for service, entry in SERVICES.items():
        assert f"port-forward svc/staymesh-{service} {entry['port']}:{entry['port']}" in notes
    assert "grpcurl -plaintext 127.0.0.1:50051 list" in notes
    assert "SANDBOX PG" in notes


# -------------------------------------------------------- observability ---


def test_service_monitor_scrapes_every_metrics_port(renderings):
    objects = renderings["prod"]
    (monitor,) = by_kind(objects, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    assert endpoint["honorLabels"] is True  # keep the services' own `service` label
    selected = [s for s in by_kind(objects, "Service") if selector.items() <= s["metadata"]["labels"].items()]
    assert {s["metadata"]["name"] for s in selected} == {f"staymesh-{n}" for n in [*SERVICES, "gateway"]}
    for s in selected:
        assert "metrics" in {p["name"] for p in s["spec"]["ports"]}


def test_pods_carry_scrape_annotations_when_asked(renderings):
    for service, entry in SERVICES.items():
        annotations = named(renderings["default"], "Deployment", f"staymesh-{service}")["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(9100 + entry["port"] % 100)
        prod = named(renderings["prod"], "Deployment", f"staymesh-{service}")["spec"]["template"]["metadata"]["annotations"]
        assert "prometheus.io/scrape" not in prod


REQUIRED_ALERTS = {
    "StaymeshHighErrorRatio", "StaymeshHighLatencyP99", "StaymeshKafkaConsumerLag",
    "StaymeshDeadLetters", "StaymeshSagasStuck", "StaymeshCouponWriterStuck", "StaymeshPodsNotReady",
}


def test_every_alert_links_its_runbook_section():
    (rule,) = by_kind(chart.render({"metrics": {"prometheusRule": {"enabled": True}}}), "PrometheusRule")
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert REQUIRED_ALERTS <= {a["alert"] for a in alerts}
    operations = (chart.ROOT / "docs" / "operations.md").read_text()
    headings = set(re.findall(r"^#+ (Staymesh\w+)$", operations, re.M))
    for alert in alerts:
        url = alert["annotations"]["runbook_url"]
        assert url.endswith("docs/operations.md#" + alert["alert"].lower()), url
        assert alert["alert"] in headings, f"docs/operations.md has no section {alert['alert']}"
        assert alert["labels"]["severity"] in ("critical", "warning")


def test_dashboards_are_valid_json_and_up_to_date(renderings):
    objects = renderings["default"]
    dashboards = [c for c in by_kind(objects, "ConfigMap") if "-dashboard-" in c["metadata"]["name"]]
    assert len(dashboards) == 3
    expected = make_dashboards.rendered()
    for cm in dashboards:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((filename, text),) = cm["data"].items()
        dashboard = json.loads(text)
        assert dashboard["panels"] and dashboard["uid"]
        for panel in dashboard["panels"]:
            assert panel["targets"], panel["title"]
        assert text + "\n" == expected[filename] or text == expected[filename], \
            f"{filename} differs from make_dashboards.py (run python3 helm/tests/make_dashboards.py)"


def test_dashboards_cover_red_coupons_and_sagas():
    objects = metric_names.default_objects()
    used = metric_names.used_metrics(objects)
    assert {"grpc_server_requests_total", "grpc_server_request_duration_seconds",
            "coupon_claims_total", "staymesh_saga_compensations_total", "staymesh_sagas_finished_total",
            "staymesh_saga_stuck"} <= used


def test_rules_and_dashboards_use_only_metrics_the_code_registers():
    """The live check is the end-to-end test that scrapes /metrics with the
    names metric_names.py prints; this is its offline half, against the code."""
    used = metric_names.used_metrics(metric_names.default_objects()) - metric_names.EXTERNAL_METRICS
    registered = rules.registered_metrics()
    assert len(used) >= 20
    assert not used - registered, f"not registered by any service: {sorted(used - registered)}"


def test_metric_name_extraction():
    names = metric_names.names_in(
        'histogram_quantile(0.99, sum by (service, le) (rate(a_seconds_bucket{service=~"$s", x="y"}[5m])))'
        ' / on (service) group_left b_total offset 5m > bool 0 and label_values(c_total, service)')
    assert names == {"a_seconds_bucket", "b_total", "c_total"}
    assert metric_names.base_name("a_seconds_bucket") == "a_seconds"
