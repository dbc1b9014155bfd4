"""Prometheus remote_write to an existing store, from the profile's `remoteWrite`.

Every Prometheus replica writes everything it stores (after the entry's
write_relabel_configs) to each endpoint; the store deduplicates the HA pair
by the `prometheus_replica` external label where it can (Mimir, Cortex and
Thanos Receive's HA tracker), or keeps both. Credentials are never copied
into values: each is a file from an existing Secret mounted into the pod
(`*_file` settings), except SigV4's keys, which Prometheus reads only from
the environment (the AWS default chain), so they are env from the Secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import promql
from ..tiers import Tier

SECRETS_DIR = "/etc/prometheus/secrets"
# SigV4 credentials: the names the AWS default chain reads.
SIGV4_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
AUTH_KINDS = ("basicAuth", "bearerTokenSecret", "oauth2", "sigv4")
_QUEUE_KEYS = {
    "capacity": "capacity",
    "maxShards": "max_shards",
    "minShards": "min_shards",
    "maxSamplesPerSend": "max_samples_per_send",
    "batchSendDeadline": "batch_send_deadline",
}


def secret_file(ref: Mapping[str, str]) -> str:
    return f"{SECRETS_DIR}/{ref['name']}/{ref['key']}"


def problems(entries: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """What Prometheus would refuse, or what would go wrong silently, said at generate time."""
    found: list[tuple[str, str]] = []
    names: dict[str, int] = {}
    sigv4_secrets = set()
    for i, entry in enumerate(entries):
        where = f"remoteWrite[{i}]"
        if entry["name"] in names:
            found.append((f"{where}.name", f"{entry['name']!r} is already the name of remoteWrite[{names[entry['name']]}]"))
        names.setdefault(entry["name"], i)
        auths = [k for k in AUTH_KINDS if k in entry]
        if len(auths) > 1:
            found.append((where, f"one authentication per endpoint: {' and '.join(auths)} are both set"))
        if "sigv4" in entry:
            sigv4_secrets.add(entry["sigv4"].get("credentialsSecret", {}).get("name", ""))
        for r, rule in enumerate(entry.get("writeRelabelConfigs", [])):
            if "regex" in rule:
                try:
                    promql.check_regex(rule["regex"])
                except promql.PromQLError as exc:
                    found.append((f"{where}.writeRelabelConfigs[{r}].regex", str(exc)))
            action = rule.get("action", "replace")
            if action in ("replace", "hashmod", "lowercase", "uppercase") and "target_label" not in rule:
                found.append((f"{where}.writeRelabelConfigs[{r}].target_label", f"required by action {action}"))
    if len(sigv4_secrets) > 1:
        # One process environment, one set of AWS keys.
        found.append(("remoteWrite", "SigV4 endpoints must share one credentialsSecret (or all use the workload identity)"))
    return found


def _queue(tier: Tier, entry: Mapping[str, Any]) -> dict[str, Any]:
    queue = dict(tier.remote_write_queue)
    for key, value in entry.get("queue", {}).items():
        queue[_QUEUE_KEYS[key]] = value
    return queue


def config(tier: Tier, entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The `remote_write` section of prometheus.yml."""
    out = []
    for entry in entries:
        rw: dict[str, Any] = {"name": entry["name"], "url": entry["url"]}
        if "basicAuth" in entry:
            auth = entry["basicAuth"]
            rw["basic_auth"] = {"username": auth["username"], "password_file": secret_file(auth["passwordSecret"])}
        if "bearerTokenSecret" in entry:
            rw["authorization"] = {"type": "Bearer", "credentials_file": secret_file(entry["bearerTokenSecret"])}
        if "oauth2" in entry:
            o = entry["oauth2"]
            rw["oauth2"] = {"client_id": o["clientId"], "client_secret_file": secret_file(o["clientSecret"]), "token_url": o["tokenUrl"]}
            if o.get("scopes"):
                rw["oauth2"]["scopes"] = list(o["scopes"])
            if o.get("endpointParams"):
                rw["oauth2"]["endpoint_params"] = dict(o["endpointParams"])
        if "sigv4" in entry:
            rw["sigv4"] = {"region": entry["sigv4"]["region"]}
            if "roleArn" in entry["sigv4"]:
                rw["sigv4"]["role_arn"] = entry["sigv4"]["roleArn"]
        if "tls" in entry:
            rw["tls_config"] = {"ca_file": secret_file(entry["tls"]["caSecret"])}
            if "serverName" in entry["tls"]:
                rw["tls_config"]["server_name"] = entry["tls"]["serverName"]
        if entry.get("writeRelabelConfigs"):
            rw["write_relabel_configs"] = [dict(r) for r in entry["writeRelabelConfigs"]]
        rw["queue_config"] = _queue(tier, entry)
        out.append(rw)
    return out


def secret_mounts(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The Secrets whose keys the remote_write settings read as files."""
    refs = []
    for entry in entries:
        refs += [entry[k] for k in ("bearerTokenSecret",) if k in entry]
        refs += [entry["basicAuth"]["passwordSecret"]] if "basicAuth" in entry else []
        refs += [entry["oauth2"]["clientSecret"]] if "oauth2" in entry else []
        refs += [entry["tls"]["caSecret"]] if "tls" in entry else []
    return [{"secretName": name} for name in sorted({r["name"] for r in refs})]


def sigv4_env(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """AWS keys from the SigV4 Secret, as env of the Prometheus container; none for workload identity."""
    for entry in entries:
        secret = entry.get("sigv4", {}).get("credentialsSecret")
        if secret:
            keys = (secret.get("accessKeyIdKey", SIGV4_ENV[0]), secret.get("secretAccessKeyKey", SIGV4_ENV[1]))
            pairs = zip(SIGV4_ENV, keys, strict=True)
            return [{"name": env, "valueFrom": {"secretKeyRef": {"name": secret["name"], "key": key}}} for env, key in pairs]
    return []
