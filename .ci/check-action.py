#!/usr/bin/env python3
"""Checks the composite action's metadata (action.yml), which actionlint does not lint itself.

1. Every `inputs.X` the action uses is declared, every `run` step sets `shell:` (composite
   actions require it), every `steps.ID` referenced is an earlier step's id, every output reads
   a step's output, and every script a step runs from the action's directory exists.
2. actionlint then lints the action's steps as the jobs of a reusable workflow with the same
   inputs (so expressions, action versions and, with shellcheck on PATH, the `run` scripts are
   checked), and lints the example workflows with `OWNER/livehook@v1` pointed at this action,
   so the inputs they pass and the outputs they read are checked against action.yml.

Usage: check-action.py ACTIONLINT   (run from the repository root; needs PyYAML)
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
INPUT_REF = re.compile(r"\binputs\.([A-Za-z0-9_-]+)")
STEP_REF = re.compile(r"\bsteps\.([A-Za-z0-9_-]+)\.(outputs|outcome|conclusion)\b")
ACTION_SCRIPT = re.compile(r"\$GITHUB_ACTION_PATH/([A-Za-z0-9_./-]+)")


def expressions(value):
    """Every `${{ ... }}` expression inside a YAML value, at any depth."""
    if isinstance(value, dict):
        for item in value.values():
            yield from expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from expressions(item)
    elif isinstance(value, str):
        yield from EXPRESSION.findall(value)


def check_metadata(action):
    problems = []
    declared = set(action.get("inputs", {}))
    steps = action["runs"]["steps"]
    if action["runs"].get("using") != "composite":
        problems.append("runs.using is not composite")

    seen_ids = set()
    for number, step in enumerate(steps, 1):
        where = f"step {number} ({step.get('name', step.get('id', step.get('uses', '?')))})"
        if "run" in step and "shell" not in step:
            problems.append(f"{where}: a run step without shell:")
        texts = list(expressions(step))
        if isinstance(step.get("if"), str):
            texts.append(step["if"])  # `if:` is an expression even without ${{ }}
        for text in texts:
            for name in INPUT_REF.findall(text):
                if name not in declared:
                    problems.append(f"{where}: uses undeclared input `{name}`")
            for step_id, _ in STEP_REF.findall(text):
                if step_id not in seen_ids:
                    problems.append(f"{where}: refers to step `{step_id}`, not an earlier step's id")
        for script in ACTION_SCRIPT.findall(step.get("run", "")):
            if not os.path.isfile(script):
                problems.append(f"{where}: runs {script}, which does not exist")
        if "id" in step:
            seen_ids.add(step["id"])

    for name, output in action.get("outputs", {}).items():
        refs = STEP_REF.findall(output.get("value", ""))
        if not refs:
            problems.append(f"output `{name}` does not read a step's output")
        for step_id, _ in refs:
            if step_id not in seen_ids:
                problems.append(f"output `{name}` reads step `{step_id}`, which no step has as id")
    return problems


def as_reusable_workflow(action):
    """The action's steps as a workflow_call job, which actionlint knows how to lint."""
    inputs = {
        name: {"type": "string", "required": False, "default": spec.get("default", "")}
        for name, spec in action.get("inputs", {}).items()
    }
    for spec in inputs.values():
        # A workflow_call default may not use the github context; its type is what matters here.
        if "${{" in str(spec["default"]):
            spec["default"] = ""
    return {
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }


def lint_with_actionlint(actionlint, action):
    """Lints the action's steps and the examples using it in a scratch repository."""
    with tempfile.TemporaryDirectory() as scratch:
        workflows = os.path.join(scratch, ".github", "workflows")
        os.makedirs(workflows)
        subprocess.run(["git", "init", "-q", scratch], check=True)
        shutil.copy("action.yml", scratch)
        with open(os.path.join(workflows, "action-steps.yml"), "w", encoding="utf-8") as out:
            yaml.safe_dump(as_reusable_workflow(action), out, sort_keys=False)
        for name in sorted(os.listdir("examples/github")):
            with open(os.path.join("examples/github", name), encoding="utf-8") as f:
                text = f.read().replace("uses: OWNER/livehook@v1", "uses: ./")
            with open(os.path.join(workflows, name), "w", encoding="utf-8") as out:
                out.write(text)
        return subprocess.run([actionlint], cwd=scratch).returncode


def main():
    actionlint = sys.argv[1] if len(sys.argv) > 1 else "actionlint"
    with open("action.yml", encoding="utf-8") as f:
        action = yaml.safe_load(f)
    problems = check_metadata(action)
    for problem in problems:
        print(f"action.yml: {problem}")
    status = lint_with_actionlint(actionlint, action)
    return 1 if problems or status else 0


if __name__ == "__main__":
    sys.exit(main())
