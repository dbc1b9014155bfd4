"""obsgen: turns an obs tier profile into the chart's values, rules and dashboards.

Pipeline: profile (YAML, validated) → model (resolved decisions) → artifacts
(values file, rule groups, Alertmanager config), each stage in its own module.
"""

__version__ = "0.1.0"
