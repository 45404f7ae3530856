"""Addresses as people write them: privacy-waybill's parser and label masking against cpca
and jionlp on the same messy corpus, and the cost of loading the division data.

Acceptance is the share of addresses with a determinable district that parse to the
expected division (for cpca and jionlp: whose returned district, or city where only the
city is determinable, is the expected one). Label figures are over accepted addresses:
labels showing anything below the road (villages, compounds, POIs, names, numbers; goal 0),
and labels keeping the district (goal >= 97%) and the road (goal >= 90%). cpca and jionlp
return no road and no split of what lies below it, so they have no label figures.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import subprocess
import sys
import time
import types
from collections import Counter
from collections.abc import Callable

from privacy_waybill.addresses import divisions
from privacy_waybill.addresses import parser as address_parser
from privacy_waybill.addresses.corpus import MessyAddress, messy_addresses, score_corpus
from privacy_waybill.addresses.generate import generate_addresses
from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.errors import FieldError
from privacy_waybill.masking import load_masking_policy
from report import figure, sized

N_CORPUS = sized(6_000, 200)
N_JIONLP = sized(500, 20)
SEED = 12345


def _timed(work: Callable[[], object], repeat: int = 1) -> float:
    """Best CPU seconds of `repeat` runs: the machine is shared, and wall time there
    mostly measures the neighbours."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


_FIRST_PARSE = """
import time
started = time.process_time()
from privacy_waybill.addresses import divisions
if {from_sources}:
    divisions._read_index = lambda: None  # what every command did before the index
from privacy_waybill.addresses.parser import parse_address
parse_address("浙江省杭州市余杭区五常街道文一西路969号")
print(time.process_time() - started)
"""


def _first_parse_seconds(from_sources: bool) -> float:
    """Import, load the divisions and parse one address in a fresh interpreter; best of 3."""
    code = _FIRST_PARSE.format(from_sources=from_sources)
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) for _ in range(3)]
    return min(runs)


def _division_loading() -> None:
    payload = divisions._read_index()
    assert payload is not None, "the shipped index is stale: python -m privacy_waybill.addresses.divisions"
    from_sources = _timed(divisions.build_from_sources, repeat=2)

    def from_index() -> None:
        with divisions.garbage_collection_paused():
            divisions._from_payload(divisions._read_index())  # type: ignore[arg-type]

    index_load = _timed(from_index, repeat=3)
    data = divisions.load_divisions()

    def parser_tables() -> None:
        with divisions.garbage_collection_paused():
            address_parser._build_index(data)

    tables = _timed(parser_tables, repeat=3)
    print("division data (best CPU seconds of 2-3 runs)")
    print(f"  load from the source tables     {from_sources:6.3f} s  (baseline)")
    print(f"  load from the prebuilt index    {index_load:6.3f} s")
    print(f"  parser name and town tables     {tables:6.3f} s")
    print(f"  fresh process, first parse: {_first_parse_seconds(True):.3f} s from the sources (baseline),"
          f" {_first_parse_seconds(False):.3f} s from the index")


def _ours(corpus: list[MessyAddress]) -> None:
    policy = load_masking_policy()

    def label(parsed: object) -> str:
        return policy.mask_field("standard", "label", "address", parsed)  # type: ignore[arg-type]

    score = score_corpus(corpus, parse_address, label)
    texts = [a.text for a in corpus]

    def parse_all() -> None:
        for text in texts:
            try:
                parse_address(text)
            except FieldError:
                pass

    rate = len(texts) / _timed(parse_all, repeat=2)
    clean = [a.text for a in generate_addresses(sized(10_000, 200), seed=SEED)]
    clean_rate = len(clean) / _timed(lambda: [parse_address(text) for text in clean], repeat=2)
    print(
        f"{'privacy-waybill':<18} accepted {score.acceptance:7.2%} of {score.determinable:,}"
        f"  misrouted {score.misrouted}  {rate:>8,.0f} addresses/s"
        f"  (clean generated addresses: {clean_rate:,.0f}/s)"
    )
    print(
        f"{'':<18} labels showing below the road: {score.labels_showing_hidden_text}"
        f"  district kept {score.district_share:.2%}  road kept {score.road_share:.2%} of {score.with_road:,}"
        f"  undeterminable rejected with a reason {score.rejected_with_reason}/{score.undeterminable}"
    )
    figure("address parsing, privacy-waybill, messy corpus", rate, "addresses/s", note=f"clean: {clean_rate:,.0f}/s")
    figure("address acceptance, privacy-waybill", score.acceptance * 100, "% of determinable")
    misses = Counter(pattern for pattern, _ in score.failures)
    if misses:
        print(f"{'':<18} misses by pattern: {dict(misses)}")


def _others_acceptance(name: str, results: list[tuple[str | None, str | None]], corpus: list[MessyAddress]) -> float:
    """Prints (and returns) the share of determinable addresses whose district (or city) is the expected one."""
    pairs = [(r, a) for r, a in zip(results, corpus) if a.determinable]
    accepted = sum(a.division_name in (district, city) for (district, city), a in pairs)
    print(f"{name:<18} accepted {accepted / len(pairs):7.2%} of {len(pairs):,}", end="")
    return accepted / len(pairs)


def _blank(value: object) -> str | None:
    return value if isinstance(value, str) and value and value != "nan" else None


def _import_cpca() -> types.ModuleType:
    # cpca 0.5.5 reads its table through pkg_resources, which setuptools >= 81 no longer
    # ships; its one call maps directly onto importlib.resources.
    if importlib.util.find_spec("pkg_resources") is None:
        shim = types.ModuleType("pkg_resources")
        shim.resource_stream = lambda package, name: importlib.resources.files(package).joinpath(name).open("rb")  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    import cpca

    return cpca


def _cpca(corpus: list[MessyAddress]) -> None:
    cpca = _import_cpca()
    texts = [a.text for a in corpus]
    cpca.transform(texts[:10])
    started = time.process_time()
    frame = cpca.transform(texts)
    elapsed = time.process_time() - started
    results = [(_blank(d), _blank(c)) for d, c in zip(frame["区"], frame["市"])]
    share = _others_acceptance("cpca (one batch)", results, corpus)
    print(f"  {len(texts) / elapsed:>8,.0f} addresses/s")
    figure("address parsing, cpca (one batch)", len(texts) / elapsed, "addresses/s", note=f"accepted {share:.1%}")


def _jionlp(corpus: list[MessyAddress]) -> None:
    import jionlp

    subset = corpus[:N_JIONLP]
    jionlp.parse_location(subset[0].text)
    started = time.process_time()
    results = []
    for address in subset:
        parsed = jionlp.parse_location(address.text)
        results.append((_blank(parsed.get("county")), _blank(parsed.get("city"))))
    elapsed = time.process_time() - started
    share = _others_acceptance(f"jionlp (first {N_JIONLP})", results, subset)
    print(f"  {len(subset) / elapsed:>8,.0f} addresses/s")
    figure("address parsing, jionlp", len(subset) / elapsed, "addresses/s", note=f"accepted {share:.1%}")


def main() -> None:
    _division_loading()
    corpus = messy_addresses(N_CORPUS, seed=SEED)
    print(f"\nmessy-address corpus: {len(corpus):,} addresses, {len({a.pattern for a in corpus})} patterns")
    _ours(corpus)
    for name, run in (("cpca", _cpca), ("jionlp", _jionlp)):
        try:
            run(corpus)
        except ImportError as missing:
            print(f"{name:<18} not installed ({missing.name}); `make bench` installs it")


if __name__ == "__main__":
    main()
