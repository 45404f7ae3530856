"""`pwb`: initialise, seed a demo, issue waybills from files, render labels, rotate keys, serve.

Every failure ends in one readable line on stderr and a non-zero exit code; tracebacks
(which could carry personal data in their locals) are never printed.
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from json.encoder import encode_basestring as json_string
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from privacy_waybill.access.model import Resource, Role
from privacy_waybill.cli.audit import audit_app
from privacy_waybill.cli.common import (
    PLATFORM,
    TenantArgument,
    TenantOption,
    allow,
    fail,
    file_problem,
    operator,
    runtime,
    settings,
    stderr,
)
from privacy_waybill.cli.outbox import outbox, start_outbox_relay
from privacy_waybill.cli.demo import demo_app
from privacy_waybill.cli.stations import stations_app
from privacy_waybill.cli.telephony import telephony_app
from privacy_waybill.cli.risk import (
    accounts_app,
    canaries_app,
    retention_app,
    risk_app,
    risk_clock,
    start_risk_stream,
    trace,
)
from privacy_waybill.cli.terminals import terminals_app
from privacy_waybill.cli.tickets import tickets_app
from privacy_waybill.cli.users import users_app
from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.labels.model import LabelFormat, LabelSize
from privacy_waybill.permissions import OWNER_ONLY_UMASK
from privacy_waybill.scheduler import Job, PeriodicJobs
from privacy_waybill.vault.purpose_keys import ROTATABLE_PURPOSES

# The command must answer --help, and start any command, in a fraction of a second: modules
# that pull in the database, the vault, fonts or Faker are imported by the commands that use them.
if TYPE_CHECKING:
    from privacy_waybill.cli.label_files import LabelFileWriter
    from privacy_waybill.core import Core
    from privacy_waybill.issuance.intake import UnusableInput
    from privacy_waybill.issuance.model import IssuedWaybill
    from privacy_waybill.issuance.parallel import PreparedAhead
    from privacy_waybill.issuance.service import Rejected
    from privacy_waybill.settings import Settings

# Allocations between young-generation collections during `pwb issue`.
BATCH_GC_THRESHOLD = 200_000
# Result lines `pwb issue` writes at once: with PYTHONUNBUFFERED set (as on these machines)
# every write is a system call: one per waybill was 5% of the storing process's time (py-spy).
RESULT_LINES_PER_WRITE = 500

# runtime.DEFAULT_TENANT, without importing the runtime (tests/test_cli_rough_edges.py checks they agree).
DEFAULT_TENANT = "default"

app = typer.Typer(
    help="privacy-waybill: masked labels, sealed personal data, audited access.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
keys_app = typer.Typer(help="Key management.", no_args_is_help=True)
merchants_app = typer.Typer(help="Merchants (tenants) and their API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(merchants_app, name="merchants")
app.add_typer(users_app, name="users")
app.add_typer(terminals_app, name="terminals")
app.add_typer(audit_app, name="audit")
app.add_typer(stations_app, name="stations")
app.add_typer(telephony_app, name="telephony")
app.add_typer(tickets_app, name="tickets")
app.add_typer(accounts_app, name="accounts")
app.add_typer(canaries_app, name="canaries")
app.add_typer(retention_app, name="retention")
app.add_typer(risk_app, name="risk")
app.add_typer(demo_app, name="demo")
app.command()(trace)

log = logging.getLogger("privacy_waybill.cli")


@app.callback()
def _configure(ctx: typer.Context) -> None:
    """Log to PWB_HOME/logs/pwb.log (ids and counts only; a filter scrubs anything else)."""
    # Every file pwb creates (database, WAL, logs, anchors, labels) is owner-only.
    os.umask(OWNER_ONLY_UMASK)
    if ctx.resilient_parsing or "--help" in sys.argv[1:]:
        return
    from privacy_waybill.logs import configure_logging

    try:
        configure_logging(settings().log_dir)
    except OSError as error:
        raise fail(file_problem("cannot write the log in", settings().log_dir, error)) from None
    log.info("command %s", ctx.invoked_subcommand)
    _derive_master_key_ahead()


def _derive_master_key_ahead() -> None:
    """Most commands open the key store once the platform is imported: its master key is
    derived meanwhile, on a thread (see `derive_ahead`). Any problem is left to the opening."""
    from privacy_waybill.vault.errors import VaultError
    from privacy_waybill.vault.local_keys import derive_ahead
    from privacy_waybill.vault.master_secret import configured_master_secret

    current = settings()
    try:
        secret = configured_master_secret(current.master_secret_file)
    except (OSError, VaultError):
        return
    derive_ahead(current.keys_dir, secret)


EXIT_ALL_ISSUED, EXIT_SOME_REJECTED = 0, 1


@app.command()
def init() -> None:
    """Create the data folder, master secret, key store, database schema and default tenant."""
    from privacy_waybill.runtime import initialise

    try:
        done = initialise(settings())
    except PrivacyWaybillError as error:
        raise fail(str(error)) from None
    for line in done or ["already initialised"]:
        stderr.print(f"pwb init: {line}", highlight=False)


def _rejected_line(outcome: Rejected) -> dict[str, object]:
    # The line lets a merchant find a record whose order id is missing or unreadable.
    return {
        "order_id": outcome.order_id,
        "line": outcome.position,
        "error": {"field": outcome.error.field, "reason": outcome.error.reason},
    }


def _issued_line(waybill: IssuedWaybill) -> str:
    """The result line of a waybill issued: what pydantic's `to_json` writes for the object
    {"order_id", "waybill_no", "sort_code", "masked": {"recipient": {"name", "phone",
    "address"}, "sender": {...}}}, compact and UTF-8, as a test holds it to. Filled in from
    a template with the standard library's JSON string encoder (C): building those dicts and
    serialising them cost twice as much, for every waybill issued."""
    recipient, sender = waybill.recipient, waybill.sender
    return (
        f'{{"order_id":{json_string(waybill.order_id)},"waybill_no":{json_string(waybill.waybill_no)},'
        f'"sort_code":{json_string(waybill.sort_code)},"masked":{{'
        f'"recipient":{{"name":{json_string(recipient.name)},"phone":{json_string(recipient.phone)},'
        f'"address":{json_string(recipient.address)}}},'
        f'"sender":{{"name":{json_string(sender.name)},"phone":{json_string(sender.phone)},'
        f'"address":{json_string(sender.address)}}}}}}}'
    )


@app.command()
def issue(
    file: Annotated[Path, typer.Argument(help="Orders as CSV or JSON Lines (.csv, .jsonl, .ndjson).")],
    tenant: TenantOption = DEFAULT_TENANT,
    labels: Annotated[Path | None, typer.Option(help="Write one label file per waybill into this folder.")] = None,
    label_format: Annotated[LabelFormat, typer.Option("--format", help="Label file format.")] = LabelFormat.PDF,
    size: Annotated[LabelSize, typer.Option(help="Label stock (mm).")] = LabelSize.STANDARD_100X180,
    dpi: Annotated[int, typer.Option(help="PNG/ZPL resolution: 203 or 300.")] = 203,
    profile: Annotated[str | None, typer.Option(help="Masking profile (standard, strict).")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Processes preparing records (default: one per core).")
    ] = os.cpu_count() or 1,
) -> None:
    """Issue waybills from an order file: one JSON line per record on stdout.

    Exit code 0 when every record was issued, 1 when some were rejected, 2 on unusable input.
    """
    from pydantic_core import to_json

    from privacy_waybill.issuance.intake import UnusableInput, read_orders
    from privacy_waybill.issuance.service import Rejected

    if dpi not in (203, 300):
        raise fail("--dpi must be 203 or 300")
    rejected = issued = 0
    # A batch allocates millions of short-lived objects and hardly any cycles: collecting
    # every 700 allocations (the default) cost 10-20% of issuance, measured. The forked
    # workers inherit the setting.
    gc.set_threshold(BATCH_GC_THRESHOLD, *gc.get_threshold()[1:])
    current = settings()
    core, ahead = _prepare_ahead(current, file, tenant, profile, workers)
    with ahead or nullcontext(), runtime(core) as rt:
        if not rt.tenants.exists(tenant):
            raise fail(f"unknown tenant {tenant!r}: create it with `pwb merchants add`")
        merchant = operator(Role.MERCHANT, tenant)
        allow(rt, merchant, "order.create", Resource(kind="tenant", tenant_id=tenant))
        try:
            service = rt.issuance(profile, workers)
            actor = f"cli:{tenant}"
            if ahead is not None:
                outcomes = service.issue_prepared(tenant, ahead, actor, store_now=ahead.next_is_late)
            else:
                records = read_orders(file, max_bytes=current.max_upload_bytes, defer_json=True)
                outcomes = service.issue(tenant, records, actor, chunk_size=current.batch_chunk_size)
            writer = _label_writer(labels, label_format, size, dpi)
            with _progress(file) as advance, _result_lines() as print_line:
                pending_labels = []
                for outcome in outcomes:
                    if isinstance(outcome, Rejected):
                        print_line(to_json(_rejected_line(outcome)).decode())
                        rejected += 1
                        log.info(
                            "rejected record %d order_id=%s field=%s reason=%s",
                            outcome.position,
                            outcome.order_id,
                            outcome.error.field,
                            outcome.error.reason,
                        )
                        advance()
                        continue
                    print_line(_issued_line(outcome.waybill))
                    issued += 1
                    if writer:
                        pending_labels.append(rt.label_content(outcome.waybill))
                        if len(pending_labels) >= 200:
                            writer.submit(pending_labels)
                            pending_labels = []
                    advance()
                if writer:
                    writer.submit(pending_labels)
                    written = writer.finish()
                    stderr.print(f"pwb issue: wrote {written} labels to {labels}", highlight=False)
        except (UnusableInput, OSError) as error:
            raise _unusable(error, file, labels) from None
    sys.stdout.flush()
    log.info("issue tenant=%s issued=%d rejected=%d", tenant, issued, rejected)
    raise typer.Exit(EXIT_SOME_REJECTED if rejected else EXIT_ALL_ISSUED)


def _prepare_ahead(
    current: Settings, file: Path, tenant: str, profile: str | None, workers: int
) -> tuple[Core | None, PreparedAhead | None]:
    """The core, and the first chunks of `file` handed to forked workers, before the storage
    is imported and the database opened (see privacy_waybill.core).

    Nothing is stored or printed before the tenant and the permission are checked, and a
    tenant the key store does not know yet is left to that check, so that preparing never
    creates keys. None for what is not worth starting ahead (one worker).
    """
    if workers < 2:
        return None, None
    from privacy_waybill.core import open_core
    from privacy_waybill.issuance.intake import UnusableInput, read_orders
    from privacy_waybill.issuance.parallel import PreparedAhead
    from privacy_waybill.issuance.service import chunks_of

    try:
        core = open_core(current)
        if not core.keys.knows(tenant):
            return core, None
        preparation = core.preparation(profile)
    except PrivacyWaybillError as error:
        raise fail(str(error)) from None
    records = read_orders(file, max_bytes=current.max_upload_bytes, defer_json=True)
    try:
        return core, PreparedAhead(preparation, tenant, chunks_of(records, current.batch_chunk_size), workers)
    except (UnusableInput, OSError) as error:
        raise _unusable(error, file) from None


def _unusable(error: UnusableInput | OSError, file: Path, labels: Path | None = None) -> typer.Exit:
    """The one line for an order file that cannot be used, or a file that cannot be read or written."""
    if not isinstance(error, OSError):
        return fail(f"{file}: {error}")
    # A label written in the writer's worker fails without a file name: name its folder.
    where = Path(error.filename) if error.filename else labels if labels is not None else file
    return fail(file_problem("cannot read or write", where, error))


def _label_writer(folder: Path | None, fmt: LabelFormat, size: LabelSize, dpi: int) -> LabelFileWriter | None:
    if folder is None:
        return None  # and the renderers (reportlab, PIL: ~0.25 s) are never imported
    from privacy_waybill.cli.label_files import LabelFileWriter

    try:
        return LabelFileWriter(folder, fmt, size, dpi)
    except OSError as error:
        raise fail(file_problem("cannot write labels into", folder, error)) from None


@contextmanager
def _result_lines() -> Iterator[Callable[[str], None]]:
    """A function printing one result line to stdout, RESULT_LINES_PER_WRITE at a time; the
    lines held are printed on leaving, also when issuing stops on an error, since the waybills
    they report are stored."""
    held: list[str] = []

    def write_held() -> None:
        if held:
            sys.stdout.write("\n".join(held) + "\n")
            held.clear()

    def print_line(line: str) -> None:
        held.append(line)
        if len(held) >= RESULT_LINES_PER_WRITE:
            write_held()

    try:
        yield print_line
    finally:
        write_held()


@contextmanager
def _progress(file: Path) -> Iterator[Callable[[], None]]:
    if not stderr.is_terminal:
        # Piped or redirected: no bar to draw, so nothing to do per record either.
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[bold]issuing[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr.console,
        transient=True,
    ) as progress:
        task = progress.add_task("issue", total=None)
        yield lambda: progress.advance(task)


@app.command()
def label(
    waybill_no: Annotated[str, typer.Argument(metavar="WAYBILL", help="Waybill number.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    label_format: Annotated[LabelFormat, typer.Option("--format", help="Label format.")] = LabelFormat.PDF,
    size: Annotated[LabelSize, typer.Option(help="Label stock (mm).")] = LabelSize.STANDARD_100X180,
    dpi: Annotated[int, typer.Option(help="PNG/ZPL resolution: 203 or 300.")] = 203,
) -> None:
    """Render the masked label of one waybill."""
    from privacy_waybill.access.service import waybill_resource
    from privacy_waybill.labels import render_label

    if dpi not in (203, 300):
        raise fail("--dpi must be 203 or 300")
    with runtime() as rt:
        waybill = rt.waybills.get_by_number(None, waybill_no.strip().upper())
        if waybill is None:
            raise fail("no such waybill")
        allow(rt, operator(Role.MERCHANT, waybill.tenant_id), "waybill.label", waybill_resource(waybill))
        body = render_label(rt.label_content(waybill), label_format, size, dpi)
        try:
            output.write_bytes(body)
        except OSError as error:
            raise fail(file_problem("cannot write", output, error)) from None
    stderr.print(f"pwb label: wrote {output}", highlight=False)


@merchants_app.command("add")
def merchants_add(
    tenant_id: TenantArgument,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create a merchant tenant (if needed) and a new API key, printed once on stdout."""
    from privacy_waybill.access.api_keys import MERCHANT_SCOPES, new_api_key

    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "tenant.manage", PLATFORM)
        now = rt.clock()
        rt.tenants.ensure(tenant_id, name or tenant_id, now)
        rt.keys.ensure_tenant(tenant_id)
        key = new_api_key()
        rt.tenants.add_api_key(tenant_id, key, MERCHANT_SCOPES, "cli", now)
    typer.echo(key.token)


@keys_app.command("rotate")
def keys_rotate(
    tenant: Annotated[
        list[str] | None, typer.Option("--tenant", "-t", help="Tenant(s) to rotate; all by default.")
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option(help=f"Rotate one purpose's key instead: {', '.join(ROTATABLE_PURPOSES)}."),
    ] = None,
) -> None:
    """Add a new key-encryption key version and re-wrap every data key under it (no downtime)."""
    if purpose is not None:
        if purpose not in ROTATABLE_PURPOSES:
            raise fail(f"--purpose: one of {', '.join(ROTATABLE_PURPOSES)}")
        with runtime() as rt:
            admin = operator(Role.PLATFORM_ADMIN)
            allow(rt, admin, "key.manage", PLATFORM)
            rotated = rt.rotate_purpose_key(purpose, admin.actor)
        resealed = "" if rotated.resealed is None else f", {rotated.resealed} sealed values moved to it"
        stderr.print(f"pwb keys rotate: {purpose} key now at version {rotated.version}{resealed}", highlight=False)
        return
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "key.manage", PLATFORM)
        tenants = set(tenant) if tenant else set(rt.tenants.all_ids())
        for tenant_id in sorted(tenants):
            ref = rt.keys.rotate(tenant_id)
            stderr.print(f"pwb keys rotate: tenant {tenant_id!r} now on {ref.kek_id} v{ref.version}", highlight=False)
        rewrapped = rt.rewrap_data_keys(tenants)
    stderr.print(f"pwb keys rotate: re-wrapped {rewrapped} data keys", highlight=False)


@keys_app.command("retire")
def keys_retire(
    version: Annotated[int, typer.Option(min=1, help="The old version to destroy.")],
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="A tenant's key-encryption key.")] = None,
    purpose: Annotated[
        str | None, typer.Option(help=f"One purpose's key instead: {', '.join(ROTATABLE_PURPOSES)}.")
    ] = None,
) -> None:
    """Destroy an old key version for good (after `pwb keys rotate`): a tenant's KEK or a purpose's key.

    What it wrapped or sealed is moved to the current version first; waybills that depend on
    a QR or delivery-point version must be final or purged. Refused for the current version,
    in the ten minutes after the rotation that replaced it, and for purposes whose versions
    must stay (audit, device-id, break-glass-reason).
    """
    if (tenant is None) == (purpose is None):
        raise fail("name one key: --tenant T for a tenant's key-encryption key, or --purpose NAME")
    if purpose is not None and purpose not in ROTATABLE_PURPOSES:
        raise fail(f"--purpose: one of {', '.join(ROTATABLE_PURPOSES)}")
    with runtime() as rt:
        admin = operator(Role.PLATFORM_ADMIN)
        allow(rt, admin, "key.manage", PLATFORM)
        if tenant is not None:
            if not rt.tenants.exists(tenant):
                raise fail(f"unknown tenant {tenant!r}")
            rewrapped = rt.retire_kek(tenant, version, admin.actor)
            done = f"tenant {tenant!r} key-encryption key v{version} destroyed"
            done += f" ({rewrapped} data keys re-wrapped under the current version first)"
        elif purpose is not None:
            resealed = rt.retire_purpose_key(purpose, version, admin.actor)
            done = f"{purpose} key v{version} destroyed"
            if resealed is not None:
                done += f" ({resealed} sealed values moved to the current version first)"
    stderr.print(f"pwb keys retire: {done}", highlight=False)


@app.command()
def purge() -> None:
    """Crypto-shred personal data the tenant's retention period (PWB_RETENTION_DAYS, default 30) after each
    waybill's last lifecycle event; `pwb serve` also does this every PWB_PURGE_INTERVAL_MINUTES."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "data.purge", PLATFORM)
        purged = rt.purge_expired(actor=operator(Role.PLATFORM_ADMIN).actor)
    log.info("purge shredded=%d", purged)
    stderr.print(f"pwb purge: shredded the personal data of {purged} waybills", highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes sharing the port.")] = 1,
) -> None:
    """Serve the HTTP API (/api/v1, docs at /docs) and the web UI.

    Label QR codes point at PWB_PUBLIC_BASE_URL; without it, at this host and port.
    """
    import uvicorn

    from privacy_waybill.api.app import create_app

    _check_port_free(host, port)
    os.environ.setdefault("PWB_PUBLIC_BASE_URL", _local_url(host, port))
    with runtime() as rt:
        if workers > 1 and not rt.settings.redis_url:
            # In-process rate-limit counters would let each worker grant the whole limit.
            raise fail("--workers above 1 needs PWB_REDIS_URL: rate limits must be counted in one place")
        scheduled = [Job("purge", rt.settings.purge_interval_minutes * 60, rt.purge_expired)]
        stop_risk_stream = None
        if rt.settings.risk_transport == "redis":
            stderr.print("pwb serve: audit entries go to the risk engine of `pwb risk consume`", highlight=False)
        else:
            if workers == 1:
                replayed = rt.warm_up_risk()
            else:
                # Engines in each worker would each see a share of the requests (a harvester
                # spread over workers stays under every threshold): the workers publish their
                # audit entries to the stream and this process runs the one engine on them.
                os.environ["PWB_RISK_TRANSPORT"] = "redis"
                stop_risk_stream, replayed = start_risk_stream(rt)
            stderr.print(f"pwb serve: risk engine warmed up on {replayed} audit entries", highlight=False)
            scheduled.append(risk_clock(rt))
        if rt.settings.redis_url:
            resynced = rt.resync_redis_bindings()
            stderr.print(f"pwb serve: {resynced} virtual-number bindings written to Redis", highlight=False)
        jobs = PeriodicJobs(scheduled)
        jobs.start()
        stderr.print(f"pwb serve: http://{host}:{port}  (API docs at /docs, {workers} worker(s))", highlight=False)
        stop = start_outbox_relay(rt)  # one relay and one set of periodic jobs per server
        try:
            if workers == 1:
                uvicorn.run(create_app(rt), host=host, port=port, log_config=None, access_log=True)
            else:
                # Each worker process opens its own runtime; quotas, sessions and the audit chain
                # live in the database and counters in Redis, so every worker sees the same state.
                uvicorn.run(
                    "privacy_waybill.api.app:app_from_settings",
                    factory=True,
                    host=host,
                    port=port,
                    workers=workers,
                    log_config=None,
                    access_log=True,
                )
        finally:
            jobs.stop()
            stop.set()
            if stop_risk_stream is not None:
                stop_risk_stream.set()
            # Anonymous noise of the last minute is still only counted in memory: write it down.
            rt.noise.flush()


app.command("outbox")(outbox)


def _local_url(host: str, port: int) -> str:
    # A wildcard bind is reachable on loopback; an IPv6 literal needs brackets in a URL.
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _check_port_free(host: str, port: int) -> None:
    """Fail with one line before start-up when the port is taken, rather than after it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise fail(f"cannot serve on {host}: no such host or interface (--host)") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise fail(
                    f"port {port} on {host} is already in use: stop what holds it or choose another "
                    f"with --port (make run PORT=...)"
                ) from None
            raise fail(f"cannot serve on {host}:{port}: {error.strerror or type(error).__name__}") from None


def main() -> None:
    """The `pwb` console script: a usage mistake ends in one line too, not typer's framed panel."""
    # typer vendors click; its exceptions are reached through the vendored module (typer is
    # pinned in the lock, and tests/test_cli_rough_edges.py runs these paths).
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

    try:
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as error:
        error.show()
        raise SystemExit(error.exit_code) from None
    except UsageError as error:
        hint = f" (see `{error.ctx.command_path} --help`)" if error.ctx else ""
        stderr.print(f"error: {error.format_message()}{hint}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(error.exit_code) from None
    except ClickException as error:
        stderr.print(f"error: {error.format_message()}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(error.exit_code) from None
    except typer.Abort:
        stderr.print("error: aborted", markup=False, highlight=False)
        raise SystemExit(1) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
