"""blackbox_exporter modules used by the generated probes."""

from __future__ import annotations

from typing import Any

MODULES: dict[str, dict[str, Any]] = {
    # Health endpoints: any 2xx within the timeout; redirects are followed
    # because a health path behind a trailing-slash redirect is still healthy.
    "http_2xx": {
        "prober": "http",
        "timeout": "5s",
        "http": {
            "preferred_ip_protocol": "ip4",
            "ip_protocol_fallback": True,
            "follow_redirects": True,
            "valid_status_codes": [],
        },
    },
    "tcp_connect": {
        "prober": "tcp",
        "timeout": "5s",
        "tcp": {"preferred_ip_protocol": "ip4", "ip_protocol_fallback": True},
    },
}


def config() -> dict[str, Any]:
    return {"modules": {name: dict(module) for name, module in MODULES.items()}}
