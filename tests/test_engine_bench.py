"""The real-engine bench (bench/engine_bench.py): its catalogue is a valid `meshgate:apiDirectory` and its
exponent fit recovers known exponents."""

from __future__ import annotations

from pathlib import Path

from bench.engine_bench import BENCH_STACK, fit, write_catalogue
from stacks.config import parse_raw


def test_bench_catalogue_is_a_valid_api_directory(tmp_path: Path) -> None:
    write_catalogue(tmp_path / "apis", 120)
    assert len(list((tmp_path / "apis").glob("*.yaml"))) == 3  # files of 50 entries
    config = parse_raw(BENCH_STACK, base_dir=tmp_path)
    assert len(config.apis) == 120 and {a.auth for a in config.apis} == {"jwt", "none"}
    write_catalogue(tmp_path / "apis", 120, port=8081)
    assert {a.service.port for a in parse_raw(BENCH_STACK, base_dir=tmp_path).apis} == {8081}


def test_fit_recovers_known_exponents() -> None:
    xs = [100.0, 500.0, 1000.0, 2000.0]
    assert abs((fit(xs, [x**1.0 for x in xs]) or 0) - 1.0) < 1e-9
    assert abs((fit(xs, [3 * x**2 for x in xs]) or 0) - 2.0) < 1e-9
