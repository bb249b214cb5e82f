# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""Side-by-side statistics for the benchmarks: pure functions, no Nova.

The machine is shared and noisy, so a benchmark never compares two
separately timed runs. It times A and B in the same round, interleaved
and in rotating order, takes the ratio B/A of each round, and reports the
median of those ratios with a distribution-free 95 % confidence interval
(binomial order statistics). A timing verdict is PASS only when the whole
interval is within the goal, FAIL only when the whole interval is past it,
and UNSURE when noise straddles it: noise cannot decide a verdict.
"""

import math
import statistics

PASS = 'PASS'
FAIL = 'FAIL'
UNSURE = 'UNSURE'
SKIPPED = 'SKIPPED'
# A figure with no goal of its own (a curve's other points).
INFO = 'INFO'


def median(values):
    return statistics.median(values)


def rotated(items, round_no):
    """``items`` rotated by ``round_no``: each goes first in turn."""
    items = tuple(items)
    shift = round_no % len(items)
    return items[shift:] + items[:shift]


def _binomial_cdf(k, n):
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n


def median_interval(values, confidence=0.95):
    """(low, high): a distribution-free interval for the median.

    The k-th smallest and k-th largest values, with k the largest rank
    whose coverage 1 - 2 P(X <= k - 1), X ~ Binomial(n, 1/2), is at least
    ``confidence``. Needs at least 6 values for 95 %.
    """
    ordered = sorted(values)
    n = len(ordered)
    alpha = 1.0 - confidence
    k = 0
    while k + 1 <= n // 2 and 2 * _binomial_cdf(k, n) <= alpha:
        k += 1
    if k == 0:
        raise ValueError('%d values are too few for a %g %% interval'
                         % (n, confidence * 100))
    return ordered[k - 1], ordered[n - k]


def paired_ratios(base, other):
    """other[i] / base[i] for each round."""
    if len(base) != len(other) or not base:
        raise ValueError('paired samples need the same, non-zero length')
    return [b / a for a, b in zip(base, other)]


def compare(base, other, confidence=0.95):
    """Paired rounds -> {'n', 'base', 'other', 'ratio', 'low', 'high'}:
    the medians of each side and the median ratio with its interval.
    """
    ratios = paired_ratios(base, other)
    low, high = median_interval(ratios, confidence)
    return {'n': len(ratios), 'base': median(base), 'other': median(other),
            'ratio': median(ratios), 'median': median(ratios), 'low': low,
            'high': high}


def verdict_at_most(low, high, goal):
    """The verdict for "at most ``goal``" from an interval."""
    if high <= goal:
        return PASS
    if low > goal:
        return FAIL
    return UNSURE


def verdict_of(summary, goal):
    """The verdict of ``compare``'s or ``spread``'s result against "at
    most ``goal``".
    """
    return verdict_at_most(summary['low'], summary['high'], goal)


def spread(values, confidence=0.95):
    """Repeated samples -> {'n', 'median', 'low', 'high'}."""
    low, high = median_interval(values, confidence)
    return {'n': len(values), 'median': median(values), 'low': low,
            'high': high}


def verdict_at_least(value, goal):
    """The verdict for an exact (not timed) figure that must reach goal."""
    return PASS if value >= goal else FAIL
