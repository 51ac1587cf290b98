"""Shared helpers of the deployment checks: the server's own configuration schema,
Kubernetes quantities and label selectors, and rendering kustomize overlays."""
import json
import re
import subprocess

import yaml


class CheckError(Exception):
    """A check could not run at all (a tool failed, a file is missing)."""


def load_schema(server_binary):
    """{env: default} from `tandem-server --config-schema` (the real binary)."""
    try:
        out = subprocess.run([server_binary, "--config-schema"], check=True,
                             capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise CheckError(f"cannot run {server_binary} --config-schema: {e}") from e
    options = json.loads(out)
    schema = {o["env"]: o["default"] for o in options}
    if "PORT" not in schema or "DRAIN_TIMEOUT_MS" not in schema:
        raise CheckError("--config-schema lacks PORT or DRAIN_TIMEOUT_MS: not the server's schema?")
    return schema


def render_overlay(kubectl, path):
    """The overlay as kubectl's built-in kustomize renders it, as a list of objects."""
    try:
        proc = subprocess.run([kubectl, "kustomize", path], capture_output=True, text=True,
                              timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        raise CheckError(f"cannot run {kubectl} kustomize {path}: {e}") from e
    if proc.returncode != 0:
        raise CheckError(f"{kubectl} kustomize {path} failed:\n{proc.stderr.strip()}")
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


_BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DECIMAL_SUFFIXES = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def quantity(value):
    """A Kubernetes quantity ("192Mi", "250m", "2", "1.5Gi") as a float in base units."""
    text = str(value).strip()
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)", text)
    if not m:
        raise ValueError(f"not a quantity: {value!r}")
    number, suffix = float(m.group(1)), m.group(2)
    if suffix == "":
        return number
    if suffix == "m":
        return number / 1000
    if suffix in _BINARY_SUFFIXES:
        return number * _BINARY_SUFFIXES[suffix]
    if suffix in _DECIMAL_SUFFIXES:
        return number * _DECIMAL_SUFFIXES[suffix]
    raise ValueError(f"unknown quantity suffix in {value!r}")


def selector_matches(selector, labels):
    """Whether a LabelSelector (matchLabels and matchExpressions) selects `labels`.
    An empty selector selects everything, as in Kubernetes."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
