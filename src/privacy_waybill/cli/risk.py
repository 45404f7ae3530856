"""`pwb trace`, `pwb accounts`, `pwb canaries`, `pwb retention` and `pwb risk`: the security team's commands.

Output names ids, counts and statistics only; a leaked list's values are never printed.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from privacy_waybill.access.model import Resource, Role
from privacy_waybill.cli.common import PLATFORM, TenantArgument, TenantOption, allow, fail, operator, runtime, stderr
from privacy_waybill.risk.canaries import SCOPE_KINDS
from privacy_waybill.scheduler import Job, PeriodicJobs

if TYPE_CHECKING:
    from privacy_waybill.runtime import Runtime

accounts_app = typer.Typer(help="Frozen and step-up accounts.", no_args_is_help=True)
canaries_app = typer.Typer(help="Canary waybills.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention periods per tenant.", no_args_is_help=True)
risk_app = typer.Typer(help="The risk engine.", no_args_is_help=True)
TOP_LINES = 10


def trace(
    leakfile: Annotated[
        Path, typer.Argument(help="CSV of the leaked list (waybill_no, phone, name, address, virtual_number).")
    ],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the JSON and HTML report.")] = None,
    since: Annotated[datetime | None, typer.Option(help="Only audit events from this time (UTC).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Only audit events before this time (UTC).")] = None,
) -> None:
    """Match a leaked list to waybills and rank who saw it beyond chance; writes <case>.json and .html."""
    try:
        data = leakfile.read_bytes()
    except OSError as error:
        raise fail(f"cannot read {leakfile}: {error.strerror}") from None
    from privacy_waybill.tracing.report import report_html

    with runtime() as rt:
        report = rt.trace_case(operator(Role.SECURITY_AUDITOR), data, since, until)
        folder = out or rt.settings.home / "traces"
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / f"{report['case_id']}.json", folder / f"{report['case_id']}.html"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    html_path.write_text(report_html(report), encoding="utf-8")
    leak = report["leak"]
    typer.echo(
        f"pwb trace: {leak['rows']} rows, {leak['matched']} matched, {leak['ambiguous']} ambiguous, "
        f"{leak['unmatched']} unmatched; population {report['population']} waybills, "
        f"{report['accessors_tested']} accessors tested in {report['elapsed_s']} s"
    )
    for entry in report["ranking"][:TOP_LINES]:
        typer.echo(
            f"{entry['rank']:>3}  {entry['kind']:<15} {entry['accessor']:<32} saw {entry['seen']:>8}  "
            f"leaked {entry['hits']:>6}  expected {entry['expected']:>9.1f}  log10 p {entry['log10_p']:>9.1f}"
        )
    for canary in report["canaries"]:
        typer.echo(f"canary {canary['waybill_id']} (planted at {canary['planted_at']}) is in the list")
    typer.echo(f"report: {json_path} and {html_path}")


@accounts_app.command("freeze")
def accounts_freeze(actor: Annotated[str, typer.Argument(help="Account as audited, e.g. user:u_12ab.")]) -> None:
    """Freeze an account: every request refused and sessions ended until it is unfrozen."""
    from privacy_waybill.risk.service import FREEZE

    with runtime() as rt:
        subject = operator(Role.SECURITY_AUDITOR)
        rt.access.require(subject, "account.freeze", PLATFORM, rt.access.context())  # the freeze audits itself
        added = rt.risk_responder.restrict(actor, FREEZE, rt.clock(), "manual", None, subject.actor, subject.role.value)
    stderr.print(f"pwb accounts freeze: {actor} {'frozen' if added else 'was already frozen'}", highlight=False)


@accounts_app.command("unfreeze")
def accounts_unfreeze(
    actor: Annotated[str, typer.Argument(help="Account as audited.")],
    step_up: Annotated[bool, typer.Option("--step-up", help="Lift a step-up instead (API keys, terminals).")] = False,
) -> None:
    """Lift a freeze, or with --step-up a step-up (an administrator's act, audited)."""
    from privacy_waybill.risk.service import FREEZE, STEP_UP

    kind = STEP_UP if step_up else FREEZE
    with runtime() as rt:
        subject = operator(Role.PLATFORM_ADMIN)
        rt.access.require(subject, "account.unfreeze", PLATFORM, rt.access.context())
        rt.risk_responder.lift(actor, kind, rt.clock(), subject.actor, subject.role.value, "admin-unfreeze")
    stderr.print(f"pwb accounts unfreeze: {actor} is no longer under {kind.replace('_', '-')}", highlight=False)


@accounts_app.command("list")
def accounts_list() -> None:
    """Accounts under a freeze or step-up, newest first."""
    with runtime() as rt:
        allow(rt, operator(Role.SECURITY_AUDITOR), "alert.read")
        for r in rt.restrictions.all():
            typer.echo(f"{r.actor}\t{r.kind}\t{r.since.isoformat()}\t{r.signal}\t{r.set_by}")


@canaries_app.command("plant")
def canaries_plant(
    tenant: TenantOption,
    scope_kind: Annotated[str, typer.Option("--at", help=f"Where it is planted: {', '.join(SCOPE_KINDS)}.")],
    scope: Annotated[str, typer.Option("--scope", help="The route, station or terminal id.")],
) -> None:
    """Plant a canary waybill; any use of it raises a high-severity alert naming this place."""
    with runtime() as rt:
        subject = operator(Role.SECURITY_AUDITOR)
        allow(rt, subject, "canary.plant")
        waybill = rt.plant_canary(tenant, scope_kind, scope, subject.actor)
    typer.echo(
        json.dumps(
            {"waybill_no": waybill.waybill_no, "sort_code": waybill.sort_code, "planted_at": f"{scope_kind}:{scope}"}
        )
    )


@canaries_app.command("list")
def canaries_list() -> None:
    with runtime() as rt:
        allow(rt, operator(Role.SECURITY_AUDITOR), "alert.read")
        for canary in rt.canaries.all():
            typer.echo(
                f"{canary['waybill_id']}\t{canary['scope_kind']}:{canary['scope']}\t{canary['planted_on'].isoformat()}"
            )


@retention_app.command("set")
def retention_set(
    tenant: TenantArgument,
    days: Annotated[
        int | None, typer.Argument(help="Days after the last lifecycle event; omit for the default.")
    ] = None,
) -> None:
    """Set how long a tenant's personal data is kept after a parcel's final state."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "tenant.manage", Resource(kind="platform"))
        rt.retention.set_days(tenant, days)
        effective = rt.retention.periods()[tenant]
    stderr.print(f"pwb retention set: tenant {tenant!r} keeps personal data {effective} days", highlight=False)


# How often the risk engine is told that time passed without events (reveals never followed).
RISK_TICK_S = 60


def risk_clock(rt: Runtime) -> Job:
    return Job("risk-clock", RISK_TICK_S, lambda: rt.risk.tick(rt.clock()))


def stream_consumer_name() -> str:
    # Stable across restarts: a restarted reader is handed back what it read and never acknowledged.
    return f"risk-{socket.gethostname()}"


def start_risk_stream(rt: Runtime) -> tuple[threading.Event, int]:
    """This process's risk engine fed from the audit stream on a thread; the event stops it.
    Returns it with how many past entries were replayed first."""
    reader, replayed = rt.risk_from_stream(stream_consumer_name())
    stop = threading.Event()
    threading.Thread(target=reader.run, args=(stop,), name="risk-stream", daemon=True).start()
    return stop, replayed


@risk_app.command("consume")
def risk_consume() -> None:
    """Run the risk engine on the Redis stream of audit entries (PWB_RISK_TRANSPORT=redis), until Ctrl-C."""
    with runtime() as rt:
        try:
            rt.settings.require_redis_url()
        except ValueError as error:
            raise fail(str(error)) from None
        reader, replayed = rt.risk_from_stream(stream_consumer_name())
        stderr.print(
            f"pwb risk consume: warmed up on {replayed} audit entries; reading {rt.settings.risk_stream} as group risk",
            highlight=False,
        )
        jobs = PeriodicJobs([risk_clock(rt)])
        jobs.start()
        stop = threading.Event()
        try:
            reader.run(stop)
        except KeyboardInterrupt:
            stop.set()
        finally:
            jobs.stop()


@risk_app.command("simulate")
def risk_simulate(
    couriers: Annotated[int, typer.Option(help="Couriers working normally.")] = 200,
    days: Annotated[int, typer.Option(help="Days simulated.")] = 30,
    parcels: Annotated[int, typer.Option(help="Parcels per courier and day.")] = 25,
) -> None:
    """Run the shipped rules over a synthetic month with three insiders; print detection and false alerts."""
    from privacy_waybill.risk.engine import RiskEngine
    from privacy_waybill.risk.rules import load_risk_rules
    from privacy_waybill.risk.simulation import run_month, simulate_month

    month = simulate_month(couriers=couriers, days=days, parcels_per_day=parcels)
    outcome = run_month(RiskEngine(load_risk_rules()), month)
    starts = {month.harvester: month.harvest_starts, month.renter: month.rent_starts}
    for insider, started in starts.items():
        alert, freeze = outcome.first_alert.get(insider), outcome.first_freeze.get(insider)
        typer.echo(
            f"{insider}: first alert after {alert - started if alert else 'never'}, "
            f"frozen after {freeze - started if freeze else 'never'}"
        )
    typer.echo(
        f"{outcome.events} events; false alerts: {outcome.false_alerts_on_couriers} on "
        f"{outcome.false_alerted_couriers} of {couriers - 2} normal couriers, "
        f"{outcome.false_alerts_on_others} on others"
    )
