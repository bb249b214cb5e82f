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
"""cyclictest's ``--json`` output (rt-tests 2.x), read strictly.

The file looks like::

    {"file_version": 1, "cmdline:": "cyclictest ...",
     "rt_test_version:": "2.40", "start_time": "Sun, 29 Nov 2026 ...",
     "end_time": ..., "return_code": 0,
     "sysinfo": {"release": ..., "realtime": 0, ...},
     "num_threads": 2, "resolution_in_ns": 0,
     "thread": {"0": {"histogram": {"17": 1, ...}, "cycles": 2998,
                      "min": 17, "max": 1699, "avg": 47.92, "cpu": 1,
                      "node": 0}, ...}}

Quirks handled here: two keys end with a colon (``"cmdline:"``,
``"rt_test_version:"``; accepted without it too); the histogram lists only
non-empty buckets and only those below the limit, while ``cycles`` counts
every sample; ``histogram`` is absent without ``-h``; the file is written
after SIGINT as well, with ``return_code`` 0, so a run cut short is only
visible in its times; several threads may share a CPU.
"""

import dataclasses
import datetime
import email.utils
import json
import re
import shlex
import typing

from nova_rt.latency import LatencyError
from nova_rt.latency import stats as stats_mod

# The options whose values the result records, short and long spellings.
_OPTIONS = {
    'interval': ('-i', '--interval'),
    'priority': ('-p', '--priority'),
    'histogram': ('-h', '--histogram', '-H', '--histofall'),
    'duration': ('-D', '--duration'),
}
_DURATION = re.compile(r'([0-9]+)([smhd]?)')
_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400}


@dataclasses.dataclass(frozen=True)
class Run:
    """One cyclictest invocation, per CPU."""

    version: typing.Optional[str]
    cmdline: typing.Optional[str]
    start: datetime.datetime
    end: datetime.datetime
    return_code: int
    release: typing.Optional[str]
    preempt_rt: typing.Optional[bool]
    cpus: typing.Tuple[stats_mod.Stats, ...]
    interval_us: typing.Optional[int]
    priority: typing.Optional[int]
    histogram_limit_us: typing.Optional[int]
    requested_s: typing.Optional[int]

    @property
    def elapsed_s(self):
        return (self.end - self.start).total_seconds()

    @property
    def complete(self):
        """Not cut short: exit 0 and, with ``-D``, as long as asked.

        The times have one-second resolution, hence the second of slack.
        """
        if self.return_code != 0:
            return False
        return self.requested_s is None or \
            self.elapsed_s >= self.requested_s - 1


def looks_like_cyclictest(doc):
    return isinstance(doc, dict) and 'thread' in doc and \
        ('file_version' in doc or 'num_threads' in doc)


def load_json(text, name):
    """JSON from a file's text, or a LatencyError saying what is wrong."""
    if isinstance(text, bytes):
        try:
            text = text.decode('utf-8')
        except UnicodeDecodeError as e:
            raise LatencyError('%s: not UTF-8 text (%s)' % (name, e))
    if not text.strip():
        raise LatencyError('%s: empty file: expected cyclictest --json '
                           'output or a nova-rt latency result' % name)
    try:
        return json.loads(text)
    except ValueError as e:
        raise LatencyError('%s: not valid JSON (%s): truncated, or not '
                           'cyclictest --json output?' % (name, e))


def option(cmdline, names):
    """The value of the first of ``names`` on a command line, or None."""
    try:
        words = shlex.split(cmdline or '')
    except ValueError:
        words = (cmdline or '').split()
    for i, word in enumerate(words):
        for name in names:
            if word == name and i + 1 < len(words):
                return words[i + 1]
            if name.startswith('--') and word.startswith(name + '='):
                return word[len(name) + 1:]
            if not name.startswith('--') and word.startswith(name) and \
                    len(word) > len(name) and not word.startswith('--'):
                return word[len(name):]
    return None


def _int_option(cmdline, what, name):
    value = option(cmdline, _OPTIONS[what])
    if value is None:
        return None
    try:
        return int(value, 10)
    except ValueError:
        raise LatencyError('%s: %s %r in the command line is not an integer'
                           % (name, _OPTIONS[what][0], value))


def parse_duration(text):
    """cyclictest's -D: seconds, or with an s/m/h/d suffix -> seconds."""
    m = _DURATION.fullmatch(text.strip().lower())
    if not m:
        raise ValueError('%r is not a duration such as 30s, 5m, 1h' % text)
    return int(m.group(1)) * _UNITS[m.group(2)]


def _time(doc, key, name):
    raw = doc.get(key)
    if not isinstance(raw, str):
        raise LatencyError('%s: %s is %r, not a date' % (name, key, raw))
    try:
        value = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        value = None
    if value is None:
        raise LatencyError('%s: %s %r is not an RFC 2822 date' % (name, key,
                                                                  raw))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def _number(thread, key, where, kinds=(int,)):
    value = thread.get(key)
    if isinstance(value, bool) or not isinstance(value, kinds) or \
            value < 0:
        raise LatencyError('%s: %s is %r, not a non-negative number'
                           % (where, key, value))
    return value


def _thread(raw, tid, name, limit):
    where = '%s: thread %s' % (name, tid)
    if not isinstance(raw, dict):
        raise LatencyError('%s: not an object' % where)
    cycles = _number(raw, 'cycles', where)
    cpu = _number(raw, 'cpu', where)
    histogram = {}
    hist = raw.get('histogram', {})
    if not isinstance(hist, dict):
        raise LatencyError('%s: histogram is not an object' % where)
    for bucket, count in hist.items():
        try:
            b = int(bucket, 10)
        except ValueError:
            b = -1
        if b < 0 or isinstance(count, bool) or not isinstance(count, int) \
                or count < 0:
            raise LatencyError('%s: histogram entry %r: %r is not a bucket '
                               'and a count' % (where, bucket, count))
        if count:
            histogram[b] = count
    if sum(histogram.values()) > cycles:
        raise LatencyError('%s: the histogram holds %d samples, more than '
                           'its %d cycles' % (where, sum(histogram.values()),
                                              cycles))
    if cycles == 0:
        return stats_mod.Stats(cpu=cpu, samples=0, min_us=None, avg_us=None,
                               max_us=None, histogram=histogram,
                               histogram_limit_us=limit)
    low = _number(raw, 'min', where)
    high = _number(raw, 'max', where)
    avg = _number(raw, 'avg', where, (int, float))
    if histogram and (min(histogram) < low or max(histogram) > high):
        raise LatencyError('%s: histogram buckets %d-%d outside min %d and '
                           'max %d' % (where, min(histogram), max(histogram),
                                       low, high))
    return stats_mod.Stats(cpu=cpu, samples=cycles, min_us=low,
                           avg_us=round(float(avg), 2), max_us=high,
                           histogram=histogram, histogram_limit_us=limit)


def _quirky(doc, key):
    """rt-tests 2.x writes some keys with a trailing colon."""
    if key + ':' in doc:
        return doc[key + ':']
    return doc.get(key)


def parse(doc, name):
    """A ``Run`` from cyclictest's parsed ``--json`` document.

    :param name: the file, for messages
    :raises: LatencyError naming the file and the key at fault
    """
    if not looks_like_cyclictest(doc):
        raise LatencyError('%s: not cyclictest --json output (no "thread" '
                           'object)' % name)
    cmdline = _quirky(doc, 'cmdline')
    version = _quirky(doc, 'rt_test_version')
    limit = _int_option(cmdline, 'histogram', name)
    duration = option(cmdline, _OPTIONS['duration'])
    try:
        requested = parse_duration(duration) if duration else None
    except ValueError as e:
        raise LatencyError('%s: -D in the command line: %s' % (name, e))
    threads = doc['thread']
    if not isinstance(threads, dict) or not threads:
        raise LatencyError('%s: "thread" holds no measuring thread '
                           '(truncated?)' % name)
    by_cpu = {}
    for tid in sorted(threads, key=lambda t: (len(t), t)):
        one = _thread(threads[tid], tid, name, limit)
        by_cpu.setdefault(one.cpu, []).append(one)
    cpus = tuple(parts[0] if len(parts) == 1 else
                 stats_mod.merge(parts, cpu=cpu)
                 for cpu, parts in sorted(by_cpu.items()))
    sysinfo = doc.get('sysinfo') if isinstance(doc.get('sysinfo'),
                                               dict) else {}
    realtime = sysinfo.get('realtime')
    return_code = doc.get('return_code', 0)
    if not isinstance(return_code, int) or isinstance(return_code, bool):
        raise LatencyError('%s: return_code is %r' % (name, return_code))
    return Run(version=str(version) if version is not None else None,
               cmdline=cmdline if isinstance(cmdline, str) else None,
               start=_time(doc, 'start_time', name),
               end=_time(doc, 'end_time', name),
               return_code=return_code,
               release=sysinfo.get('release'),
               preempt_rt=bool(realtime) if isinstance(realtime, int)
               else None,
               cpus=cpus,
               interval_us=_int_option(cmdline, 'interval', name),
               priority=_int_option(cmdline, 'priority', name),
               histogram_limit_us=limit,
               requested_s=requested)


def read(path):
    """``parse`` of the file at ``path``."""
    try:
        with open(path, 'rb') as f:
            text = f.read()
    except OSError as e:
        raise LatencyError('cannot read %s: %s' % (path, e.strerror))
    return parse(load_json(text, path), path)
