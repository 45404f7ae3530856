"""Address parsing throughput and agreement: privacy-waybill's parser against cpca and jionlp.

All three parse the same generated addresses; agreement is the share whose province,
city and district match the generator's expected values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from privacy_waybill.addresses.generate import GeneratedAddress, generate_addresses
from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.errors import FieldError
from report import figure

N_FAST = 10_000
N_JIONLP = 500

Levels = tuple[str | None, str | None, str | None]


def _expected(address: GeneratedAddress) -> Levels:
    e = address.expected
    return (e.province, e.city, e.district)


def _agreement(results: Sequence[Levels], addresses: Sequence[GeneratedAddress]) -> float:
    return sum(r == _expected(a) for r, a in zip(results, addresses)) / len(addresses)


def _ours(texts: list[str]) -> list[Levels]:
    results: list[Levels] = []
    for text in texts:
        try:
            p = parse_address(text)
        except FieldError:
            results.append((None, None, None))
            continue
        results.append((p.province, p.city, p.district))
    return results


def _blank(value: object) -> str | None:
    return value if isinstance(value, str) and value and value != "nan" else None


def _cpca(texts: list[str]) -> list[Levels]:
    import cpca

    frame = cpca.transform(texts)
    return [
        (_blank(p), _blank(c) if _blank(c) != _blank(p) else None, _blank(d))
        for p, c, d in zip(frame["省"], frame["市"], frame["区"])
    ]


def _jionlp(texts: list[str]) -> list[Levels]:
    import jionlp

    results: list[Levels] = []
    for text in texts:
        r = jionlp.parse_location(text)
        province, city = _blank(r.get("province")), _blank(r.get("city"))
        results.append((province, city if city != province else None, _blank(r.get("county"))))
    return results


def _run(name: str, parse: Callable[[list[str]], list[Levels]], addresses: list[GeneratedAddress]) -> None:
    texts = [a.text for a in addresses]
    parse(texts[:10])  # load dictionaries outside the timed run
    started = time.perf_counter()
    results = parse(texts)
    elapsed = time.perf_counter() - started
    agreement = _agreement(results, addresses)
    print(f"{name:<24} n={len(texts):>6}  {len(texts) / elapsed:>10,.0f} addresses/s  agreement {agreement:6.1%}")
    figure(f"address parsing, {name}", len(texts) / elapsed, "addresses/s", note=f"agreement {agreement:.1%}")
    figure(f"address agreement, {name}", agreement * 100, "% of generated")


def main() -> None:
    addresses = generate_addresses(N_FAST, seed=12345)
    print("address parsing, same generated input (province/city/district agreement)")
    _run("privacy-waybill", _ours, addresses)
    for name, parse, count in (("cpca (one batch)", _cpca, N_FAST), ("jionlp", _jionlp, N_JIONLP)):
        try:
            _run(name, parse, addresses[:count])
        except ImportError as missing:
            print(f"{name:<24} not installed ({missing.name}); skipped")


if __name__ == "__main__":
    main()
