"""k8s/: the base is the chart's rendering, and each overlay builds with
`kubectl kustomize` into objects that validate and match the chart."""

from __future__ import annotations

import re
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

import chart
import render_k8s
from test_chart import KUBE_VERSIONS

OVERLAYS = ("dev", "prod")


def kubectl():
    path = shutil.which("kubectl")
    if not path:
        pytest.fail("kubectl is missing: run scripts/infra.sh tools")
    return path


_BUILT = {}


def build(overlay):
    """`kubectl kustomize k8s/overlays/<overlay>` as objects (built once)."""
    if overlay not in _BUILT:
        done = subprocess.run([kubectl(), "kustomize", str(chart.ROOT / "k8s" / "overlays" / overlay)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (
            f"kubectl kustomize failed (kustomize v4 or later is needed for preStop sleep and `patches`):\n{done.stderr}")
        _BUILT[overlay] = [o for o in yaml.safe_load_all(done.stdout) if o]
    return _BUILT[overlay]


@pytest.fixture(params=OVERLAYS)
def built(request):
    return request.param, build(request.param)


def test_base_and_dev_patches_match_the_chart():
    assert render_k8s.main(["--check"]) == 0, "run python3 helm/tests/render_k8s.py"


def test_dev_kustomization_lists_every_patch():
    text = (chart.ROOT / "k8s" / "overlays" / "dev" / "kustomization.yaml").read_text()
    listed = set(re.findall(r"path: (patches/\S+)", text))
    assert listed == set(render_k8s.patch_files())


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_overlays_validate_against_the_kubernetes_schemas(built, version):
    name, objects = built
    assert len(objects) >= 30
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{name}: {obj['kind']}/{obj['metadata']['name']}: {'.'.join(map(str, e.path))}: {e.message}")


def workloads(objects):
    return {(o["kind"], o["metadata"]["name"]): o for o in objects if o["kind"] in ("Deployment", "Job")}


def test_dev_overlay_runs_what_the_chart_runs_with_dev_values():
    objects = build("dev")
    ours = workloads(objects)
    helm = workloads(chart.render(chart.deep_merge(chart.load_values("values-dev.yaml"), render_k8s.DEV_OVERRIDES)))
    assert set(ours) == set(helm)
    assert not [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    for key, obj in ours.items():
        a = obj["spec"]["template"]["spec"]["containers"][0]
        b = helm[key]["spec"]["template"]["spec"]["containers"][0]
        for field in ("args", "ports", "readinessProbe", "livenessProbe", "startupProbe", "resources"):
            assert a.get(field) == b.get(field), (key, field)
        assert {e["name"] for e in a.get("env", [])} == {e["name"] for e in b.get("env", [])}, key
        assert obj["spec"].get("replicas") == helm[key]["spec"].get("replicas"), key
    config = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "staymesh-config")
    assert config["data"]["STAYMESH_KAFKA_BROKERS"] == "staymesh-kafka:9092"
    # The generated Secret is the one every reference points at.
    (secret,) = [o for o in objects if o["kind"] == "Secret"]
    for obj in ours.values():
        for e in obj["spec"]["template"]["spec"]["containers"][0].get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == secret["metadata"]["name"]
                assert ref["key"] in secret["data"]


def test_prod_overlay_scales_out_and_uses_the_registry():
    objects = build("prod")
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    # Every service of the chart and the edge.
    assert len(deployments) == len(chart.load_values("values.yaml")["services"]) + 1
    for d in deployments:
        assert d["spec"]["replicas"] == 3
        assert d["metadata"]["namespace"] == "staymesh"
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/staymesh:0.1.0"
    assert not [o for o in objects if o["kind"] == "Secret"], "production secrets are made outside"
    (topics,) = [o for o in objects if o["kind"] == "Job" and "topics" in o["metadata"]["name"]]
    env = {e["name"]: e["value"] for e in topics["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (env["PARTITIONS"], env["REPLICATION"]) == ("12", "3")
