from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from k1widgets.plot.ranges import Domain, Range

inf = math.inf


# ---------------------------------------------------------------- the seed's documented examples
def test_range_seed_examples():
    assert Range(10, 20).toUnit(13) == pytest.approx(0.3)
    assert Range(10, 20).fromUnit(0.3) == pytest.approx(13)
    assert Range(10, 20).toRange(Range(20, 10), 13) == pytest.approx(17)
    assert (Range(10, 20) * 2 + 3) == Range(23, 43)
    assert Range(10, 20) == ~Range(20, 10)
    assert Range(2, 10).toUnit(5) == 0.375
    assert Range(0, 10).toUnit([5, 3, 6]) == [0.5, 0.3, 0.6]
    assert Range(0, 10).toUnit((5, 3)) == (0.5, 0.3)
    assert Range(0, 10).toUnit(slice(5, 6)) == slice(0.5, 0.6)
    assert Range(0, 10).toUnit(range(5, 6)) == Range(0.5, 0.6)
    assert Range(0, 10).toUnit(Range(5, 6)) == Range(0.5, 0.6)
    assert Range(0, 10).fromUnit(0.3) == 3
    assert Range(0, 10).toRange(Range(0, 100), 6) == 60
    assert Range(0, 100).fromRange(Range(0, 10), 6) == 60


def test_range_constructors():
    assert tuple(Range(2, 11.1)) == (2, 11.1)
    assert tuple(Range(15.2)) == (0, 15.2)
    assert tuple(Range(Range(2, 3))) == (2, 3)
    assert tuple(Range(slice(2, 5, 2))) == (2, 5)
    assert tuple(Range(range(2, 5))) == (2, 5)
    assert tuple(Range(slice(2, -1), 10)) == (2, 9)
    assert tuple(Range([1, 2, 7, 5])) == (1, 5)
    assert tuple(Range((1, 2, 7, 5))) == (1, 5)
    assert Range(np.int64(3)).stop == 3 and type(Range(np.int64(3)).stop) is int


def test_range_constructor_errors():
    with pytest.raises(TypeError, match="does not understand"):
        Range("a", "b")
    with pytest.raises(TypeError, match="no stop"):
        Range(slice(2, None))
    with pytest.raises(TypeError, match="does not understand"):
        Range([])


def test_proportional_slice_seed_example():
    a, b = [], []
    for t in range(100):
        if t % 3 == 0:
            a.append(t)
        if t % 5 == 0:
            b.append(1 - t)
    assert (len(a), len(b)) == (34, 20)
    r1, r2 = Range.proportionalSlice(Range(len(a)), Range(len(b)), slice(10, 17))
    assert r1 == Range(10, 17)
    assert r2.start == pytest.approx(5.88, abs=0.01) and r2.stop == pytest.approx(10)
    assert r1.range_ == range(10, 17) and r2.slice_ == slice(5, 10)


def test_range_misc():
    r = Range(2, 5)
    assert (r[0], r[1]) == (2, 5)
    assert r[1:] == Range(3, 5)
    with pytest.raises(IndexError, match="2 items"):
        r[2]
    with pytest.raises(TypeError, match="whole-number"):
        Range(0.5, 3)[1:]
    assert list(Range(1.5, 5).intIter()) == [2, 3, 4]
    assert list(Range(0, 10).intIter(3)) == [0, 3, 6, 9]
    assert Range(5, 2).fixOrder() == Range(2, 5)
    ok = Range(2, 5)
    assert ok.fixOrder() is ok
    assert Range(0.9999, 9.9999).range_ == range(1, 10)
    assert 2 in r and 4.99 in r and 5 not in r and 1.99 not in r
    assert -r == Range(-2, -5)
    assert r - 1 == Range(1, 4) and 10 - r == Range(8, 5)
    assert Range(0, 1).toUnit(0.5) == 0.5
    assert math.isnan(Range(3, 3).toUnit(3))
    assert round(Range(1.26, 2.71), 1) == Range(1.3, 2.7)
    assert math.floor(Range(1.5, 2.5)) == Range(1, 2) and math.ceil(Range(1.5, 2.5)) == Range(2, 3)
    assert repr(r) == "Range(2, 5)" and str(r) == "[2, 5]"
    np.testing.assert_allclose(Range(0, 10).toUnit(np.array([0.0, 5.0, 10.0])), [0, 0.5, 1])


def test_range_bound_keeps_zero():
    # k1lib used `or`, so a start of 0 was replaced by the range's start.
    assert Range(3, 8).bound(slice(0, None)) == slice(0, 8)
    assert Range(3, 8).bound(slice(None, 5, 2)) == slice(3, 5, 2)
    assert Range(3, 8).bound(range(1, 2)) == range(1, 2)


def test_range_none_slice_ends_mean_whole_range():
    assert Range(10, 20).toUnit(slice(None, None)) == slice(0, 1)
    assert Range(10, 20).fromUnit(slice(None, 0.5)) == slice(10, 15)


def test_range_division_fixed():
    # k1lib returned 1.0 for Range / n and raised a broken TypeError for n / Range.
    assert Range(10, 20) / 2 == Range(5, 10)
    assert isinstance(Range(10, 20) / 4, Range)
    with pytest.raises(TypeError, match="no meaning"):
        2 / Range(1, 2)
    with pytest.raises(TypeError, match="real number"):
        Range(1, 2) + "a"


def test_domain_seed_examples():
    assert str(Domain([5, 7.5], [2, 3])) == "Domain: [2, 3) U [5, 7.5)"
    assert Domain([2, 3.2], [3, 8]) == Domain([2, 8])
    assert -Domain([2, 3]) == Domain([-inf, 2], [3, inf])
    assert -Domain([-inf, 3]) == Domain([3, inf])
    assert Domain.fromInts(2, 3, 6) == Domain([2, 4], [6, 7])
    assert Domain([2, 3]) + Domain([4, 5]) == Domain([2, 3], [4, 5])
    assert Domain([2, 3]) + Domain([2.9, 5]) == Domain([2, 5])
    assert Domain([2, 3]) & Domain([2.5, 5]) == Domain([2.5, 3])
    assert 3 not in Domain([2, 3])
    assert 2 in Domain([2, 3])


def test_domain_difference_is_set_difference():
    # k1lib: Domain([0, 10]) - Domain([2, 3]) was (-inf, inf)
    assert Domain([0, 10]) - Domain([2, 3]) == Domain([0, 2], [3, 10])
    assert Domain([0, 10]) - Domain([-5, 20]) == Domain()
    assert not (Domain([0, 10]) - Domain([-5, 20]))


def test_domain_misc():
    d = Domain([5, 7.5], [2, 3])
    assert list(Domain.fromInts(2, 3, 6).intIter()) == [2, 3, 6]
    assert list(Domain([1.5, 4]).intIter()) == [2, 3]
    it = Domain([-inf, 1]).intIter(start=-2)
    assert list(it) == [-2, -1, 0]
    assert d.copy() == d and d.copy() is not d
    assert Domain([3, 2]) == Domain([2, 3])  # reversed ranges are fixed
    assert Domain([2, 2]) == Domain()  # empty ranges dropped
    assert "d1 - d2: the part of d1 that is not in d2" in repr(d)
    with pytest.raises(TypeError, match="another Domain"):
        d + Range(1, 2)


# ---------------------------------------------------------------- property tests
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
nums = st.integers(-50, 50)


@st.composite
def domains(draw):
    pairs = draw(st.lists(st.tuples(nums, nums), max_size=5))
    return Domain(*pairs)


def members(d: Domain, pts) -> list[bool]:
    return [p in d for p in pts]


PTS = [x / 2 for x in range(-110, 111)]


@given(domains(), domains())
def test_domain_ops_match_set_semantics(a, b):
    for p in PTS:
        assert (p in a + b) == (p in a or p in b)
        assert (p in (a | b)) == (p in a or p in b)
        assert (p in a & b) == (p in a and p in b)
        assert (p in a - b) == (p in a and p not in b)
        assert (p in -a) == (p not in a)


@given(domains(), domains(), domains())
def test_domain_algebra_laws(a, b, c):
    assert -a != a  # never its own complement
    complement = -a
    assert -complement == a
    assert a + b == b + a
    assert a & b == b & a
    assert (a + b) + c == a + (b + c)
    assert a & (b + c) == (a & b) + (a & c)
    assert -(a + b) == (-a) & (-b)  # De Morgan
    assert a - b == a & -b
    assert (a - b) & b == Domain()
    assert a + a == a and a & a == a


@given(domains())
def test_domain_normal_form(d):
    rs = d.ranges
    assert all(r.start < r.stop for r in rs)
    assert all(x.stop < y.start for x, y in itertools.pairwise(rs))  # sorted, disjoint, not touching


@given(finite, finite, finite)
def test_range_unit_round_trip(a, b, x):
    assume(abs(b - a) > 1e-3)
    r = Range(a, b)
    assert r.fromUnit(r.toUnit(x)) == pytest.approx(x, rel=1e-6, abs=1e-6)
    assert r.toUnit(a) == pytest.approx(0) and r.toUnit(b) == pytest.approx(1)


@given(finite, finite, finite, finite, finite)
def test_range_to_range_is_inverse_of_from_range(a, b, c, d, x):
    assume(abs(b - a) > 1e-3 and abs(d - c) > 1e-3)
    r1, r2 = Range(a, b), Range(c, d)
    assert r1.fromRange(r2, r2.fromRange(r1, x)) == pytest.approx(x, rel=1e-6, abs=1e-5)


@given(finite, finite, st.floats(-1e3, 1e3, allow_nan=False).filter(lambda v: abs(v) > 1e-3))
def test_range_arithmetic(a, b, k):
    r = Range(a, b)
    for back in ((r * k) / k, (r + k) - k, (k + r) - k, (k * r) / k):
        assert tuple(back) == (pytest.approx(a, abs=1e-6), pytest.approx(b, abs=1e-6))
    assert ~~r == r
    assert -r == r * -1
    assert r.fixOrder().start <= r.fixOrder().stop


@given(st.integers(1, 500), st.integers(1, 500), st.integers(-600, 600), st.integers(-600, 600))
def test_proportional_slice_same_fractions(n1, n2, a, b):
    r1, r2 = Range.proportionalSlice(Range(n1), Range(n2), slice(a, b))
    ref = range(n1)[a:b]
    assert (r1.start, r1.stop) == (ref.start, ref.stop)
    assert r2.start == pytest.approx(ref.start / n1 * n2) and r2.stop == pytest.approx(ref.stop / n1 * n2)
