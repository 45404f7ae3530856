"""Master secret: where it comes from, and which secrets are refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from privacy_waybill.vault import (
    InsecurePermissions,
    KeyStoreError,
    WeakMasterSecret,
    create_master_secret_file,
    load_master_secret,
)
from privacy_waybill.vault.master_secret import (
    estimated_entropy_bits,
    master_secret_problem,
)

# Fixed samples of what `secrets.token_urlsafe(48)` and `openssl rand -hex 32` produce.
STRONG = "6wncb-b07swF4I3Edj6IWu7PnUMBFax54zdCPUL2rCLaR-F5vsbTc_1o_B7kbyXo"
STRONG_HEX = "0a3231d3625bc8c6c3a056643889d5abc692ca08bfe93d6a0b2a5a4060718772"


@pytest.mark.parametrize(
    ("secret", "rule"),
    [
        ("", "shorter"),
        ("changeme", "shorter"),
        ("secret", "shorter"),
        ("changeme-changeme-changeme-changeme-1", "well-known"),
        ("my-Super-Secret-key-for-production-2024!", "well-known"),
        ("Password1234567890Password1234567890", "well-known"),
        ("a" * 64, "distinct"),
        ("abcabcabcabcabcabcabcabcabcabcabcabc", "distinct"),
        ("a3f1c9e07b5d2864fd1e8c3b7a9260f4", "entropy"),  # 128 bits, hex encoded
        ("abcdefghijklmnopqrstuvwxyzabcdef", "entropy"),
    ],
)
def test_weak_secrets_are_refused_with_the_rule_they_break(secret: str, rule: str) -> None:
    problem = master_secret_problem(secret)

    assert problem is not None and rule in problem


@pytest.mark.parametrize(
    "secret",
    [STRONG, STRONG_HEX, "Zq7#mV2!pL9@xR4$kT8%wN3^bH6&cJ1*fD5(gS0)yU"],
)
def test_strong_secrets_are_accepted(secret: str) -> None:
    assert master_secret_problem(secret) is None


def test_entropy_estimate_grows_with_length_and_alphabet() -> None:
    assert estimated_entropy_bits("") == 0
    assert estimated_entropy_bits("0" * 10) == pytest.approx(10 * 3.3219, rel=1e-3)
    assert estimated_entropy_bits("a1" * 10) > estimated_entropy_bits("a" * 20)
    assert estimated_entropy_bits("中文" * 10) > estimated_entropy_bits("ab" * 10)


def test_environment_value_wins_over_the_file(tmp_path: Path) -> None:
    file = tmp_path / "master.key"
    create_master_secret_file(file)

    assert load_master_secret(f"  {STRONG}\n", file) == STRONG.encode()


def test_file_is_used_when_the_environment_has_no_value(tmp_path: Path) -> None:
    file = tmp_path / "master.key"
    create_master_secret_file(file)

    assert load_master_secret(None, file) == file.read_bytes().strip()


def test_an_empty_environment_value_is_refused_not_ignored(tmp_path: Path) -> None:
    file = tmp_path / "master.key"
    create_master_secret_file(file)

    with pytest.raises(WeakMasterSecret):
        load_master_secret("", file)


@pytest.mark.parametrize(
    "weak",
    [
        "changeme",
        "letmein-letmein-letmein-letmein-1",
        "x" * 40,
        "a3f1c9e07b5d2864fd1e8c3b7a9260f4",
    ],
)
def test_weak_secrets_are_refused_from_either_source_without_quoting_them(tmp_path: Path, weak: str) -> None:
    file = tmp_path / "master.key"
    file.write_text(weak + "\n")
    os.chmod(file, 0o600)

    for env_value in (weak, None):
        with pytest.raises(WeakMasterSecret) as failure:
            load_master_secret(env_value, file)
        assert weak not in str(failure.value)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_secret_file_open_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    file = tmp_path / "master.key"
    create_master_secret_file(file)
    os.chmod(file, mode)

    with pytest.raises(InsecurePermissions) as failure:
        load_master_secret(None, file)
    assert failure.value.mode == mode
    assert file.read_text().strip() not in str(failure.value)


def test_a_missing_secret_names_both_sources(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError) as failure:
        load_master_secret(None, tmp_path / "master.key")
    assert "PWB_MASTER_SECRET" in str(failure.value) and "pwb init" in str(failure.value)


def test_a_binary_secret_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "master.key"
    file.write_bytes(b"\xff\xfe" * 40)
    os.chmod(file, 0o600)

    with pytest.raises(WeakMasterSecret):
        load_master_secret(None, file)


def test_created_secret_file_is_owner_only_strong_and_never_overwritten(
    tmp_path: Path,
) -> None:
    file = tmp_path / "home" / "master.key"

    create_master_secret_file(file)

    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(file.parent.stat().st_mode) == 0o700
    first = file.read_bytes()
    with pytest.raises(KeyStoreError):
        create_master_secret_file(file)
    assert file.read_bytes() == first


def test_created_secrets_are_always_accepted_and_never_repeat(tmp_path: Path) -> None:
    created = set()
    for number in range(50):
        file = tmp_path / f"master-{number}.key"
        create_master_secret_file(file)
        created.add(load_master_secret(None, file))

    assert len(created) == 50
