"""``--lambda-mode wrapper``: a Lambda layer whose exec wrapper puts migrated secrets back into the environment.

The layer holds one file, ``/opt/secretguard-exec-wrapper`` (:mod:`secretguard.aws.lambda_exec_wrapper`).
It is published once per region and version of the wrapper: the layer version's description names secretguard's
version and the wrapper's sha256, so a second migration in the region finds and reuses it.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from importlib import resources
from typing import Any

from secretguard import __version__

LAYER_NAME = "secretguard-exec-wrapper"
WRAPPER_PATH = "/opt/secretguard-exec-wrapper"
EXEC_WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"
MAX_LAYERS = 5
SUPPORTED_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13")
"""Runtimes whose image has ``python3`` on the path for the wrapper (and boto3, when the extension is absent)."""


def layer_content() -> tuple[bytes, str]:
    """The layer's zip (the wrapper, executable, with a fixed timestamp) and its description."""
    script = resources.files("secretguard.aws").joinpath("lambda_exec_wrapper.py").read_bytes()
    info = zipfile.ZipInfo(WRAPPER_PATH.removeprefix("/opt/"), date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(info, script)
    digest = hashlib.sha256(script).hexdigest()[:16]
    return buffer.getvalue(), f"secretguard {__version__} exec wrapper sha256:{digest}"


def wrapper_problem(config: dict[str, Any]) -> str | None:
    """Why a function cannot take the wrapper, or None when it can."""
    runtime = config.get("Runtime")
    if runtime not in SUPPORTED_RUNTIMES:
        return (f"--lambda-mode wrapper supports {', '.join(SUPPORTED_RUNTIMES)}, not "
                f"{runtime or 'a container image'}: use the default mode")
    variables = (config.get("Environment") or {}).get("Variables") or {}
    if variables.get(EXEC_WRAPPER, WRAPPER_PATH) != WRAPPER_PATH:
        return f"the function already has an exec wrapper ({EXEC_WRAPPER}): use the default mode"
    if len(config.get("Layers") or []) >= MAX_LAYERS:
        return f"the function already has {MAX_LAYERS} layers, the most Lambda allows: use the default mode"
    return None


def ensure_layer(lam: Any) -> str:
    """The ARN of the layer version holding this wrapper in the client's region, published if it is not there."""
    content, description = layer_content()
    for page in lam.get_paginator("list_layer_versions").paginate(LayerName=LAYER_NAME):
        for version in page.get("LayerVersions", []):
            if version.get("Description") == description:
                return str(version["LayerVersionArn"])
    published = lam.publish_layer_version(LayerName=LAYER_NAME, Description=description,
                                          Content={"ZipFile": content}, LicenseInfo="Apache-2.0",
                                          CompatibleRuntimes=list(SUPPORTED_RUNTIMES))
    return str(published["LayerVersionArn"])


def layer_arns(config: dict[str, Any]) -> list[str]:
    """The function's layers, in order, as ARNs."""
    return [str(layer["Arn"]) for layer in config.get("Layers") or []]
