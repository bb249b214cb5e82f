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
"""Topology: online CPUs, NUMA nodes, SMT siblings."""


from nova_rt.core import cpuset
from nova_rt.host import model
from nova_rt.host import reader as host_reader


def read_online_cpus(r):
    try:
        return host_reader.read_cpulist(r, host_reader.CPU_DIR + '/online')
    except host_reader.HostFileError:
        pass
    # Fallback: the cpuN directories (they include offline CPUs, but a
    # kernel without /sys/devices/system/cpu/online is too old to care).
    try:
        return frozenset(int(n[3:]) for n in r.listdir(host_reader.CPU_DIR)
                         if n.startswith('cpu')
                         and host_reader.is_number(n[3:])
                         and int(n[3:]) <= cpuset.MAX_CPU)
    except host_reader.HostFileError:
        return frozenset()


def read_numa_nodes(r, online):
    try:
        names = r.listdir(host_reader.NODE_DIR)
    except host_reader.HostFileError:
        # No /sys/devices/system/node: a kernel built without CONFIG_NUMA.
        return host_reader.freeze(
            {0: online}) if online else host_reader.freeze({})
    nodes = {}
    for name in names:
        if not (name.startswith('node')
                and host_reader.is_number(name[4:])):
            continue
        try:
            cpus = host_reader.read_cpulist(
    r, '%s/%s/cpulist' %
     (host_reader.NODE_DIR, name))
        except host_reader.HostFileError:
            continue
        # Memory-only nodes (CXL, HBM) have an empty cpulist: skip them.
        if cpus & online:
            nodes[int(name[4:])] = frozenset(cpus & online)
    if not nodes and online:
        nodes = {0: online}
    return host_reader.freeze(sorted(nodes.items()))


def read_smt_siblings(r, online):
    if not online:
        return model.Unknown('online CPUs unreadable')
    groups, seen = [], set()
    for cpu in sorted(online):
        if cpu in seen:
            continue
        try:
            sib = host_reader.read_cpulist(
                r, '%s/cpu%d/topology/thread_siblings_list' % (
                    host_reader.CPU_DIR, cpu))
        except host_reader.HostFileError as e:
            return model.unknown_from(e)
        group = frozenset((sib & online) | {cpu})
        groups.append(group)
        seen |= group
    return tuple(groups)
