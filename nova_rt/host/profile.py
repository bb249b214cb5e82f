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
"""A compute host's real-time profile, read once, judged elsewhere.

``read_profile(root)`` reads what the kernel exposes under /sys, /proc, /dev
and /etc (through ``HostReader``) into a ``nova_rt.host.model.HostProfile``,
one subsystem module at a time. It never judges: the checks in
``nova_rt.host.checks`` are small functions of the profile.
"""

import time

from nova_rt.host import kernel as host_kernel
from nova_rt.host import memory
from nova_rt.host import model
from nova_rt.host import power
from nova_rt.host import reader as host_reader
from nova_rt.host import resctrl
from nova_rt.host import scheduling
from nova_rt.host import smi
from nova_rt.host import topology


def read_profile(root='/', smi_interval=0.0, reader=None, sleep=time.sleep):
    """Read the real-time profile of the host whose ``/`` is ``root``.

    :param smi_interval: seconds between the two reads of MSR_SMI_COUNT;
        0 skips the sampling (``smi`` is then Unknown)
    :param reader: a ``HostReader`` to use instead of one on ``root``
    :param sleep: the sleep used for SMI sampling (the tests inject theirs)
    """
    r = reader if reader is not None else host_reader.HostReader(root)
    online = topology.read_online_cpus(r)
    nodes = topology.read_numa_nodes(r, online)
    cmdline = host_kernel.read_cmdline(r)
    kind, kind_evidence = host_kernel.read_kernel(r, cmdline)
    flags, isolated, iso_evidence, nohz, nocbs = host_kernel.read_isolation(
        r, cmdline, online)
    vendor, cpu_flags = power.read_cpuinfo(r)
    return model.HostProfile(
        root=r.root,
        online_cpus=online,
        numa_nodes=nodes,
        smt_siblings=topology.read_smt_siblings(r, online),
        kernel=kind,
        kernel_evidence=kind_evidence,
        cmdline=cmdline,
        isolcpus_flags=flags,
        isolated_cpus=isolated,
        isolated_evidence=iso_evidence,
        nohz_full_cpus=nohz,
        rcu_nocbs_cpus=nocbs,
        irq_affinity=host_kernel.read_irq_affinity(r),
        workqueue_cpus=host_kernel.read_workqueue_cpus(r),
        kvm_params=host_kernel.read_kvm_params(r),
        sched_rt_runtime_us=scheduling.read_sysctl_int(
            r, 'sched_rt_runtime_us'),
        sched_rt_period_us=scheduling.read_sysctl_int(
            r, 'sched_rt_period_us'),
        cgroup=scheduling.read_cgroup(r),
        kthreads=scheduling.read_kthreads(r),
        clocksource=power.read_clocksource(r),
        cpu_vendor=vendor,
        cpu_flags=cpu_flags,
        governors=power.read_governors(r, online),
        cpuidle=power.read_cpuidle(r, online, cmdline),
        thp=memory.read_thp(r),
        ksm_run=memory.read_ksm(r),
        swaps=memory.read_swaps(r),
        hugepages=memory.read_hugepages(r, nodes),
        cat=resctrl.read_cat(r, online),
        smi=smi.read_smi(r, online, smi_interval, sleep),
    )
