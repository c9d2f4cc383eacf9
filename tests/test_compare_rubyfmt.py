"""LKP prints with Ruby: spftrace's Ruby number formatting against Ruby's own output.

Expected strings are Ruby 3.1.2p20 (x86_64-linux-gnu, Debian 12) output of
``ruby -e 'printf("%s|%s\\n", format("%10.2f", v), format("%+10.1f", v))'`` (and likewise for the
%g formats) for each value; the comments give what C's printf and Python print instead.
"""

from __future__ import annotations

import pytest

from spftrace.analysis.compare.rubyfmt import dtoa, fmt_f, fmt_g

F2 = [  # value, Ruby's "%10.2f"
    (1.925, "      1.92"),  # C: 1.93 (1.925 is 1.92500000000000004...)
    (2.675, "      2.68"),  # C: 2.67 (2.675 is 2.67499999999999982...)
    (182.475, "    182.48"),  # C: 182.47
    (0.125, "      0.12"),  # an exact tie: even, as C
    (97.525, "     97.52"),
    (1.005, "      1.00"),
    (957.6666666666666, "    957.67"),  # the seed's brk1 mean, 2873 / 3
    (99.995, "    100.00"),
    (999.995, "   1000.00"),
    (-0.04, "     -0.04"),
    (0.0, "      0.00"),
]
F1 = [  # value, Ruby's "%+10.1f"
    (1.925, "      +1.9"),
    (0.35, "      +0.4"),  # C: +0.3
    (0.15, "      +0.2"),  # C: +0.1
    (0.25, "      +0.2"),
    (2.45, "      +2.4"),  # C: +2.5
    (0.05, "      +0.1"),
    (-0.04, "      -0.0"),
    (-17.529, "     -17.5"),
    (469.75, "    +469.8"),
    (99.995, "    +100.0"),
    (45605.0, "  +45605.0"),
]
G2 = [  # value, Ruby's "%+10.2g"
    (5.0333e103, "   +5e+103"),
    (1e102, "   +1e+102"),
    (123456.0, "  +1.2e+05"),
    (6050.0, "  +6.0e+03"),  # C: +6e+03
    (45605.0, "  +4.6e+04"),
    (-17.529, "       -18"),
    (0.05, "     +0.05"),
]
G4 = [  # value, Ruby's "%10.4g"
    (2.1e9, "   2.1e+09"),
    (456050000.0, " 4.560e+08"),  # C: 4.56e+08
    (123456789.0, " 1.235e+08"),
    (100000000.5, "     1e+08"),
    (999950000.0, "     1e+09"),
]


@pytest.mark.parametrize(("v", "want"), F2)
def test_f2(v: float, want: str) -> None:
    assert fmt_f(v, 2, 10) == want


@pytest.mark.parametrize(("v", "want"), F1)
def test_plus_f1(v: float, want: str) -> None:
    assert fmt_f(v, 1, 10, plus=True) == want


@pytest.mark.parametrize(("v", "want"), G2)
def test_plus_g2(v: float, want: str) -> None:
    assert fmt_g(v, 2, 10, plus=True) == want


@pytest.mark.parametrize(("v", "want"), G4)
def test_g4(v: float, want: str) -> None:
    assert fmt_g(v, 4, 10) == want


def test_ruby_differs_from_python_where_it_should() -> None:
    assert f"{2.675:.2f}" == "2.67" and fmt_f(2.675, 2) == "2.68"
    assert f"{6050.0:.2g}" == "6e+03" and fmt_g(6050.0, 2) == "6.0e+03"


def test_dtoa_digits() -> None:
    assert dtoa(0.0, 3, 2) == ("0", 1)
    assert dtoa(1.5, 3, 2) == ("15", 1)  # 0.15e1
    assert dtoa(0.001, 3, 2) == ("", -2)  # no digit at 10^-2: zero
    assert dtoa(0.005, 3, 2) == ("1", -1)  # 0.005 is 0.00500000000000000010...: one digit
    assert dtoa(123.0, 2, 2) == ("12", 3)
