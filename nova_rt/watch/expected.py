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
"""What a running guest's threads should have: read from its libvirt
domain, the settings nova-rt's driver (and Nova's) wrote from the flavor
and the pins Nova's claim chose. The domain is the record to compare with:
the pins come from the claim, not the flavor, and libvirt applied exactly
this at start.
"""

import dataclasses
import typing as ty
from xml.etree import ElementTree

from nova_rt.core import cpuset
from nova_rt.core import exception

# A thread without <vcpusched>/<emulatorsched> runs SCHED_OTHER.
OTHER = ('other', 0)


class DomainInvalid(exception.NovaRTError):
    msg_fmt = 'domain %(name)s: %(reason)s'


@dataclasses.dataclass(frozen=True)
class ThreadSettings:
    """What one thread (or class of threads) should have: its CPUs (None:
    any, not pinned) and its (policy, priority).
    """

    cpus: ty.Optional[ty.FrozenSet[int]]
    sched: ty.Tuple[str, int]


@dataclasses.dataclass(frozen=True)
class GuestSettings:
    """A guest's expected threads, from its domain."""

    name: str
    uuid: ty.Optional[str]
    vcpus: ty.Dict[int, ThreadSettings]
    emulator: ThreadSettings
    iothreads: ty.Dict[int, ThreadSettings]
    # <memoryBacking><locked/>: the whole <memory> locked, in KiB.
    locked_kib: ty.Optional[int]

    @property
    def realtime_vcpus(self):
        """The vCPUs with a real-time class (fifo or rr), sorted."""
        return sorted(v for v, s in self.vcpus.items()
                      if s.sched[0] in ('fifo', 'rr'))

    @property
    def realtime_cpus(self):
        """The host CPUs of the real-time vCPUs."""
        found = set()
        for vcpu in self.realtime_vcpus:
            found |= self.vcpus[vcpu].cpus or set()
        return frozenset(found)


def _sched(el, what, name):
    scheduler = el.get('scheduler')
    if scheduler not in ('fifo', 'rr', 'batch', 'idle', 'other'):
        raise DomainInvalid(name=name, reason='%s scheduler %r'
                            % (what, scheduler))
    priority = el.get('priority')
    if scheduler in ('fifo', 'rr'):
        if priority is None or not priority.isdigit():
            raise DomainInvalid(name=name, reason='%s %s priority %r'
                                % (what, scheduler, priority))
        return scheduler, int(priority)
    return scheduler, 0


def _cpus(el, attribute, what, name):
    try:
        return cpuset.parse(el.get(attribute) or '', what)
    except exception.InvalidCPUSet as e:
        raise DomainInvalid(name=name, reason=str(e))


def _index(el, attribute, name):
    value = el.get(attribute) or ''
    if not value.isdigit():
        raise DomainInvalid(name=name, reason='<%s %s=%r>'
                            % (el.tag, attribute, value))
    return int(value)


def _kib(el, what, name):
    units = {'b': 1 / 1024, 'bytes': 1 / 1024, 'k': 1, 'kib': 1,
             'kb': 1000 / 1024, 'm': 1024, 'mib': 1024, 'g': 1 << 20,
             'gib': 1 << 20}
    unit = (el.get('unit') or 'KiB').lower()
    if unit not in units or not (el.text or '').strip().isdigit():
        raise DomainInvalid(name=name, reason='%s %r %s'
                            % (what, el.text, unit))
    return int(int(el.text.strip()) * units[unit])


def _cputune(tune, name):
    """({vCPU: pins}, {vCPU: sched}, the emulator's ThreadSettings,
    {IOThread: ThreadSettings}) of a <cputune> (None: nothing pinned,
    nothing real-time).
    """
    pins, vsched, iopins, iosched = {}, {}, {}, {}
    emulator_cpus, emulator_sched = None, OTHER
    if tune is None:
        return pins, vsched, ThreadSettings(None, OTHER), {}
    for pin in tune.findall('vcpupin'):
        pins[_index(pin, 'vcpu', name)] = _cpus(pin, 'cpuset', 'vcpupin',
                                                name)
    for el in tune.findall('vcpusched'):
        sched = _sched(el, 'vcpusched', name)
        for vcpu in _cpus(el, 'vcpus', 'vcpusched vcpus', name):
            vsched[vcpu] = sched
    el = tune.find('emulatorpin')
    if el is not None:
        emulator_cpus = _cpus(el, 'cpuset', 'emulatorpin', name)
    el = tune.find('emulatorsched')
    if el is not None:
        emulator_sched = _sched(el, 'emulatorsched', name)
    for el in tune.findall('iothreadsched'):
        sched = _sched(el, 'iothreadsched', name)
        for iothread in _cpus(el, 'iothreads', 'iothreadsched iothreads',
                              name):
            iosched[iothread] = sched
    for pin in tune.findall('iothreadpin'):
        iopins[_index(pin, 'iothread', name)] = _cpus(
            pin, 'cpuset', 'iothreadpin', name)
    emulator = ThreadSettings(emulator_cpus, emulator_sched)
    # An IOThread runs with the emulator threads unless pinned or
    # scheduled on its own: QEMU's main thread starts it after libvirt set
    # the emulator's class (seen: a FIFO 3 emulator's IOThread at FIFO 3).
    iothreads = {i: ThreadSettings(iopins.get(i, emulator.cpus),
                                   iosched.get(i, emulator.sched))
                 for i in set(iopins) | set(iosched)}
    return pins, vsched, emulator, iothreads


def from_domain(xml):
    """GuestSettings of a libvirt domain XML (as ``virsh dumpxml`` gives
    it); DomainInvalid names what does not parse.
    """
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as e:
        raise DomainInvalid(name='?', reason='not XML: %s' % e)
    return from_element(root)


def from_element(root):
    """GuestSettings of a parsed <domain> element."""
    name = root.findtext('name') or '?'
    count = root.findtext('vcpu')
    if count is None or not count.strip().isdigit():
        raise DomainInvalid(name=name, reason='<vcpu> %r' % count)
    pins, vsched, emulator, iothreads = _cputune(root.find('cputune'),
                                                 name)
    count_io = root.findtext('iothreads')
    if count_io and count_io.strip().isdigit():
        for iothread in range(1, int(count_io) + 1):
            iothreads.setdefault(iothread, emulator)
    locked = None
    if root.find('memoryBacking/locked') is not None:
        memory = root.find('memory')
        if memory is None:
            raise DomainInvalid(name=name, reason='<locked/> without '
                                '<memory>')
        locked = _kib(memory, 'memory', name)
    return GuestSettings(
        name=name, uuid=root.findtext('uuid'),
        vcpus={v: ThreadSettings(pins.get(v), vsched.get(v, OTHER))
               for v in range(int(count))},
        emulator=emulator, iothreads=iothreads,
        locked_kib=locked)
