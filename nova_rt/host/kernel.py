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
"""The kernel: its preemption model, its command line, CPU isolation,
interrupt and workqueue affinity, and the kvm module parameters.
"""

import re

from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.host import model
from nova_rt.host import reader as host_reader


def _kernel_version(r):
    """uname -v, or the Unknown of why neither file could be read."""
    try:
        return r.read_line('proc/version')
    except host_reader.HostFileError as e:
        try:
            return r.read_line('proc/sys/kernel/version')
        except host_reader.HostFileError:
            return model.unknown_from(e)


def _realtime_patch(r):
    # The out-of-tree RT patch set adds /sys/kernel/realtime; mainline
    # PREEMPT_RT (6.12+) does not, hence the uname string.
    try:
        return r.read_line('sys/kernel/realtime') == '1'
    except host_reader.HostFileError:
        return False


def _dynamic_preemption(r, cmdline):
    """(kind, evidence) of a PREEMPT_DYNAMIC kernel."""
    mode, source = None, None
    try:
        # debugfs shows the modes with the current one in parentheses:
        # "none voluntary (full) lazy".
        text = r.read_line('sys/kernel/debug/sched/preempt')
        match = re.search(r'\((\w+)\)', text)
        if match:
            mode, source = match.group(1), 'debugfs sched/preempt'
    except host_reader.HostFileError:
        pass
    if mode is None and model.known(cmdline) and cmdline.value('preempt'):
        mode, source = cmdline.value('preempt'), 'preempt= on cmdline'
    if mode is None:
        return model.KERNEL_NONE, (
            'PREEMPT_DYNAMIC kernel, mode not visible (no debugfs, no '
            'preempt=): assumed voluntary, the distributions\' default')
    kind = model.KERNEL_PREEMPT if mode in (
        'full', 'lazy') else model.KERNEL_NONE
    return kind, 'PREEMPT_DYNAMIC, mode %s (%s)' % (mode, source)


def read_kernel(r, cmdline):
    """('preempt_rt'|'preempt'|'none', evidence)."""
    version = _kernel_version(r)
    if _realtime_patch(r):
        return model.KERNEL_PREEMPT_RT, '/sys/kernel/realtime is 1'
    if not model.known(version):
        return model.KERNEL_NONE, version
    # uname -v: "#1 SMP PREEMPT_RT ...", "#1 SMP PREEMPT_DYNAMIC ...",
    # "#1 SMP PREEMPT ..." (full preemption) or just "#1 SMP ..."
    # (voluntary or none).
    tokens = set(version.split())
    if 'PREEMPT_RT' in tokens:
        return model.KERNEL_PREEMPT_RT, 'PREEMPT_RT in /proc/version'
    if 'PREEMPT_DYNAMIC' in tokens:
        return _dynamic_preemption(r, cmdline)
    if 'PREEMPT' in tokens:
        return model.KERNEL_PREEMPT, 'PREEMPT in /proc/version'
    return model.KERNEL_NONE, 'no PREEMPT in /proc/version'


def read_cmdline(r):
    try:
        return model.Cmdline.parse(r.read('proc/cmdline'))
    except host_reader.HostFileError as e:
        return model.unknown_from(e)


def _cmdline_cpus(value, online, what):
    if value is None:
        return frozenset()
    if value.strip() == 'all':      # rcu_nocbs=all (5.x+)
        return online
    return cpuset.parse(value, what)


def _isolcpus(cmdline):
    """(flags, cpus) of isolcpus=; flags come first, each followed by a
    comma, as the kernel's housekeeping_isolcpus_setup() reads them.
    """
    value = cmdline.value('isolcpus')
    if not value:
        return frozenset(), frozenset()
    flags = []
    rest = value
    while rest[:1].isalpha():
        flag, sep, rest = rest.partition(',')
        flags.append(flag)
        if not sep:
            break
    return frozenset(flags), cpuset.parse(rest, 'isolcpus=')


def _cmdline_isolcpus(cmdline):
    """(flags, cpus, error) of isolcpus= on a command line; error is the
    Unknown that stands for every command-line value when it is set.
    """
    if not model.known(cmdline):
        return frozenset(), frozenset(), cmdline
    try:
        return _isolcpus(cmdline) + (None,)
    except exception.InvalidCPUSet as e:
        return frozenset(), frozenset(), model.Unknown(str(e))


def _isolated(r, flags, iso_cpus, cmd_error):
    """(isolated, evidence): only the isolcpus domain set, the complement
    of the HK_TYPE_DOMAIN housekeeping mask, never nohz_full.
    """
    try:
        return (host_reader.read_cpulist(r, host_reader.CPU_DIR + '/isolated'),
                '/sys/devices/system/cpu/isolated')
    except host_reader.HostFileError as e:
        if cmd_error:
            return cmd_error, str(e)
    # isolcpus= without flags means "domain"; with flags, only the ones
    # given (isolcpus=managed_irq,2-7 does not take 2-7 out of the
    # scheduler domains).
    domain = not flags or 'domain' in flags
    return (iso_cpus if domain else frozenset(),
            'isolcpus= on the command line')


def _cmdline_set(cmdline, name, online, cmd_error):
    """The CPUs of nohz_full= or rcu_nocbs=, or an Unknown."""
    if cmd_error:
        return cmd_error
    try:
        return _cmdline_cpus(cmdline.value(name), online, name + '=')
    except exception.InvalidCPUSet as e:
        return model.Unknown(str(e))


def _nohz_full(r, cmdline, online, flags, iso_cpus, cmd_error):
    try:
        return host_reader.read_cpulist(r, host_reader.CPU_DIR + '/nohz_full')
    except host_reader.HostFileError:
        pass
    # Absent without CONFIG_NO_HZ_FULL; the command line is the fallback.
    # isolcpus=nohz sets the same tick mask as nohz_full=.
    nohz = _cmdline_set(cmdline, 'nohz_full', online, cmd_error)
    if model.known(nohz) and 'nohz' in flags:
        nohz |= iso_cpus
    return nohz


def read_isolation(r, cmdline, online):
    """(flags, isolated, evidence, nohz_full, rcu_nocbs)."""
    flags, iso_cpus, cmd_error = _cmdline_isolcpus(cmdline)
    isolated, evidence = _isolated(r, flags, iso_cpus, cmd_error)
    nohz = _nohz_full(r, cmdline, online, flags, iso_cpus, cmd_error)
    nocbs = _cmdline_set(cmdline, 'rcu_nocbs', online, cmd_error)
    # rcu_init_nohz(): nohz_full CPUs are offloaded too.
    if model.known(nocbs) and model.known(nohz):
        nocbs |= nohz
    return flags, isolated, evidence, nohz, nocbs


def read_irq_affinity(r):
    try:
        names = r.listdir('proc/irq')
    except host_reader.HostFileError as e:
        return model.unknown_from(e)
    result = {}
    for name in names:
        if not host_reader.is_number(name):
            continue
        try:
            result[int(name)] = host_reader.read_cpulist(
                r, 'proc/irq/%s/smp_affinity_list' % name)
        except host_reader.HostFileError:
            # An IRQ freed between listdir and read, or a corrupt entry:
            # judge the others.
            continue
    return host_reader.freeze(sorted(result.items()))


def read_workqueue_cpus(r):
    rel = 'sys/devices/virtual/workqueue/cpumask'
    try:
        return host_reader.parse_mask(r.read_line(rel), rel)
    except host_reader.HostFileError as e:
        return model.unknown_from(e)


KVM_PARAMS = (
    ('kvm', 'kvmclock_periodic_sync'),
    ('kvm', 'halt_poll_ns'),
    ('kvm_intel', 'ple_gap'),
    ('kvm_amd', 'pause_filter_count'),
)


def read_kvm_params(r):
    if not r.is_dir('sys/module/kvm/parameters'):
        return model.Unknown('kvm module not loaded '
                             '(no /sys/module/kvm/parameters)')
    params = {}
    for module, name in KVM_PARAMS:
        try:
            params['%s.%s' % (module, name)] = r.read_line(
                'sys/module/%s/parameters/%s' % (module, name))
        except host_reader.HostFileError:
            continue
    return host_reader.freeze(params)
