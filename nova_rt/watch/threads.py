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
"""A QEMU process's live threads, as /proc shows them under a host root.

Each thread is read from its own ``task/TID`` files; one that exits between
the listing and the read is left out (QEMU's worker threads come and go),
but a thread whose files exist and cannot be read, or do not parse, is
kept as *unknown* with the reason: a watcher never counts what it could
not read as fine.
"""

import dataclasses
import re
import typing as ty

from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.host import model
from nova_rt.host import reader as host_reader

# QEMU names its vCPU threads "CPU N/KVM" (or /TCG without KVM) and the
# IOThreads libvirt asks for "IO iothreadN"; every other thread of the
# process is an emulator thread, which libvirt's emulatorpin covers.
_VCPU = re.compile(r'CPU (\d+)/\w+')
_IOTHREAD = re.compile(r'IO iothread(\d+)')


@dataclasses.dataclass(frozen=True)
class Thread:
    """One thread of a QEMU process; ``unknown`` says why the rest is not
    known (then every other field but ``tid`` may be None).
    """

    tid: int
    comm: ty.Optional[str] = None
    policy: ty.Optional[str] = None
    priority: ty.Optional[int] = None
    allowed: ty.Optional[ty.FrozenSet[int]] = None
    # The CPU it last ran on.
    last_cpu: ty.Optional[int] = None
    # schedstat: time waited on a run queue, in ns, and time slices run.
    run_delay_ns: ty.Optional[int] = None
    slices: ty.Optional[int] = None
    # status: involuntary context switches (preemptions).
    involuntary_switches: ty.Optional[int] = None
    unknown: ty.Optional[str] = None

    @property
    def role(self):
        """('vcpu', N), ('iothread', N) or ('emulator', None); None while
        the thread's name is unknown.
        """
        if self.comm is None:
            return None
        match = _VCPU.fullmatch(self.comm)
        if match:
            return 'vcpu', int(match.group(1))
        match = _IOTHREAD.fullmatch(self.comm)
        if match:
            return 'iothread', int(match.group(1))
        return 'emulator', None


def parse_stat(line):
    """(comm, policy, rt_priority, last CPU) of a /proc/*/stat line; the
    comm may hold spaces and parentheses, so it ends at the last ')'.
    """
    head, sep, rest = line.rpartition(')')
    if not sep or '(' not in head:
        raise ValueError('not a /proc stat line: %r' % line[:80])
    comm = head[head.index('(') + 1:]
    fields = rest.split()
    if len(fields) < 39:
        raise ValueError('a /proc stat line of %d fields, not 41 or more'
                         % (len(fields) + 2))
    # proc(5) numbers fields from 1; fields[0] is field 3 (state).
    processor, rt_priority, policy = (int(fields[n - 3])
                                      for n in (39, 40, 41))
    return (comm, model.POLICY_NAMES.get(policy, str(policy)), rt_priority,
            processor)


def parse_schedstat(line):
    """(run delay in ns, time slices) of a /proc/*/schedstat line."""
    fields = line.split()
    if len(fields) != 3 or not all(f.isdigit() for f in fields):
        raise ValueError('not a /proc schedstat line: %r' % line[:80])
    return int(fields[1]), int(fields[2])


def _status_field(status, name):
    # str.find, not a line split or a multi-line regex: every thread of
    # every real-time guest, at every write of the metrics file.
    start = status.find('\n%s:' % name)
    if start < 0:
        raise ValueError('no %s in /proc status' % name)
    start += len(name) + 2
    end = status.find('\n', start)
    return status[start:end if end >= 0 else None].strip()


def read_thread(reader, pid, tid):
    """The thread ``tid`` of process ``pid``; None when it has exited."""
    base = 'proc/%d/task/%d/' % (pid, tid)
    try:
        stat = reader.read(base + 'stat')
        status = reader.read(base + 'status')
        schedstat = reader.read(base + 'schedstat')
    except host_reader.HostFileMissing:
        # Exited between the listing and the read.
        return None
    except host_reader.HostFileError as e:
        return Thread(tid, unknown=str(e))
    try:
        comm, policy, priority, last_cpu = parse_stat(stat)
        allowed = cpuset.parse(_status_field(status, 'Cpus_allowed_list'),
                               'Cpus_allowed_list')
        involuntary = int(_status_field(status,
                                        'nonvoluntary_ctxt_switches'))
        run_delay, slices = parse_schedstat(schedstat)
    except (ValueError, exception.InvalidCPUSet) as e:
        return Thread(tid, unknown='/%s: %s' % (base.rstrip('/'), e))
    return Thread(tid, comm, policy, priority, allowed, last_cpu, run_delay,
                  slices, involuntary)


def read_threads(reader, pid):
    """Every thread of process ``pid`` still there once read, by tid.

    Raises HostFileError when the process itself cannot be listed (gone,
    or not readable): the caller's evidence for the whole guest is
    missing.
    """
    threads = {}
    for name in reader.listdir('proc/%d/task' % pid):
        if not name.isdigit():
            continue
        thread = read_thread(reader, pid, int(name))
        if thread is not None:
            threads[thread.tid] = thread
    return threads


def locked_kib(reader, pid):
    """The memory process ``pid`` holds locked (VmLck), in KiB."""
    line = reader.find_line('proc/%d/status' % pid, 'VmLck:')
    if line is None:
        raise host_reader.HostFileInvalid('proc/%d/status' % pid,
                                          'no VmLck line')
    value = line.split(':', 1)[1].split()
    if len(value) != 2 or value[1] != 'kB' or not value[0].isdigit():
        raise host_reader.HostFileInvalid('proc/%d/status' % pid,
                                          'VmLck is %r' % line.strip())
    return int(value[0])
