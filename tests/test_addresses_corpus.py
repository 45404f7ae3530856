"""Issue 6 §2 and §3 measured on the messy-address corpus: acceptance, and labels that
show nothing below the road while keeping the district and the road."""

from __future__ import annotations

from functools import cache

import pytest

from privacy_waybill.addresses.corpus import CorpusScore, messy_addresses, patterns, score_corpus
from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.masking import MaskingPolicy, load_masking_policy

CORPUS_SIZE = 3000


@cache
def _policy() -> MaskingPolicy:
    return load_masking_policy()


def _label(parsed: ParsedAddress) -> str:
    return _policy().mask_field("standard", "label", "address", parsed)


@cache
def _score() -> CorpusScore:
    return score_corpus(messy_addresses(CORPUS_SIZE, seed=6), parse_address, _label)


def test_corpus_is_deterministic_and_covers_every_pattern() -> None:
    corpus = messy_addresses(CORPUS_SIZE, seed=6)
    assert corpus == messy_addresses(CORPUS_SIZE, seed=6)
    assert {address.pattern for address in corpus} == set(patterns())
    assert len({address.text for address in corpus}) > 0.95 * CORPUS_SIZE


def test_addresses_with_a_determinable_district_are_accepted() -> None:
    score = _score()
    assert score.acceptance >= 0.995, score.failures[:10]
    assert score.misrouted == 0


def test_no_label_shows_anything_below_the_road() -> None:
    assert _score().labels_showing_hidden_text == 0


def test_labels_keep_the_district_and_the_road() -> None:
    score = _score()
    assert score.district_share >= 0.97
    assert score.road_share >= 0.90


def test_undeterminable_addresses_are_rejected_saying_what_to_add() -> None:
    score = _score()
    assert score.undeterminable > 0
    assert score.rejected_with_reason == score.undeterminable


@pytest.mark.parametrize("seed", [1, 2])
def test_masked_corpus_labels_are_idempotent(seed: int) -> None:
    policy = _policy()
    for address in messy_addresses(300, seed=seed):
        once = policy.mask_field("standard", "label", "address", address.text)
        assert policy.mask_field("standard", "label", "address", once) == once
