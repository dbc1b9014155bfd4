"""Windows of a day and more: exact sums of 5m tiles, and no ticket on a partial
window after an install. promtool's rule engine on the generated rules."""

from __future__ import annotations

import pytest

from obsgen import yamlio
from obsgen.rules.slo import engine
from obsgen.rules.slo.windows import DAY_TILE
from obsgen.rules.types import RecordingRule, RuleGroup
from tests import test_slo_scenarios as sc

TIER, SLO = "advanced", "checkout-availability"


def run(rules: RuleGroup, series: list[dict[str, str]], tests: list[dict]) -> None:
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests}],
    }
    result = sc.run(yamlio.dump({"groups": [rules.render(sc.stack(TIER))]}), yamlio.dump(test))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("phase", [0, 3, 7])
def test_a_day_of_tiles_counts_every_error_once(phase):
    """One error every 10 minutes, wherever they fall against the 5m tiles: a day holds
    exactly 144. Tiles of increase() counted each error 0 or 1.25 times by its position."""
    minutes = 24 * 60 + 60
    bad = [sum(1 for m in range(1, k + 1) if m % 10 == phase) for k in range(minutes + 1)]
    total = [sc.TOTAL_BASE + 1000 * k for k in range(minutes + 1)]
    series = [
        {
            "series": f'http_requests_total{{{sc.CHECKOUT}, status="200"}}',
            "values": " ".join(str(t - b) for t, b in zip(total, bad, strict=True)),
        },
        {"series": f'http_requests_total{{{sc.CHECKOUT}, status="500"}}', "values": " ".join(str(sc.BAD_BASE + b) for b in bad)},
    ]
    full = sc.group(TIER, SLO)
    wanted = {engine.bad("1d"), engine.bad(DAY_TILE), engine.total(DAY_TILE), engine.INFO}
    rules = RuleGroup(full.name, tuple(r for r in full.rules if isinstance(r, RecordingRule) and r.record in wanted), full.interval)
    labels = 'namespace="shop", service="checkout", slo="checkout-availability", team="payments"'
    run(
        rules,
        series,
        [
            {
                "expr": f'{engine.bad("1d")}{{slo="{SLO}"}}',
                "eval_time": f"{minutes}m",
                "exp_samples": [{"labels": f"{engine.bad('1d')}{{{labels}}}", "value": 144}],
            }
        ],
    )


def test_a_fresh_install_does_not_ticket_on_a_partial_window():
    """Right after an install a 2-hour burn at 4.5× fills most of what the 1d window holds:
    without waiting for a full window it tickets after about 100 minutes. With 3 days of
    history the same burn is 0.4× over the day, nothing to ticket, and so it is from the start."""
    b = 0.001
    bad = round(sc.RATE * 4.5 * b)  # 4.5× the budget rate: above the 1d pair's 3, under the 6h pair's 6
    segments = [(30, sc.RATE, 0), (120, sc.RATE, bad), (60, sc.RATE, 0)]
    alerts = ["SLOErrorBudgetBurnSlow", "SLOErrorBudgetBurnMedium"]
    rules = sc.closure(sc.group(TIER, SLO), alerts)
    firing = 'ALERTS{alertstate="firing", slo="checkout-availability"}'
    run(
        rules,
        sc.input_series(SLO, segments),
        [{"expr": f"max_over_time({firing}[{m}m:1m])", "eval_time": f"{m}m", "exp_samples": []} for m in (120, 150, 210)],
    )
