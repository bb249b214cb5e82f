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
"""Real-time scheduling: RT throttling, the cgroup RT budget libvirt's vCPU
groups get, and the essential per-CPU kernel threads.
"""

import re

from nova_rt.host import model
from nova_rt.host import reader as host_reader


# The number after the slash is the CPU the smpboot thread is bound to.
_KTHREAD_NAME = re.compile(
    r'^(%s)/([0-9]{1,5})$' % '|'.join(model.ESSENTIAL_KTHREADS))
KTHREADD_PID = 2


def read_sysctl_int(r, name):
    try:
        return r.read_int('proc/sys/kernel/' + name)
    except host_reader.HostFileError as e:
        return model.unknown_from(e)


_V1_CPU_DIRS = ('sys/fs/cgroup/cpu,cpuacct', 'sys/fs/cgroup/cpu',
                'sys/fs/cgroup/cpuacct,cpu')


def _libvirt_controllers(r):
    try:
        text = r.read('etc/libvirt/qemu.conf')
    except host_reader.HostFileMissing:
        return None
    except host_reader.HostFileError as e:
        return model.unknown_from(e)
    # libvirt's config syntax: '#' comments, lists may span lines.
    text = '\n'.join(line.split('#', 1)[0] for line in text.splitlines())
    match = re.search(r'^\s*cgroup_controllers\s*=\s*\[(.*?)\]', text,
                      re.M | re.S)
    if not match:
        return None
    return tuple(re.findall(r'"([^"]*)"', match.group(1)))


def _machine_rt_runtime(r, rel):
    """cpu.rt_runtime_us of libvirt's machine slice, or None."""
    for slice_ in ('machine.slice', 'machine'):
        try:
            return r.read_int('%s/%s/cpu.rt_runtime_us' % (rel, slice_))
        except host_reader.HostFileError:
            continue
    return None


def _cgroup_v1(r, rel, controllers):
    try:
        r.read_int(rel + '/cpu.rt_runtime_us')
    except host_reader.HostFileMissing:
        return model.CgroupInfo('v1', False, 'no cpu.rt_runtime_us in /%s'
                                % rel, None, controllers)
    except host_reader.HostFileError as e:
        return model.CgroupInfo(
            'v1', model.unknown_from(e), str(e), None, controllers)
    return model.CgroupInfo('v1', True, 'cpu.rt_runtime_us in /%s' % rel,
                            _machine_rt_runtime(r, rel), controllers)


def _cgroup_v2(r, controllers):
    # cgroup v2 has no RT budget files, yet CONFIG_RT_GROUP_SCHED still
    # gives each cpu-controller group a zero budget: only the kernel
    # config tells.
    try:
        release = r.read_line('proc/sys/kernel/osrelease')
        rel = 'boot/config-%s' % release
        line = r.find_line(rel, 'CONFIG_RT_GROUP_SCHED=')
        if line is None:
            return model.CgroupInfo(
                'v2', False, 'CONFIG_RT_GROUP_SCHED not set '
                'in /%s' % rel, None, controllers)
        return model.CgroupInfo('v2', line.endswith('=y'), '%s in /%s'
                                % (line, rel), None, controllers)
    except host_reader.HostFileError as e:
        return model.CgroupInfo('v2', model.unknown_from(
            e), 'cgroup v2; kernel config '
            'unreadable: %s' % e, None, controllers)


def read_cgroup(r):
    controllers = _libvirt_controllers(r)
    for rel in _V1_CPU_DIRS:
        if r.is_dir(rel):
            return _cgroup_v1(r, rel, controllers)
    if not r.exists('sys/fs/cgroup/cgroup.controllers'):
        return model.Unknown('no cgroup v1 cpu hierarchy and no cgroup v2 '
                             'mount under /sys/fs/cgroup')
    return _cgroup_v2(r, controllers)


def _kthreadd_children(r):
    """The pids CONFIG_PROC_CHILDREN lists for kthreadd, or None when that
    list cannot be trusted: missing, empty (kthreadd always has children)
    or holding anything but pids.
    """
    try:
        pids = r.read('proc/%d/task/%d/children'
                      % (KTHREADD_PID, KTHREADD_PID)).split()
    except host_reader.HostFileError:
        return None
    if pids and all(host_reader.is_number(p) for p in pids):
        return pids
    return None


def read_kthreads(r):
    # Kernel threads are children of kthreadd (pid 2); with
    # CONFIG_PROC_CHILDREN one file lists them, otherwise scan /proc.
    pids = _kthreadd_children(r)
    if pids is None:
        try:
            pids = [n for n in r.listdir('proc') if host_reader.is_number(n)]
        except host_reader.HostFileError as e:
            return model.unknown_from(e)
    found = []
    for pid in pids:
        try:
            stat = r.read('proc/%s/stat' % pid)
        except host_reader.HostFileError:
            continue        # exited since the listing
        thread = parse_kthread_stat(pid, stat)
        if thread is not None:
            found.append(thread)
    return tuple(sorted(found, key=lambda t: (t.cpu, t.kind)))


def parse_kthread_stat(pid, stat):
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses,
    # so it ends at the LAST ')'. Fields after it are numbered from 3.
    left, right = stat.find('('), stat.rfind(')')
    if left < 0 or right < left:
        return None
    comm = stat[left + 1:right]
    match = _KTHREAD_NAME.match(comm)
    if not match:
        return None
    fields = stat[right + 2:].split()
    try:
        ppid = int(fields[1])                   # field 4
        # field 40 rt_priority, field 41 policy (proc(5)).
        priority, policy = int(fields[37]), int(fields[38])
    except (IndexError, ValueError):
        return None
    if ppid != KTHREADD_PID:
        return None     # a user process named like a kernel thread
    return model.KThread(pid=int(pid), name=comm, kind=match.group(1),
                         cpu=int(match.group(2)), policy=policy,
                         priority=priority)
