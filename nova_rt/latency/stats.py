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
"""Statistics of one CPU's latency histogram, and of several merged.

cyclictest counts a wake-up of L nanoseconds in bucket ``L // 1000``: bucket
``b`` holds the latencies in [b, b+1) µs, for ``b`` below the histogram
limit; longer ones are counted only in ``cycles`` (and ``max``). So
``samples`` (every measurement) minus the histogram's total is the number
of overflows, and a percentile that needs them is unknown: it lies
somewhere beyond the limit, never in the last bucket.
"""

import dataclasses
import fractions
import typing

PERCENTILES = ('50', '99', '99.9', '99.99', '99.999')


@dataclasses.dataclass(frozen=True)
class Stats:
    """One CPU (``cpu`` set) or several merged (``cpu`` None).

    ``histogram`` maps a bucket (µs) to its count, zero buckets left out;
    ``min_us``/``avg_us``/``max_us`` are cyclictest's own, over every
    sample, overflows included; they are None without samples.
    """

    cpu: typing.Optional[int]
    samples: int
    min_us: typing.Optional[int]
    avg_us: typing.Optional[float]
    max_us: typing.Optional[int]
    histogram: typing.Mapping[int, int]
    histogram_limit_us: typing.Optional[int]

    @property
    def in_histogram(self):
        return sum(self.histogram.values())

    @property
    def overflows(self):
        return self.samples - self.in_histogram

    @property
    def percentiles_us(self):
        return percentiles(self.histogram, self.samples)

    def to_dict(self, histogram=True):
        doc = {}
        if self.cpu is not None:
            doc['cpu'] = self.cpu
        doc.update(samples=self.samples, min_us=self.min_us,
                   avg_us=self.avg_us, max_us=self.max_us,
                   overflows=self.overflows,
                   percentiles_us=self.percentiles_us)
        if histogram:
            doc['histogram'] = {str(b): n
                                for b, n in sorted(self.histogram.items())}
        return doc


def percentile(histogram, samples, p):
    """The smallest bucket b with at least p % of ``samples`` at or below b.

    ``p`` is a decimal string ("99.99"), so the threshold is exact (no
    float rounding decides a bucket). None when no bucket of the
    histogram reaches it: the value lies beyond the histogram limit, or
    there are no samples.
    """
    if samples <= 0:
        return None
    needed = fractions.Fraction(p) / 100 * samples
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= needed:
            return bucket
    return None


def percentiles(histogram, samples):
    return {p: percentile(histogram, samples, p) for p in PERCENTILES}


def merge(parts, cpu=None):
    """One ``Stats`` from several: summed histograms and samples, the
    extreme min and max, the average weighted by samples.

    The histogram limit of the merge is the smallest one: above it some
    part counted only overflows.
    """
    parts = list(parts)
    histogram = {}
    for part in parts:
        for bucket, count in part.histogram.items():
            histogram[bucket] = histogram.get(bucket, 0) + count
    counted = [p for p in parts if p.samples > 0]
    samples = sum(p.samples for p in counted)
    limits = [p.histogram_limit_us for p in parts
              if p.histogram_limit_us is not None]
    if not counted:
        return Stats(cpu=cpu, samples=0, min_us=None, avg_us=None,
                     max_us=None, histogram=histogram,
                     histogram_limit_us=min(limits) if limits else None)
    avg = sum(p.avg_us * p.samples for p in counted) / samples
    return Stats(cpu=cpu, samples=samples,
                 min_us=min(p.min_us for p in counted),
                 avg_us=round(avg, 2),
                 max_us=max(p.max_us for p in counted),
                 histogram=histogram,
                 histogram_limit_us=min(limits) if limits else None)
