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

import re

from nova_rt import exception

# A CPU number above this is a typo, not a machine: the kernel's own
# NR_CPUS limit is 8192.
MAX_CPU = 8191

_ITEM = re.compile(r'(\^)?(\d+)(?:-(\d+))?')


def parse(spec, what='cpuset'):
    """Return the frozenset of CPU numbers a cpuset string describes.

    Exclusions (``^N`` or ``^N-M``) remove CPUs from what the other items
    add, wherever they stand. An empty or blank string is the empty set.

    :param spec: the string, e.g. ``"0-3,^2,8"``
    :param what: names the source in the error, e.g. ``hw:cpu_realtime_mask``
    :raises: InvalidCPUSet naming ``what`` and the bad item
    """
    if not isinstance(spec, str):
        raise exception.InvalidCPUSet(what=what, spec=spec,
                                      reason='not a string')
    include, exclude = set(), set()
    for raw in spec.split(','):
        item = raw.strip()
        if not item:
            continue
        match = _ITEM.fullmatch(item)
        if not match:
            raise exception.InvalidCPUSet(
                what=what, spec=spec, reason='%r is not N, N-M or ^N' % item)
        negate, first, last = match.groups()
        first = int(first)
        last = int(last) if last is not None else first
        if last < first:
            raise exception.InvalidCPUSet(
                what=what, spec=spec, reason='range %r runs backwards' % item)
        if last > MAX_CPU:
            raise exception.InvalidCPUSet(
                what=what, spec=spec,
                reason='CPU %d is above the limit of %d' % (last, MAX_CPU))
        (exclude if negate else include).update(range(first, last + 1))
    return frozenset(include - exclude)


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
