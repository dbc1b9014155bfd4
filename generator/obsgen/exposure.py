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


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """What the chart would refuse at render time, said at generate time."""
    found = []
    for ui, spec in data.get("exposure", {}).items():
        url = spec["externalUrl"]
        if "ingress" in spec and url.startswith("https://") and not spec["ingress"].get("tlsSecret"):
            reason = f"{url} is https: name the certificate's Secret (existing, or cert-manager's)"
            found.append((f"exposure.{ui}.ingress.tlsSecret", reason))
    return found
