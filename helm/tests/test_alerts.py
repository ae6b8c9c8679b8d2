"""The chart's alert rules under Prometheus's own tools: `promtool check rules`
and `promtool test rules` (alerts.test.yaml) on the rendered PrometheusRule."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest
import yaml

import chart

HERE = pathlib.Path(__file__).resolve().parent


def promtool():
    path = shutil.which("promtool")
    if not path:
        pytest.fail("promtool is missing: run scripts/infra.sh tools (Debian package prometheus)")
    return path


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory):
    objects = chart.render({"metrics": {"prometheusRule": {"enabled": True}}})
    (rule,) = [o for o in objects if o["kind"] == "PrometheusRule"]
    d = tmp_path_factory.mktemp("rules")
    (d / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    shutil.copy(HERE / "alerts.test.yaml", d / "alerts.test.yaml")
    return d


def run(args, cwd):
    done = subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_promtool_check_rules(rules_dir):
    code, out = run(["check", "rules", "rules.yaml"], rules_dir)
    assert code == 0, out
    assert "SUCCESS" in out


def test_alerts_fire_on_sample_series(rules_dir):
    """Error ratio, consumer lag, dead letters, stuck sagas and a stuck coupon
    writer fire on the series in alerts.test.yaml, and stay quiet where they should."""
    code, out = run(["test", "rules", "alerts.test.yaml"], rules_dir)
    assert code == 0, out
    tested = yaml.safe_load((HERE / "alerts.test.yaml").read_text())
    names = {t["alertname"] for test in tested["tests"] for t in test["alert_rule_test"]}
    assert {"StaymeshHighErrorRatio", "StaymeshKafkaConsumerLag"} <= names


def test_promtool_refuses_a_wrong_expectation(rules_dir, tmp_path):
    """The unit test can fail: the same series with the error-ratio threshold at 50%."""
    text = (rules_dir / "rules.yaml").read_text().replace(") > 0.05", ") > 0.5")
    assert text != (rules_dir / "rules.yaml").read_text()
    (tmp_path / "rules.yaml").write_text(text)
    shutil.copy(rules_dir / "alerts.test.yaml", tmp_path)
    code, out = run(["test", "rules", "alerts.test.yaml"], tmp_path)
    assert code != 0 and "StaymeshHighErrorRatio" in out
