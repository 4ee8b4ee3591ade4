"""deploy/monitoring/: the rules load, every alert is unit-tested firing and not firing, runbooks exist.

``promtool`` is Debian's (scripts/ensure-prometheus); where it is missing
these are skipped locally and fail under CI, as the browser tests are.
"""

import os
import re
import shutil
import subprocess

import pytest
import yaml

from tests.dbtools import ROOT

MONITORING = ROOT / "deploy" / "monitoring"
RULES, RULE_TESTS, SCRAPE = MONITORING / "ecomind-alerts.yml", MONITORING / "ecomind-alerts.test.yml", MONITORING / "prometheus-scrape.yml"
RUNBOOKS = ROOT / "docs" / "deployment" / "monitoring.md"
PROMTOOL = shutil.which("promtool")


def promtool(*args):
    if not PROMTOOL:
        if os.environ.get("CI"):
            pytest.fail("promtool must be installed under CI (scripts/ensure-prometheus)")
        pytest.skip("promtool not installed: run scripts/ensure-prometheus")
    return subprocess.run([PROMTOOL, *args], cwd=MONITORING, capture_output=True, text=True, timeout=120)


def alerts():
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_rules():
    ran = promtool("check", "rules", RULES.name)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in ran.stdout


def test_promtool_runs_the_unit_tests_of_every_alert():
    ran = promtool("test", "rules", RULE_TESTS.name)
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_the_example_scrape_configuration_is_valid():
    ran = promtool("check", "config", "--syntax-only", SCRAPE.name)
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_every_alert_is_tested_firing_and_not_firing():
    tested = {}
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case["alert_rule_test"]:
            tested.setdefault(check["alertname"], set()).add("firing" if check["exp_alerts"] else "quiet")
    assert {rule["alert"]: {"firing", "quiet"} for rule in alerts()} == tested


def github_anchor(heading):
    """The fragment GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_alert_links_to_its_runbook_section_which_exists():
    anchors = {github_anchor(line.lstrip("#")) for line in RUNBOOKS.read_text().splitlines() if line.startswith("#")}
    for rule in alerts():
        path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert (ROOT / path) == RUNBOOKS and anchor == rule["alert"].lower(), rule["alert"]
        assert anchor in anchors, f"no section for {rule['alert']} in {RUNBOOKS.name}"
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert {"summary", "description"} <= set(rule["annotations"])


def test_the_rules_use_only_metrics_the_app_exports():
    """Every series a rule reads is one /metrics serves (a renamed metric would silence its alert)."""
    from ecomind_core.monitoring import collector

    source = (ROOT / "ecomind_core" / "monitoring" / "collector.py").read_text()
    exported = set(re.findall(r'"(ecomind_[a-z0-9_]+)"', source))
    used = {name for rule in alerts() for name in re.findall(r"\b(ecomind_[a-z0-9_]+)\b", rule["expr"])}
    assert used and used <= exported, used - exported
    assert collector.DatabaseCollector  # the module above is the one the app serves
