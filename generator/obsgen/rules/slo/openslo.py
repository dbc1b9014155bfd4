"""OpenSLO v1 files (https://github.com/OpenSLO/OpenSLO): SLO, SLI, AlertPolicy,
AlertCondition and Service objects, in any of the profile's sloFiles.

What maps: an Occurrences SLO over a rolling 7d/28d/30d window whose SLI is
a `ratioMetric` of Prometheus counters. A burn-rate AlertCondition becomes
one of the engine's window pairs: its lookbackWindow is the long window, the
short window is a twelfth of it, its threshold the burn factor, alertAfter
its `for` (op gt and gte both become `>`: equality of two float rates is no
signal). AlertPolicy.alertWhenNoData switches the SLO's no-data alert on or
off; metadata.labels become labels of the SLO's alerts. Anything else is an
error naming the file and field, never a silent drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ...model import Stack
from . import periods, validate
from . import sli as slis
from .definition import DEFAULT_MIN_EVENTS, SLO
from .validate import Problems
from .windows import Pair, duration, seconds

API_VERSION = "openslo/v1"
SEVERITIES = {"page": "critical", "critical": "critical", "ticket": "warning", "warning": "warning"}
_NOT_HERE = {
    "DataSource": "metric sources are given inline (metricSource.type: Prometheus, spec.query)",
    "AlertNotificationTarget": "notifications are routed by the profile's teams and receivers",
}


def is_openslo(document: Any) -> bool:
    if isinstance(document, list):
        return bool(document) and all(is_openslo(d) for d in document)
    return isinstance(document, dict) and str(document.get("apiVersion", "")).startswith("openslo/")


@dataclass(frozen=True)
class Obj:
    kind: str
    name: str
    data: dict[str, Any]
    src: str
    path: str  # how errors name it: Kind/name


class Reader:
    """All OpenSLO objects of all files, resolved by kind and name."""

    def __init__(self, stack: Stack, problems: Problems):
        self.stack = stack
        self.problems = problems
        self.objects: dict[tuple[str, str], Obj] = {}
        self._slis: dict[str, slis.SLI | None] = {}
        self._pairs: dict[str, list[tuple[Obj, dict[str, Any]]] | None] = {}

    def add(self, document: Any, src: str, index: int) -> None:
        for k, doc in enumerate(document if isinstance(document, list) else [document]):
            where = f"documents[{index}]" + (f"[{k}]" if isinstance(document, list) else "")
            if not isinstance(doc, dict):
                self.problems.add(src, where, "an OpenSLO object is a mapping")
                continue
            if doc.get("apiVersion") != API_VERSION:
                self.problems.add(
                    src, f"{where}.apiVersion", f"unsupported OpenSLO version {doc.get('apiVersion')!r}: obsgen reads {API_VERSION!r}"
                )
                continue
            kind, name = doc.get("kind"), (doc.get("metadata") or {}).get("name")
            if not isinstance(name, str) or not name:
                self.problems.add(src, f"{where}.metadata.name", "required")
                continue
            path = f"{kind}/{name}"
            if kind in _NOT_HERE:
                self.problems.add(src, f"{path}.kind", f"kind {kind!r} is not supported: {_NOT_HERE[kind]}")
            elif kind not in ("SLO", "SLI", "AlertPolicy", "AlertCondition", "Service"):
                self.problems.add(
                    src, f"{path}.kind", f"kind {kind!r} is not supported (supported: SLO, SLI, AlertPolicy, AlertCondition, Service)"
                )
            elif (kind, name) in self.objects:
                other = self.objects[(kind, name)]
                self.problems.add(src, f"{path}.metadata.name", f"{kind} {name!r} is already defined in {other.src}")
            else:
                self.objects[(kind, name)] = Obj(kind, name, doc, src, path)

    # --- helpers -------------------------------------------------------------

    def _bad(self, obj: Obj, field: str, reason: str) -> None:
        self.problems.add(obj.src, f"{obj.path}.{field}" if field else obj.path, reason)

    def _only(self, obj: Obj, data: Any, allowed: frozenset[str], field: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            self._bad(obj, field, "must be a mapping")
            return {}
        for key in data:
            if key not in allowed:
                self._bad(obj, f"{field}.{key}" if field else key, f"field {key!r} is not supported by obsgen; remove it")
        return data

    def _common(
        self, obj: Obj, spec_fields: frozenset[str] | None, metadata_fields: frozenset[str] = frozenset({"name", "displayName"})
    ) -> dict[str, Any]:
        """Check the envelope (and the spec's fields unless spec_fields is None); the spec."""
        self._only(obj, obj.data, frozenset({"apiVersion", "kind", "metadata", "spec"}), "")
        self._only(obj, obj.data.get("metadata"), metadata_fields, "metadata")
        if spec_fields is None:
            return obj.data.get("spec", {})
        return self._only(obj, obj.data.get("spec", {}), spec_fields, "spec")

    def _ref(self, obj: Obj, field: str, kind: str, name: Any) -> Obj | None:
        found = self.objects.get((kind, name)) if isinstance(name, str) else None
        if found is None:
            self._bad(obj, field, f"no {kind} named {name!r} in the profile's sloFiles")
        return found

    # --- SLI -----------------------------------------------------------------

    def _query(self, obj: Obj, data: Any, field: str) -> str:
        metric = self._only(obj, data, frozenset({"metricSource"}), field)
        source = self._only(obj, metric.get("metricSource", {}), frozenset({"type", "spec", "metricSourceRef"}), f"{field}.metricSource")
        if "metricSourceRef" in source:
            self._bad(obj, f"{field}.metricSource.metricSourceRef", f"not supported: {_NOT_HERE['DataSource']}")
            return ""
        if str(source.get("type", "")).lower() != "prometheus":
            self._bad(
                obj, f"{field}.metricSource.type", f"metric source type {source.get('type')!r} is not supported: obsgen reads Prometheus"
            )
            return ""
        spec = self._only(obj, source.get("spec", {}), frozenset({"query"}), f"{field}.metricSource.spec")
        query = spec.get("query")
        if not isinstance(query, str) or not query.strip():
            self._bad(obj, f"{field}.metricSource.spec.query", "a PromQL query of a counter is required")
            return ""
        return query

    def _ratio(self, obj: Obj, spec: dict[str, Any], field: str) -> slis.SLI | None:
        spec = self._only(obj, spec, frozenset({"ratioMetric", "thresholdMetric"}), field)
        if "thresholdMetric" in spec:
            self._bad(obj, f"{field}.thresholdMetric", "not supported: the engine needs a ratioMetric of good (or bad) and total events")
            return None
        ratio = self._only(
            obj, spec.get("ratioMetric"), frozenset({"counter", "good", "bad", "total", "raw", "rawType"}), f"{field}.ratioMetric"
        )
        if not ratio:
            return None
        problems = False
        for key in ("raw", "rawType"):
            if key in ratio:
                self._bad(
                    obj,
                    f"{field}.ratioMetric.{key}",
                    "not supported: a precomputed ratio cannot be weighted by traffic; give good or bad, and total",
                )
                problems = True
        if ratio.get("counter") is not True:
            self._bad(obj, f"{field}.ratioMetric.counter", "must be true: obsgen counts events with increase() over counters")
            problems = True
        if ("good" in ratio) == ("bad" in ratio):
            self._bad(obj, f"{field}.ratioMetric", "give exactly one of good and bad, and total")
            return None
        if "total" not in ratio:
            self._bad(obj, f"{field}.ratioMetric.total", "required")
            return None
        which = "good" if "good" in ratio else "bad"
        part = self._query(obj, ratio[which], f"{field}.ratioMetric.{which}")
        total = self._query(obj, ratio["total"], f"{field}.ratioMetric.total")
        for key, query in ((which, part), ("total", total)):
            if query and (reason := slis.counter_problem(query)):
                self._bad(obj, f"{field}.ratioMetric.{key}", reason)
                problems = True
        if problems or not part or not total:
            return None
        groups, reason = slis.groups_of(part, total)
        if reason:
            self._bad(obj, f"{field}.ratioMetric", reason)
            return None
        build = slis.good_counters if which == "good" else slis.counters
        return build(part, total, "openslo", groups)

    def _sli(self, slo: Obj, spec: dict[str, Any]) -> slis.SLI | None:
        if ("indicator" in spec) == ("indicatorRef" in spec):
            self._bad(slo, "spec", "give exactly one of indicator and indicatorRef")
            return None
        if "indicator" in spec:
            inline = self._only(slo, spec["indicator"], frozenset({"metadata", "spec"}), "spec.indicator")
            self._only(slo, inline.get("metadata", {}), frozenset({"name", "displayName"}), "spec.indicator.metadata")
            return self._ratio(slo, inline.get("spec", {}), "spec.indicator.spec")
        ref = self._ref(slo, "spec.indicatorRef", "SLI", spec["indicatorRef"])
        if ref is None:
            return None
        if ref.name not in self._slis:
            self._slis[ref.name] = self._ratio(ref, self._common(ref, frozenset({"description", "ratioMetric", "thresholdMetric"})), "spec")
        return self._slis[ref.name]

    # --- alerting ------------------------------------------------------------

    def _conditions(self, policy: Obj, data: dict[str, Any], field: str) -> tuple[list[tuple[Obj, dict[str, Any], str]], bool | None]:
        spec = self._only(
            policy,
            data,
            frozenset({"description", "alertWhenBreaching", "alertWhenResolved", "alertWhenNoData", "conditions", "notificationTargets"}),
            field,
        )
        if "notificationTargets" in spec:
            self._bad(policy, f"{field}.notificationTargets", f"not supported: {_NOT_HERE['AlertNotificationTarget']}")
        for key in ("alertWhenBreaching", "alertWhenResolved"):
            if spec.get(key, True) is not True:
                self._bad(policy, f"{field}.{key}", "must be true: burn-rate alerts fire on breaches and Alertmanager sends resolutions")
        no_data = spec.get("alertWhenNoData")
        if no_data is not None and not isinstance(no_data, bool):
            self._bad(policy, f"{field}.alertWhenNoData", "must be true or false")
            no_data = None
        found = []
        conditions = spec.get("conditions")
        if not isinstance(conditions, list) or not conditions:
            self._bad(policy, f"{field}.conditions", "a non-empty list of conditions is required")
            return [], no_data
        for c, item in enumerate(conditions):
            where = f"{field}.conditions[{c}]"
            if isinstance(item, dict) and "conditionRef" in item:
                self._only(policy, item, frozenset({"conditionRef"}), where)
                ref = self._ref(policy, f"{where}.conditionRef", "AlertCondition", item["conditionRef"])
                if ref is not None:
                    found.append((ref, self._common(ref, frozenset({"severity", "condition", "description"})), "spec"))
            elif isinstance(item, dict) and item.get("kind") == "AlertCondition":
                self._only(policy, item, frozenset({"kind", "metadata", "spec"}), where)
                found.append(
                    (
                        policy,
                        self._only(policy, item.get("spec", {}), frozenset({"severity", "condition", "description"}), f"{where}.spec"),
                        f"{where}.spec",
                    )
                )
            else:
                self._bad(policy, where, "give conditionRef or an inline AlertCondition")
        return found, no_data

    def _pair(self, owner: Obj, spec: dict[str, Any], field: str, period: str) -> Pair | None:
        condition = self._only(
            owner, spec.get("condition", {}), frozenset({"kind", "op", "threshold", "lookbackWindow", "alertAfter"}), f"{field}.condition"
        )
        ok = True
        if condition.get("kind") != "burnrate":
            self._bad(
                owner,
                f"{field}.condition.kind",
                f"condition kind {condition.get('kind')!r} is not supported: obsgen generates burnrate conditions",
            )
            ok = False
        if condition.get("op", "gte") not in ("gt", "gte"):
            self._bad(owner, f"{field}.condition.op", "must be gt or gte: a burn-rate alert fires above its threshold")
            ok = False
        threshold = condition.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
            self._bad(owner, f"{field}.condition.threshold", "a positive burn rate is required")
            ok = False
        severity = SEVERITIES.get(str(spec.get("severity", "")).lower())
        if severity is None:
            self._bad(
                owner, f"{field}.severity", f"severity {spec.get('severity')!r} is not supported: use page or ticket (critical or warning)"
            )
            ok = False
        table = periods.of(self.stack)[period]
        lookback = condition.get("lookbackWindow")
        pair = table.by_long_window(_normal(lookback))
        if pair is None:
            longs = ", ".join(p.long for p in table.pairs)
            self._bad(
                owner,
                f"{field}.condition.lookbackWindow",
                f"lookbackWindow {lookback!r} is not supported: use one of {longs} (short window = lookback / 12)",
            )
            ok = False
        alert_after = condition.get("alertAfter")
        if alert_after is not None and not _is_duration(alert_after):
            self._bad(owner, f"{field}.condition.alertAfter", f"{alert_after!r} is not a duration such as 5m")
            ok = False
        if not ok or pair is None or severity is None:
            return None
        share = Fraction(str(threshold)) * seconds(pair.long) / seconds(period)
        return Pair(
            pair.role,
            pair.alert,
            pair.long,
            pair.short,
            share,
            float(threshold),
            severity,
            _normal(alert_after) if alert_after else pair.for_,
        )

    def _alerting(self, slo: Obj, items: Any, period: str) -> tuple[tuple[Pair, ...] | None, bool | None]:
        # OpenSLO alerts only through alert policies: an SLO without any is
        # measured (recordings, dashboards, report) and alerts on nothing.
        if items in (None, []):
            return (), False
        if not isinstance(items, list):
            self._bad(slo, "spec.alertPolicies", "must be a list")
            return None, None
        pairs: dict[str, Pair] = {}
        no_data: bool | None = None
        for p, item in enumerate(items):
            where = f"spec.alertPolicies[{p}]"
            if isinstance(item, dict) and "alertPolicyRef" in item:
                self._only(slo, item, frozenset({"alertPolicyRef"}), where)
                policy = self._ref(slo, f"{where}.alertPolicyRef", "AlertPolicy", item["alertPolicyRef"])
                if policy is None:
                    continue
                conditions, policy_no_data = self._conditions(policy, self._common(policy, None), "spec")
            elif isinstance(item, dict) and item.get("kind") == "AlertPolicy":
                self._only(slo, item, frozenset({"kind", "metadata", "spec"}), where)
                conditions, policy_no_data = self._conditions(slo, item.get("spec", {}), f"{where}.spec")
            else:
                self._bad(slo, where, "give alertPolicyRef or an inline AlertPolicy")
                continue
            no_data = policy_no_data if no_data is None else (no_data or bool(policy_no_data))
            for owner, spec, field in conditions:
                pair = self._pair(owner, spec, field, period)
                if pair is None:
                    continue
                if pair.role in pairs:
                    self._bad(slo, where, f"two alert conditions use lookbackWindow {pair.long}: one alert per window pair")
                    continue
                pairs[pair.role] = pair
        order = [p.role for p in periods.of(self.stack)[period].pairs]
        return tuple(sorted(pairs.values(), key=lambda p: order.index(p.role))), no_data

    # --- objects -------------------------------------------------------------

    def _period(self, slo: Obj, spec: dict[str, Any]) -> str | None:
        items = spec.get("timeWindow")
        if not isinstance(items, list) or len(items) != 1:
            self._bad(slo, "spec.timeWindow", "exactly one time window is required")
            return None
        window = self._only(slo, items[0], frozenset({"duration", "isRolling", "calendar"}), "spec.timeWindow[0]")
        ok = True
        if "calendar" in window or window.get("isRolling", True) is not True:
            self._bad(slo, "spec.timeWindow[0].isRolling", "calendar windows are not supported: the engine's periods are rolling")
            ok = False
        period = _normal(window.get("duration"))
        if period not in periods.of(self.stack):
            self._bad(slo, "spec.timeWindow[0].duration", validate.period(window.get("duration"), periods.of(self.stack)))
            return None
        return period if ok else None

    def _objective(self, slo: Obj, spec: dict[str, Any]) -> Decimal | None:
        items = spec.get("objectives")
        if not isinstance(items, list) or len(items) != 1:
            self._bad(slo, "spec.objectives", "exactly one objective is required")
            return None
        objective = self._only(slo, items[0], frozenset({"displayName", "target", "targetPercent"}), "spec.objectives[0]")
        if ("target" in objective) == ("targetPercent" in objective):
            self._bad(slo, "spec.objectives[0]", "give exactly one of target (0–1) and targetPercent")
            return None
        if "target" in objective:
            target = objective["target"]
            number = None if isinstance(target, bool) or not isinstance(target, int | float) else Decimal(str(target)) * 100
            percent, reason = validate.objective(number if number is not None else target)
            field = "spec.objectives[0].target"
            if reason:
                reason = f"{target!r} is not a ratio strictly between 0 and 1"
        else:
            percent, reason = validate.objective(objective["targetPercent"])
            field = "spec.objectives[0].targetPercent"
        if reason:
            self._bad(slo, field, reason)
        return percent

    def _service(self, obj: Obj) -> None:
        self._common(obj, frozenset({"description"}))
        _, reason = validate.service_named(self.stack, obj.name)
        if reason:
            self._bad(obj, "metadata.name", reason)

    def slos(self) -> list[SLO]:
        out = []
        for obj in self.objects.values():
            if obj.kind == "Service":
                self._service(obj)
            if obj.kind != "SLO":
                continue
            before = self.problems.count()
            spec = self._common(
                obj,
                frozenset(
                    {"description", "service", "indicator", "indicatorRef", "timeWindow", "budgetingMethod", "objectives", "alertPolicies"}
                ),
                frozenset({"name", "displayName", "labels"}),
            )
            if reason := validate.name(obj.name):
                self._bad(obj, "metadata.name", reason)
            labels, found = validate.labels((obj.data.get("metadata") or {}).get("labels", {}))
            for sub, reason in found:
                self._bad(obj, f"metadata.labels{sub}", reason)
            service, reason = validate.service_named(self.stack, spec.get("service"))
            if reason:
                self._bad(obj, "spec.service", reason)
            if spec.get("budgetingMethod", "Occurrences") != "Occurrences":
                self._bad(
                    obj, "spec.budgetingMethod", f"{spec.get('budgetingMethod')!r} is not supported: obsgen budgets Occurrences (events)"
                )
            period = self._period(obj, spec)
            percent = self._objective(obj, spec)
            sli = self._sli(obj, spec)
            pairs, no_data = self._alerting(obj, spec.get("alertPolicies"), period) if period else (None, None)
            if self.problems.count() > before or service is None or percent is None or sli is None or period is None:
                continue
            metadata = obj.data.get("metadata") or {}
            out.append(
                SLO(
                    name=obj.name,
                    service=service.name,
                    namespace=service.namespace,
                    team=service.team,
                    objective=percent,
                    period=period,
                    min_events=DEFAULT_MIN_EVENTS,
                    sli=sli,
                    file=obj.src,
                    field=obj.path,
                    description=str(spec.get("description") or metadata.get("displayName", "")),
                    pairs=pairs,
                    no_data=no_data,
                    labels=labels,
                )
            )
        return out


def _is_duration(value: Any) -> bool:
    try:
        seconds(str(value))
    except ValueError:
        return False
    return True


def _normal(value: Any) -> str:
    """A duration in the engine's spelling (1w → 7d, 24h → 1d), or the input as text."""
    return duration(seconds(str(value))) if _is_duration(value) else str(value)
