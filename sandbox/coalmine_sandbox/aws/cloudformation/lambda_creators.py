"""The Lambda resource creators (layer, function, version, alias, event invoke config): properties
-> Lambda API calls on moto; a function's code is its local CodeUri directory, zipped."""

from __future__ import annotations

from typing import Any

from .package import LOCAL_BUCKET, FunctionCode, sha256_b64, zip_dir
from .stack import Created, StackContext


def layer(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    content = p.get("Content") or {}
    directory = ctx.local_path(content.get("S3Key", ""))
    data = zip_dir(directory) if directory.is_dir() else b""
    response = ctx.client("lambda").publish_layer_version(
        LayerName=p.get("LayerName") or logical_id,
        Content={"ZipFile": data},
        CompatibleRuntimes=p.get("CompatibleRuntimes", []),
    )
    if directory.is_dir():
        ctx.stack.layers[response["LayerVersionArn"]] = directory
    return Created(response["LayerVersionArn"], {})


def function(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    name = p.get("FunctionName") or ctx.physical_name(logical_id)
    code = p.get("Code") or {}
    directory = ctx.local_path(code.get("S3Key", ""))
    if code.get("S3Bucket") != LOCAL_BUCKET or not directory.is_dir():
        raise ValueError(f"{logical_id}: the sandbox runs local CodeUri directories only")
    data = zip_dir(directory)
    kwargs: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": p.get("Runtime", "python3.12"),
        "Role": p["Role"],
        "Handler": p["Handler"],
        "Code": {"ZipFile": data},
        "Timeout": int(p.get("Timeout", 3)),
        "MemorySize": int(p.get("MemorySize", 128)),
        "Description": p.get("Description", ""),
        "Environment": {"Variables": (p.get("Environment") or {}).get("Variables", {})},
        "Layers": p.get("Layers", []),
        "Architectures": p.get("Architectures", ["x86_64"]),
    }
    if p.get("TracingConfig"):
        kwargs["TracingConfig"] = p["TracingConfig"]
    if p.get("Tags"):  # coalmine's opt-in tag (coalmine:managed) lives here
        kwargs["Tags"] = {tag["Key"]: str(tag["Value"]) for tag in p["Tags"]}
    response = ctx.client("lambda").create_function(**kwargs)
    ctx.stack.functions[name] = FunctionCode(directory, p["Handler"], sha256_b64(data))
    return Created(name, {"Arn": response["FunctionArn"]})


def version(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    response = ctx.client("lambda").publish_version(
        FunctionName=p["FunctionName"], Description=p.get("Description", "")
    )
    return Created(response["FunctionArn"], {"Version": response["Version"]})


def alias(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    kwargs: dict[str, Any] = {
        "FunctionName": p["FunctionName"],
        "Name": p["Name"],
        "FunctionVersion": str(p["FunctionVersion"]),
    }
    weights = (p.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    if weights:
        kwargs["RoutingConfig"] = {
            "AdditionalVersionWeights": {
                str(w["FunctionVersion"]): float(w["FunctionWeight"]) for w in weights
            }
        }
    response = ctx.client("lambda").create_alias(**kwargs)
    return Created(response["AliasArn"], {})


def event_invoke_config(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    """Async retries and destinations (Cleanup's OnFailure queue)."""
    p = ctx.resolve(props)
    kwargs = {k: p[k] for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds") if k in p}
    if p.get("DestinationConfig"):
        kwargs["DestinationConfig"] = p["DestinationConfig"]
    ctx.client("lambda").put_function_event_invoke_config(
        FunctionName=p["FunctionName"], Qualifier=p.get("Qualifier", "$LATEST"), **kwargs
    )
    return Created(f"{p['FunctionName']}:{p.get('Qualifier', '$LATEST')}", {})
