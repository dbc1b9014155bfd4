"""How people reach the UIs: each one's external URL, and the Ingress or
Gateway API HTTPRoute the chart renders for it (obs-lib.exposure).

The external URL is the one fact: the Ingress host and TLS, the HTTPRoute
hostname, Prometheus' and Alertmanager's --web.external-url (the generator
and silence links in every notification), Grafana's root URL and the
dashboard links of the alerts all come from it.
"""

from __future__ import annotations

from typing import Any

# UI → (values key, contract Service, port name).
UIS: dict[str, tuple[str, str]] = {
    "grafana": ("grafana", "http"),
    "prometheus": ("prometheus", "http"),
    "alertmanager": ("alertmanager", "http"),
    "jaeger": ("jaeger", "query-http"),
}


def values(ui: str, spec: dict[str, Any] | None) -> dict[str, Any]:
    """The `<ui>.exposure` section of the values (same keys in every tier)."""
    spec = spec or {}
    service, port = UIS[ui]
    ingress = spec.get("ingress")
    route = spec.get("httpRoute")
    return {
        "externalUrl": spec.get("externalUrl", "").rstrip("/"),
        "service": service,
        "port": port,
        "ingress": {
            "enabled": ingress is not None,
            "className": (ingress or {}).get("className", ""),
            "annotations": dict((ingress or {}).get("annotations", {})),
            "tlsSecret": (ingress or {}).get("tlsSecret", ""),
        },
        "httpRoute": {
            "enabled": route is not None,
            "parentRefs": [dict(r) for r in (route or {}).get("parentRefs", [])],
            "annotations": dict((route or {}).get("annotations", {})),
        },
    }


# What a notification links, by the UI that serves it (Alertmanager's default
# templates and the annotations the rules write).
_NOTIFICATION_LINKS = {
    "grafana": "the alerts' dashboard and runbook links",
    "alertmanager": "the alert list and silence links of Alertmanager's templates",
    "prometheus": "each alert's source (generator) link",
}


def link_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Notifications that leave the cluster must carry links that resolve
    there: once a team declares receivers, every UI a notification links
    needs its external URL (an absolute alerts.dashboardBaseUrl stands in
    for Grafana's)."""
    if not any(team.get("receivers") for team in data.get("teams", [])):
        return []
    exposure = data.get("exposure", {})
    found = []
    for ui, links in _NOTIFICATION_LINKS.items():
        if exposure.get(ui, {}).get("externalUrl"):
            continue
        if ui == "grafana" and data.get("alerts", {}).get("dashboardBaseUrl"):
            continue
        reason = f"teams declare receivers, so notifications carry {links}: without {ui}'s external URL they point inside the cluster"
        found.append((f"exposure.{ui}.externalUrl", reason))
    return found


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """What the chart would refuse at render time, or what would send broken
    links, said at generate time."""
    found = link_problems(data)
    for ui, spec in data.get("exposure", {}).items():
        url = spec["externalUrl"]
        if "ingress" in spec and url.startswith("https://") and not spec["ingress"].get("tlsSecret"):
            reason = f"{url} is https: name the certificate's Secret (existing, or cert-manager's)"
            found.append((f"exposure.{ui}.ingress.tlsSecret", reason))
    return found
