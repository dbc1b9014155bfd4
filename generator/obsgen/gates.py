"""One gating vocabulary for everything a tier turns on: alerts, dashboard
panels, rows and variables, and scrape jobs.

An item is generated when the stack's tier is at least its `min_tier` and
every name in its `requires` is a capability of the stack:
  - a component that runs (tiers.COMPONENTS, with the profile's trace store
    in place of Tempo);
  - `job:<key>` for a scrape job that runs (tiers.SCRAPE_JOBS keys);
  - what the profile declares, which the dashboards add (services, probes,
    slos, …: dashboards/sources.py).
Scrape jobs themselves require components only: they decide what `job:`
means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .tiers import TIER_ORDER, ScrapeJob

if TYPE_CHECKING:
    from .model import Stack


def reached(tier: str, min_tier: str) -> bool:
    return TIER_ORDER.index(tier) >= TIER_ORDER.index(min_tier)


def job_runs(job: ScrapeJob, tier: str, components: frozenset[str], switched: dict[str, bool] | None = None) -> bool:
    """Whether a scrape job runs: the profile's controlPlane switch where it set
    one, else the tier (an opt-in job never runs unasked)."""
    if switched and job.key in switched:
        return switched[job.key]
    return not job.opt_in and reached(tier, job.min_tier) and set(job.requires) <= components


def running_jobs(stack: Stack) -> frozenset[str]:
    """Scrape jobs that run (values keys); blackbox only with something to probe."""
    jobs = {job.key for job, enabled, _ in stack.scrape_jobs if enabled}
    if not stack.probes:
        jobs.discard("blackbox")
    return frozenset(jobs)


def capabilities(stack: Stack) -> frozenset[str]:
    """The components and scrape jobs of the stack, as `requires` names them."""
    return frozenset(stack.components or stack.tier.components) | {f"job:{key}" for key in running_jobs(stack)}


def allows(stack: Stack, min_tier: str, requires: tuple[str, ...], caps: frozenset[str] | None = None) -> bool:
    """Whether an item gated by (min_tier, requires) is generated for the stack."""
    return reached(stack.tier.name, min_tier) and set(requires) <= (capabilities(stack) if caps is None else caps)
