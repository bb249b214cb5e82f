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
"""CPU set strings: the one parser and formatter nova-rt uses.

The grammar is the kernel's and libvirt's list format ("0-3,8,10-11") plus
Nova's exclusions ("0-7,^3", "^0"), so a mask reads the same here as in
``hw:cpu_realtime_mask`` and in ``/sys/devices/system/cpu/isolated``.
"""

import functools
import re

from nova_rt.core import exception

# A CPU number above this is a typo, not a machine: the kernel's own
# NR_CPUS limit is 8192.
MAX_CPU = 8191

# ASCII digits only: \d would also take other scripts' digits.
_ITEM = re.compile(r'(\^)?([0-9]+)(?:-([0-9]+))?')


def _number(text, what, spec):
    """A CPU number, refused before conversion when above MAX_CPU: a
    5,000-digit number costs int() seconds, or an error of its own.
    """
    if len(text.lstrip('0')) > len(str(MAX_CPU)) or int(text) > MAX_CPU:
        raise exception.InvalidCPUSet(
            what=what, spec=_shortened(spec),
            reason='CPU %s is above the limit of %d'
            % (_shortened(text, 12), MAX_CPU))
    return int(text)


def _shortened(text, keep=40):
    if not isinstance(text, str) or len(text) <= keep:
        return text
    return '%s...(%d characters)' % (text[:keep], len(text))


def _ranges(spec, what):
    """The (first, last, excluded) ranges of a cpuset string."""
    for raw in spec.split(','):
        item = raw.strip()
        if not item:
            continue
        match = _ITEM.fullmatch(item)
        if not match:
            raise exception.InvalidCPUSet(
                what=what, spec=_shortened(spec),
                reason='%r is not N, N-M or ^N' % _shortened(item, 20))
        negate, first, last = match.groups()
        first = _number(first, what, spec)
        last = _number(last, what, spec) if last is not None else first
        if last < first:
            raise exception.InvalidCPUSet(
                what=what, spec=_shortened(spec),
                reason='range %r runs backwards' % item)
        yield first, last, bool(negate)


def _expand(ranges):
    """The CPUs of ``(first, last)`` ranges, each CPU added once however
    often the ranges overlap: linear in the spec, at most MAX_CPU + 1.
    """
    cpus, upto = set(), -1
    for first, last in sorted(ranges):
        if last > upto:
            cpus.update(range(max(first, upto + 1), last + 1))
            upto = last
    return cpus


def parse(spec, what='cpuset'):
    """Return the frozenset of CPU numbers a cpuset string describes.

    Exclusions (``^N`` or ``^N-M``) remove CPUs from what the other items
    add, wherever they stand. An empty or blank string is the empty set.
    CPU numbers are ASCII digits, at most ``MAX_CPU``.

    :param spec: the string, e.g. ``"0-3,^2,8"``
    :param what: names the source in the error, e.g. ``hw:cpu_realtime_mask``
    :raises: InvalidCPUSet naming ``what`` and the bad item
    """
    if not isinstance(spec, str):
        raise exception.InvalidCPUSet(what=what, spec=spec,
                                      reason='not a string')
    if len(spec) <= _CACHED_SPEC_LENGTH:
        # A host audit parses the same few masks hundreds of times (every
        # IRQ's affinity); errors are raised, never cached.
        return _parse_cached(spec, what)
    return _parse(spec, what)


_CACHED_SPEC_LENGTH = 512


@functools.lru_cache(maxsize=1024)
def _parse_cached(spec, what):
    return _parse(spec, what)


def _parse(spec, what):
    include, exclude = [], []
    for first, last, negate in _ranges(spec, what):
        (exclude if negate else include).append((first, last))
    return frozenset(_expand(include) - _expand(exclude))


def format(cpus):
    """Canonical range form: sorted, consecutive CPUs folded into N-M.

    ``{0, 1, 2, 3, 5}`` -> ``"0-3,5"``; ``{4, 5}`` -> ``"4-5"``. The empty
    set is ``""``.
    """
    parts = []
    ordered = sorted(cpus)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        if j == i:
            parts.append('%d' % ordered[i])
        else:
            parts.append('%d-%d' % (ordered[i], ordered[j]))
        i = j + 1
    return ','.join(parts)
