"""`pwb users`: add (password from stdin or a prompt, TOTP URI printed once for staff),
bind-device, status, revoke-sessions, pass and revoke-pass; one error line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from privacy_waybill.cli.users import users_app
from privacy_waybill.runtime import initialise, open_runtime
from privacy_waybill.settings import Settings
from privacy_waybill.storage.identity import IdentityStore

PASSWORD = "correct horse battery"
PHONE = "13812345678"

pwb = typer.Typer()
pwb.add_typer(users_app, name="users")
runner = CliRunner()


@pytest.fixture
def home(pwb_home: Path) -> Path:
    initialise(Settings())
    return pwb_home


def users(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(pwb, ["users", *args], input=stdin)


def stored_user(username: str):  # type: ignore[no-untyped-def]
    rt = open_runtime(Settings())
    try:
        return IdentityStore(rt.engine).user_by_username(username)
    finally:
        rt.close()


def test_add_staff_prints_the_totp_uri_once(home: Path) -> None:
    result = users(
        "add", "clerk.one", "--role", "station_clerk", "--station", "HZ10", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("otpauth://totp/privacy-waybill:clerk.one?secret=")
    user = stored_user("clerk.one")
    assert user is not None and user.station == "HZ10" and user.totp_sealed is not None


def test_add_prompts_for_the_password_twice(home: Path) -> None:
    result = users("add", "shop.owner", "--role", "merchant", "--tenant", "default", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    # Merchant users sign in with TOTP too: the enrolment URI is shown once.
    assert "otpauth://totp/" in result.stdout and PASSWORD not in result.output


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["add", "x", "--role", "courier"], PASSWORD, "username"),
        (["add", "courier.one", "--role", "courier"], "too short", "password"),
        (["add", "shop.owner", "--role", "merchant"], PASSWORD, "tenant_id: is required"),
        (["add", "shop.owner", "--role", "merchant", "--tenant", "nope"], PASSWORD, "no such merchant"),
        (["add", "walker", "--role", "crowd_courier"], PASSWORD, "must be one of"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(home: Path, args: list[str], password: str, message: str) -> None:
    result = users(*args, "--password-stdin", stdin=password + "\n")
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output and PASSWORD not in result.output


def test_bind_device_status_and_revoke_sessions(home: Path) -> None:
    assert users("add", "courier.one", "--role", "courier", "--password-stdin", stdin=PASSWORD + "\n").exit_code == 0
    assert users("bind-device", "courier.one", "handset-0001").exit_code == 0
    assert stored_user("courier.one").device_id == "handset-0001"  # type: ignore[union-attr]
    assert users("status", "courier.one", "disabled").exit_code == 0
    assert stored_user("courier.one").status == "disabled"  # type: ignore[union-attr]
    assert "0 sessions ended" in users("revoke-sessions", "courier.one").output
    missing = users("bind-device", "nobody", "handset-0001")
    assert missing.exit_code == 2 and "no such user" in missing.output


def test_pass_reads_the_phone_from_stdin_and_prints_the_pass_id(home: Path) -> None:
    result = users("pass", "HZ10-13", "--day", "2999-01-01", "--phone-stdin", stdin=PHONE + "\n")
    assert result.exit_code == 0, result.output
    pass_id = result.stdout.strip()
    assert pass_id.startswith("p_") and PHONE not in result.output
    assert users("revoke-pass", pass_id).exit_code == 0
    bad_day = users("pass", "HZ10-13", "--day", "tomorrow", "--phone-stdin", stdin=PHONE + "\n")
    assert bad_day.exit_code == 2 and "YYYY-MM-DD" in bad_day.output
