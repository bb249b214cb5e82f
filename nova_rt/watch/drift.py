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
"""A running guest's drift: each way its live threads differ from what its
domain asks (``expected.GuestSettings``), once each, with what was expected
and what was found; evidence that could not be read is *unknown*, never
fine.
"""

import dataclasses
import typing as ty

from nova_rt.core import cpuset

DRIFT = 'drift'
UNKNOWN = 'unknown'
OK = 'ok'
STATUSES = (OK, DRIFT, UNKNOWN)


@dataclasses.dataclass(frozen=True)
class Difference:
    """One way a guest is not as its domain asks (``unknown``: one thing
    that could not be read; ``found`` then says why).
    """

    what: str
    expected: str
    found: str
    unknown: bool = False

    def __str__(self):
        if self.unknown:
            return '%s: unknown (%s)' % (self.what, self.found)
        return '%s: %s expected, %s found' % (self.what, self.expected,
                                             self.found)


@dataclasses.dataclass(frozen=True)
class VcpuLoad:
    """What a real-time vCPU thread has suffered since it started: time
    waited on a run queue (ns) and involuntary context switches. Alone on
    its isolated CPU it waits ~0 ns.
    """

    vcpu: int
    tid: int
    run_delay_ns: int
    involuntary_switches: int


@dataclasses.dataclass(frozen=True)
class GuestReport:
    name: str
    uuid: ty.Optional[str]
    differences: ty.Tuple[Difference, ...]
    # The real-time vCPUs' VcpuLoad, by vCPU (only those whose thread was
    # read): bounded, for the metrics.
    loads: ty.Tuple[VcpuLoad, ...] = ()

    @property
    def drifted(self):
        return [d for d in self.differences if not d.unknown]

    @property
    def unknown(self):
        return [d for d in self.differences if d.unknown]

    @property
    def status(self):
        """'drift' when anything differs, else 'unknown' when anything
        could not be read, else 'ok'.
        """
        if self.drifted:
            return DRIFT
        return UNKNOWN if self.unknown else OK


def _sched(sched):
    policy, priority = sched
    return '%s %d' % (policy, priority) if policy in ('fifo', 'rr') \
        else policy


def _cpus(cpus):
    return 'CPUs %s' % (cpuset.format(cpus) if cpus else 'none')


def _compare(what, expected, thread, check_sched=True):
    found = []
    if expected.cpus is not None and thread.allowed != expected.cpus:
        found.append(Difference('%s affinity' % what, _cpus(expected.cpus),
                                _cpus(thread.allowed)))
    if check_sched and (thread.policy, thread.priority) != expected.sched:
        found.append(Difference('%s scheduling' % what,
                                _sched(expected.sched),
                                _sched((thread.policy, thread.priority))))
    return found


def _by_role(threads, settings, pid):
    """({vCPU: [thread]}, {IOThread: [thread]}, differences of the
    unreadable and emulator threads).
    """
    differences, by_vcpu, by_iothread = [], {}, {}
    for tid in sorted(threads):
        thread = threads[tid]
        if thread.unknown:
            differences.append(Difference('thread %d' % tid, '',
                                          thread.unknown, unknown=True))
            continue
        kind, index = thread.role
        if kind == 'vcpu':
            by_vcpu.setdefault(index, []).append(thread)
        elif kind == 'iothread':
            by_iothread.setdefault(index, []).append(thread)
        else:
            differences += _compare(
                'emulator thread %d (%s)' % (tid, thread.comm),
                settings.emulator, thread, check_sched=tid == pid)
    return by_vcpu, by_iothread, differences


def _vcpus(settings, by_vcpu):
    differences = []
    for vcpu, expected in sorted(settings.vcpus.items()):
        found = by_vcpu.get(vcpu, [])
        if not found:
            differences.append(Difference(
                'vCPU %d' % vcpu, 'its thread', 'no thread named '
                '"CPU %d/..." in the QEMU process' % vcpu, unknown=True))
        for thread in found:
            differences += _compare(
                'vCPU %d (thread %d)' % (vcpu, thread.tid), expected, thread)
    for vcpu in sorted(set(by_vcpu) - set(settings.vcpus)):
        for thread in by_vcpu[vcpu]:
            differences.append(Difference(
                'thread %d (%s)' % (thread.tid, thread.comm),
                'no vCPU %d (the domain has %d)' % (vcpu,
                                                   len(settings.vcpus)),
                'a vCPU thread'))
    return differences


def _iothreads(settings, by_iothread):
    differences = []
    for iothread in sorted(by_iothread):
        # An IOThread the domain does not list is QEMU's own, confined
        # with the emulator threads.
        expected = settings.iothreads.get(iothread)
        for thread in by_iothread[iothread]:
            differences += _compare(
                'IOThread %d (thread %d)' % (iothread, thread.tid),
                expected or settings.emulator, thread,
                check_sched=expected is not None)
    return differences


def _locked(settings, locked_kib):
    if settings.locked_kib is None:
        return []
    if locked_kib is None or isinstance(locked_kib, Exception):
        return [Difference('locked memory', '',
                           str(locked_kib or 'VmLck not read'),
                           unknown=True)]
    if locked_kib < settings.locked_kib:
        # QEMU locks its own memory besides the guest's: at least the
        # guest's <memory>.
        return [Difference('locked memory',
                           'at least %d KiB' % settings.locked_kib,
                           '%d KiB' % locked_kib)]
    return []


def check(settings, threads, locked_kib, pid=None):
    """The GuestReport of a guest whose domain says ``settings`` and whose
    QEMU (process ``pid``) has ``threads`` ({tid: threads.Thread}) and
    ``locked_kib`` locked (None, or the exception that kept VmLck from
    being read: unknown).

    The emulator's class and priority are checked on QEMU's main thread
    (``pid``), where libvirt sets them: the threads QEMU starts later
    (workers come and go) take whatever their creator had. Every emulator
    thread's affinity is checked: libvirt's emulatorpin confines them all.
    """
    by_vcpu, by_iothread, differences = _by_role(threads, settings, pid)
    differences += _vcpus(settings, by_vcpu)
    differences += _iothreads(settings, by_iothread)
    differences += _locked(settings, locked_kib)
    loads = tuple(VcpuLoad(vcpu, t.tid, t.run_delay_ns,
                           t.involuntary_switches)
                  for vcpu in settings.realtime_vcpus
                  for t in by_vcpu.get(vcpu, [])[:1])
    return GuestReport(settings.name, settings.uuid, tuple(differences),
                       loads)
