"""RFC 6962 tree heads and inclusion proofs, checked against the RFC's definitions and
against Certificate Transparency's published test vectors (as in Trillian's rfc6962 tests)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy_waybill.audit.merkle import (
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    tree_root,
    verify_inclusion,
)

# The 8 leaf inputs of the CT / Trillian reference tests and their published roots.
CT_LEAVES = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f"]]  # fmt: skip
CT_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


def recursive_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 6962 2.1, to check the iterative version against."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(recursive_root(leaves[:k]), recursive_root(leaves[k:]))


def test_empty_tree_and_leaf_hash_follow_rfc_6962() -> None:
    assert tree_root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


@pytest.mark.parametrize("size", sorted(CT_ROOTS))
def test_roots_match_the_certificate_transparency_vectors(size: int) -> None:
    assert tree_root([leaf_hash(d) for d in CT_LEAVES[:size]]).hex() == CT_ROOTS[size]


def test_published_inclusion_proof_for_leaf_0_of_8() -> None:
    leaves = [leaf_hash(d) for d in CT_LEAVES]
    assert [p.hex() for p in inclusion_proof(leaves, 0)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]


@given(st.lists(st.binary(max_size=8), min_size=1, max_size=40), st.data())
def test_every_leaf_proves_inclusion_and_no_other_leaf_or_index_does(
    leaves_data: list[bytes], data: st.DataObject
) -> None:
    leaves = [leaf_hash(d) for d in leaves_data]
    root = tree_root(leaves)
    assert root == recursive_root(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = inclusion_proof(leaves, index)
    assert verify_inclusion(leaves[index], index, len(leaves), proof, root)
    assert not verify_inclusion(leaf_hash(b"forged"), index, len(leaves), proof, root)
    if len(leaves) > 1:
        other = data.draw(st.integers(0, len(leaves) - 1).filter(lambda i: i != index))
        assert not verify_inclusion(leaves[index], other, len(leaves), proof, root) or leaves[other] == leaves[index]


def test_proofs_of_the_wrong_shape_are_refused() -> None:
    leaves = [leaf_hash(d) for d in CT_LEAVES]
    proof = inclusion_proof(leaves, 3)
    assert root_from_inclusion(leaves[3], 3, 8, proof[:-1]) is None
    assert root_from_inclusion(leaves[3], 3, 8, [*proof, proof[0]]) is None
    assert root_from_inclusion(leaves[3], 9, 8, proof) is None
    with pytest.raises(ValueError):
        inclusion_proof(leaves, 8)
