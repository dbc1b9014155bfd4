"""One SLO, whatever file declared it: the engine only ever sees this."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ... import promql
from .sli import SLI
from .windows import Pair

DEFAULT_POLICY_ACTION = "freeze-releases"
DEFAULT_MIN_EVENTS = 10


@dataclass(frozen=True)
class SLO:
    name: str
    service: str
    namespace: str
    team: str
    objective: Decimal  # percent, e.g. 99.9
    period: str
    min_events: int
    sli: SLI
    file: str  # where it was declared, as errors name it
    field: str  # its path in that file, e.g. services[0].slos[1]
    description: str = ""
    policy_action: str = DEFAULT_POLICY_ACTION
    # Set when the declaring file chose its own burn alerts (OpenSLO alert
    # policies); otherwise the tier's pairs apply.
    pairs: tuple[Pair, ...] | None = None
    no_data: bool | None = None  # None: the tier decides
    # Extra labels from the declaring file: on every recording and alert of
    # the SLO (Sloth's and OpenSLO's labels), and on its alerts only (Sloth's
    # alerting.labels).
    labels: tuple[tuple[str, str], ...] = ()
    alert_labels: tuple[tuple[str, str], ...] = ()
    # What a Sloth file says of its alerts: their name (all burn alerts share
    # it, as in Sloth; burn_window tells them apart), extra annotations, and
    # per kind (page: the fast and medium pairs, ticket: slow and chronic)
    # labels and annotations, and the pairs the file asks for (a Sloth file
    # has both kinds unless one is disabled, whatever the tier; None: the
    # tier's pairs).
    alert_name: str = ""
    annotations: tuple[tuple[str, str], ...] = ()
    kind_labels: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (page|ticket, labels)
    kind_annotations: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    roles: frozenset[str] | None = None

    @property
    def source(self) -> str:
        return f"{self.file}: {self.field}"

    @property
    def objective_ratio(self) -> Decimal:
        return self.objective / 100

    @property
    def budget(self) -> Decimal:
        """Share of events allowed to be bad, e.g. 0.001 for 99.9."""
        return 1 - self.objective_ratio

    @property
    def selector(self) -> str:
        return "{" + promql.matcher("slo", "=", self.name) + "}"

    @property
    def series_labels(self) -> dict[str, str]:
        """Labels of every recording of this SLO (obsgen report relies on them)."""
        return {"slo": self.name, "service": self.service, "namespace": self.namespace, "team": self.team}
