"""The adapter fuzz campaign (benchmarks/fuzz_adapters.py) at 2,000 inputs per adapter."""
from __future__ import annotations

import pytest

from benchmarks.fuzz_adapters import ADAPTERS, fuzz_adapter


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_adapter_survives_fuzzing(name: str) -> None:
    r = fuzz_adapter(name, 2000, seed=9)
    assert r.inputs >= 2000
    assert r.crashes == 0, r.examples
    assert r.bad_output == 0, r.examples
    # Only the contract's close codes, and the generator reaches both accepting and refusing paths.
    assert set(r.close_codes) <= {1003, 1007, 1008, 1009}
    assert r.close_codes, "no input was refused: the mutations are not reaching the parser"
    assert r.event_kinds.get("CallStarted", 0) > 0, "no case got as far as a started call"


def test_fuzzing_is_deterministic() -> None:
    a, b = fuzz_adapter("twilio", 500, seed=3), fuzz_adapter("twilio", 500, seed=3)
    assert (a.inputs, a.close_codes, a.event_kinds) == (b.inputs, b.close_codes, b.event_kinds)
