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
"""The latency result: what ``run`` writes and ``report`` prints.

The document is the product contract's (``doc/source/latency.rst``), plus
three keys of nova-rt's: ``histogram`` in each CPU's statistics (so a saved
result can be re-plotted and re-checked), ``slices`` (the worst latency of
each CPU per slice of the run, the jitter plot's data) and
``cyclictest_json`` (cyclictest's own files, kept next to the result).

Reading a saved result recomputes every statistic from its histograms and
refuses a document whose stated figures disagree with them: an edited
result cannot certify a better latency than was measured.
"""

import dataclasses
import datetime
import json
import os
import typing

from nova_rt.latency import cyclictest
from nova_rt.latency import LatencyError
from nova_rt.latency import stats as stats_mod

WHERE = ('host', 'guest')


@dataclasses.dataclass(frozen=True)
class Slice:
    """One cyclictest invocation of a sliced run."""

    offset_s: float          # from the start of the run to its end
    duration_s: float
    max_us: typing.Mapping[int, typing.Optional[int]]   # CPU -> worst

    def to_dict(self):
        return {'offset_s': self.offset_s, 'duration_s': self.duration_s,
                'max_us': {str(c): v for c, v in sorted(self.max_us.items())}}


@dataclasses.dataclass(frozen=True)
class Result:
    where: typing.Optional[str]
    tool_version: typing.Optional[str]
    tool_cmdline: typing.Optional[str]
    kernel_release: typing.Optional[str]
    preempt_rt: typing.Optional[bool]
    kernel_cmdline_sha256: typing.Optional[str]
    start: datetime.datetime
    end: datetime.datetime
    duration_s: float
    interval_us: typing.Optional[int]
    priority: typing.Optional[int]
    load: typing.Optional[str]
    histogram_limit_us: typing.Optional[int]
    complete: bool
    smi_delta: typing.Optional[int]
    cpus: typing.Tuple[stats_mod.Stats, ...]
    gate_max_us: typing.Optional[int] = None
    slices: typing.Tuple[Slice, ...] = ()
    cyclictest_json: typing.Tuple[str, ...] = ()

    @property
    def overall(self):
        return stats_mod.merge(self.cpus)

    @property
    def cpu_set(self):
        return frozenset(s.cpu for s in self.cpus)

    @property
    def gate_passed(self):
        """The max is at most the gate; no samples never passes."""
        if self.gate_max_us is None:
            return None
        worst = self.overall.max_us
        return worst is not None and worst <= self.gate_max_us

    def with_gate(self, max_latency_us):
        return dataclasses.replace(self, gate_max_us=max_latency_us)

    def to_dict(self, histograms=True):
        gate = None
        if self.gate_max_us is not None:
            gate = {'max_latency_us': self.gate_max_us,
                    'passed': self.gate_passed}
        return {
            'where': self.where,
            'tool': {'name': 'cyclictest', 'version': self.tool_version,
                     'cmdline': self.tool_cmdline},
            'kernel': {'release': self.kernel_release,
                       'preempt_rt': self.preempt_rt,
                       'cmdline_sha256': self.kernel_cmdline_sha256},
            'start': isoformat(self.start),
            'end': isoformat(self.end),
            'duration_s': self.duration_s,
            'interval_us': self.interval_us,
            'priority': self.priority,
            'load': self.load,
            'histogram_limit_us': self.histogram_limit_us,
            'complete': self.complete,
            'smi_delta': self.smi_delta,
            'cpus': [s.to_dict(histogram=histograms) for s in self.cpus],
            'overall': self.overall.to_dict(histogram=False),
            'gate': gate,
            'slices': [s.to_dict() for s in self.slices],
            'cyclictest_json': list(self.cyclictest_json),
        }


def isoformat(when):
    return when.astimezone(datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


def parse_time(text, what):
    try:
        value = datetime.datetime.fromisoformat(
            text[:-1] + '+00:00' if text.endswith('Z') else text)
    except (TypeError, ValueError, AttributeError):
        raise LatencyError('%s is %r, not an ISO 8601 date' % (what, text))
    if value.tzinfo is None:
        raise LatencyError('%s %r has no time zone' % (what, text))
    return value.astimezone(datetime.timezone.utc)


def from_runs(runs, where=None, load=None, smi_delta=None, complete=None,
              cmdline_sha256=None, json_files=(), run_start=None,
              durations=None):
    """One result from the cyclictest runs (slices) of one measurement.

    Each CPU's statistics merge its slices. ``complete`` defaults to every
    run being complete. ``durations`` (seconds per run, measured by the
    caller) replace the runs' own times, which have one-second resolution.
    """
    runs = list(runs)
    if durations is None:
        durations = [r.elapsed_s for r in runs]
    if not runs:
        raise LatencyError('no cyclictest output to report on')
    first, last = runs[0], runs[-1]
    per_cpu = {}
    for run in runs:
        for s in run.cpus:
            per_cpu.setdefault(s.cpu, []).append(s)
    cpus = tuple(stats_mod.merge(parts, cpu=cpu)
                 for cpu, parts in sorted(per_cpu.items()))
    start = run_start or first.start
    slices = ()
    if len(runs) > 1:
        offset, parts = 0.0, []
        for r, took in zip(runs, durations):
            offset += took
            parts.append(Slice(offset_s=round(offset, 3),
                               duration_s=round(took, 3),
                               max_us={s.cpu: s.max_us for s in r.cpus}))
        slices = tuple(parts)
    limits = {r.histogram_limit_us for r in runs}
    return Result(
        where=where,
        tool_version=first.version, tool_cmdline=first.cmdline,
        kernel_release=first.release, preempt_rt=first.preempt_rt,
        kernel_cmdline_sha256=cmdline_sha256,
        start=start, end=last.end,
        duration_s=round(sum(durations), 3),
        interval_us=first.interval_us, priority=first.priority,
        load=load,
        histogram_limit_us=min(limits) if None not in limits else None,
        complete=all(r.complete for r in runs) if complete is None
        else complete,
        smi_delta=smi_delta, cpus=cpus, slices=slices,
        cyclictest_json=tuple(json_files))


# --- reading a saved result --------------------------------------------------

def _get(doc, key, kinds, what, nullable=False):
    value = doc.get(key) if isinstance(doc, dict) else None
    if value is None and nullable:
        return None
    if isinstance(value, bool) and bool not in kinds:
        value = 'a boolean'
    if not isinstance(value, kinds):
        raise LatencyError('%s: %s is %r' % (what, key, value))
    return value


def _stats_from(doc, what, limit):
    cpu = _get(doc, 'cpu', (int,), what)
    hist = _get(doc, 'histogram', (dict,), what)
    histogram = {}
    for bucket, count in hist.items():
        try:
            histogram[int(bucket, 10)] = int(count)
        except (TypeError, ValueError):
            raise LatencyError('%s: histogram entry %r: %r' % (what, bucket,
                                                               count))
    samples = _get(doc, 'samples', (int,), what)
    nullable = samples == 0
    s = stats_mod.Stats(
        cpu=cpu, samples=samples,
        min_us=_get(doc, 'min_us', (int,), what, nullable),
        avg_us=_get(doc, 'avg_us', (int, float), what, nullable),
        max_us=_get(doc, 'max_us', (int,), what, nullable),
        histogram=histogram, histogram_limit_us=limit)
    stated = (doc.get('overflows'), doc.get('percentiles_us'))
    derived = (s.overflows, s.percentiles_us)
    if stated != derived or s.overflows < 0 or (
            histogram and s.max_us is not None and max(histogram) > s.max_us):
        raise LatencyError('%s: the stated overflows and percentiles %r do '
                           'not match its histogram (%r): edited?'
                           % (what, stated, derived))
    return s


def from_dict(doc, name):
    """A ``Result`` from a saved document, re-checked against its
    histograms.

    :raises: LatencyError naming the file and the key at fault
    """
    if not isinstance(doc, dict) or 'cpus' not in doc or 'tool' not in doc:
        raise LatencyError('%s: neither cyclictest --json output nor a '
                           'nova-rt latency result' % name)
    tool = _get(doc, 'tool', (dict,), name)
    kernel = _get(doc, 'kernel', (dict,), name)
    where = doc.get('where')
    if where is not None and where not in WHERE:
        raise LatencyError('%s: where is %r, not host or guest' % (name,
                                                                   where))
    limit = _get(doc, 'histogram_limit_us', (int,), name, nullable=True)
    cpus = _get(doc, 'cpus', (list,), name)
    if not cpus:
        raise LatencyError('%s: no CPU was measured' % name)
    stats = tuple(_stats_from(c, '%s: cpus[%d]' % (name, i), limit)
                  for i, c in enumerate(cpus))
    gate = doc.get('gate')
    slices = []
    for i, raw in enumerate(_get(doc, 'slices', (list,), name,
                                 nullable=True) or ()):
        what = '%s: slices[%d]' % (name, i)
        worst = _get(raw, 'max_us', (dict,), what)
        slices.append(Slice(
            offset_s=_get(raw, 'offset_s', (int, float), what),
            duration_s=_get(raw, 'duration_s', (int, float), what),
            max_us={int(c): v for c, v in worst.items()}))
    return Result(
        where=where,
        tool_version=tool.get('version'), tool_cmdline=tool.get('cmdline'),
        kernel_release=kernel.get('release'),
        preempt_rt=kernel.get('preempt_rt'),
        kernel_cmdline_sha256=kernel.get('cmdline_sha256'),
        start=parse_time(doc.get('start'), '%s: start' % name),
        end=parse_time(doc.get('end'), '%s: end' % name),
        duration_s=_get(doc, 'duration_s', (int, float), name),
        interval_us=_get(doc, 'interval_us', (int,), name, nullable=True),
        priority=_get(doc, 'priority', (int,), name, nullable=True),
        load=_get(doc, 'load', (str,), name, nullable=True),
        histogram_limit_us=limit,
        complete=_get(doc, 'complete', (bool,), name),
        smi_delta=_get(doc, 'smi_delta', (int,), name, nullable=True),
        cpus=stats,
        gate_max_us=gate.get('max_latency_us') if isinstance(gate, dict)
        else None,
        slices=tuple(slices),
        cyclictest_json=tuple(doc.get('cyclictest_json') or ()))


def load(path, where=None):
    """A result from a file: cyclictest's ``--json`` output or a saved
    nova-rt result.

    :raises: LatencyError for a missing, empty, truncated or foreign file
    """
    try:
        with open(path, 'rb') as f:
            text = f.read()
    except OSError as e:
        raise LatencyError('cannot read %s: %s' % (path, e.strerror))
    doc = cyclictest.load_json(text, path)
    if cyclictest.looks_like_cyclictest(doc):
        return from_runs([cyclictest.parse(doc, path)], where=where,
                         json_files=(path,))
    return from_dict(doc, path)


def dump(result, path):
    """Write the result as JSON, atomically."""
    tmp = path + '.tmp'
    try:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(result.to_dict(), f, indent=2)
            f.write('\n')
        os.replace(tmp, path)
    except OSError as e:
        raise LatencyError('cannot write %s: %s' % (path, e.strerror))


# --- text --------------------------------------------------------------------

def format_percentile(value, limit):
    if value is not None:
        return '%d' % value
    return '>%d' % limit if limit is not None else '?'


def render_text(result):
    """The report an operator reads: a header, one line per CPU and the
    overall line, and what the unknown percentiles mean.
    """
    lines = []
    kernel = result.kernel_release or 'unknown kernel'
    kind = {True: 'PREEMPT_RT', False: 'not PREEMPT_RT'}.get(
        result.preempt_rt, 'PREEMPT_RT unknown')
    lines.append('cyclictest %s on %s, kernel %s (%s)' % (
        result.tool_version or '?', result.where or 'an unnamed machine',
        kernel, kind))
    facts = ['%s s' % _num(result.duration_s),
             'interval %s us' % _opt(result.interval_us),
             'priority %s' % _opt(result.priority),
             'load: %s' % (result.load or 'none'),
             'histogram up to %d us' % result.histogram_limit_us
             if result.histogram_limit_us is not None else 'no histogram']
    if result.smi_delta is not None:
        facts.append('%d SMIs' % result.smi_delta)
    facts.append('complete' if result.complete else
                 'INCOMPLETE (stopped early)')
    lines.append(', '.join(facts))
    lines.append('%s to %s' % (isoformat(result.start),
                               isoformat(result.end)))
    lines.append('')
    header = ('CPU', 'samples', 'min', 'avg', 'max', 'overflows') + tuple(
        'p' + p for p in stats_mod.PERCENTILES)
    rows = [header]
    overall = result.overall
    for s in tuple(result.cpus) + (overall,):
        pct = s.percentiles_us
        rows.append((
            'all' if s.cpu is None else str(s.cpu), str(s.samples),
            _opt(s.min_us), _opt(s.avg_us), _opt(s.max_us),
            str(s.overflows)) + tuple(
                format_percentile(pct[p], result.histogram_limit_us)
                for p in stats_mod.PERCENTILES))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        lines.append('  '.join(v.rjust(w) for v, w in zip(row, widths)))
    lines.append('(latencies in microseconds)')
    if any(v is None for v in overall.percentiles_us.values()):
        if result.histogram_limit_us is None:
            lines.append('Percentiles marked ? are unknown: the run kept no '
                         'histogram (cyclictest without -h).')
        else:
            lines.append(
                'Percentiles marked >%d are unknown beyond %d us, the '
                'histogram limit: %d of %d samples lay beyond it. Measure '
                'again with a larger --histogram-us.' % (
                    result.histogram_limit_us, result.histogram_limit_us,
                    overall.overflows, overall.samples))
    if result.gate_max_us is not None:
        lines.append('gate: max %s us %s %d us: %s' % (
            _opt(overall.max_us), '<=' if result.gate_passed else '>',
            result.gate_max_us, 'PASSED' if result.gate_passed else
            'FAILED'))
    return '\n'.join(lines) + '\n'


def _opt(value):
    return '-' if value is None else (_num(value) if isinstance(value, float)
                                      else str(value))


def _num(value):
    return ('%.2f' % value).rstrip('0').rstrip('.')
