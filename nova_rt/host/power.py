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
"""Clocks and power: the CPU's flags, the clocksource, frequency governors
and idle states.
"""

import struct

from nova_rt.host import model
from nova_rt.host import reader as host_reader


def read_cpuinfo(r):
    try:
        vendor = r.find_line('proc/cpuinfo', 'vendor_id')
        flags = r.find_line('proc/cpuinfo', 'flags')
    except host_reader.HostFileError as e:
        return model.unknown_from(e), model.unknown_from(e)
    vendor = vendor.partition(':')[2].strip() if vendor else model.Unknown(
        'no vendor_id in /proc/cpuinfo')
    flags = frozenset(flags.partition(':')[2].split()) if flags else \
        model.Unknown('no flags in /proc/cpuinfo')
    return vendor, flags


def read_clocksource(r):
    try:
        return r.read_line(
            'sys/devices/system/clocksource/clocksource0/current_clocksource')
    except host_reader.HostFileError as e:
        return model.unknown_from(e)


def read_governors(r, online):
    try:
        policies = [n for n in r.listdir(host_reader.CPU_DIR + '/cpufreq')
                    if n.startswith('policy')]
    except host_reader.HostFileError as e:
        return model.Unknown('no cpufreq driver (%s)' % e)
    if not policies:
        return model.Unknown('no cpufreq driver (no cpufreq policies)')
    result = {}
    for cpu in sorted(online):
        try:
            result[cpu] = r.read_line(
                '%s/cpu%d/cpufreq/scaling_governor' % (
                    host_reader.CPU_DIR, cpu))
        except host_reader.HostFileError:
            continue
    if not result:
        return model.Unknown('no readable scaling_governor')
    return host_reader.freeze(result)


def _qos_latency(r):
    """The PM QoS CPU latency limit (/dev/cpu_dma_latency), microseconds."""
    try:
        return struct.unpack('<i', r.read_bytes('dev/cpu_dma_latency')[:4])[0]
    except (host_reader.HostFileError, struct.error) as e:
        return model.Unknown(str(e))


def _idle_states(r, cpu):
    # The state table (names, exit latencies) is the driver's and the
    # same on every CPU; only "disable" is per CPU, so read the table once.
    base = '%s/cpu%d/cpuidle' % (host_reader.CPU_DIR, cpu)
    names = [n for n in r.listdir(base)
             if n.startswith('state') and host_reader.is_number(n[5:])]
    return tuple(model.IdleState(
        index=int(name[5:]),
        name=r.read_line('%s/%s/name' % (base, name)),
        latency_us=r.read_int('%s/%s/latency' % (base, name)))
        for name in sorted(names, key=lambda n: int(n[5:])))


def _disabled_states(r, online, states):
    """CPU -> indexes of its disabled states; CPUs whose flags cannot be
    read are left out (judged unknown).
    """
    disabled = {}
    for cpu in sorted(online):
        try:
            disabled[cpu] = frozenset(
                state.index for state in states
                if r.read_line('%s/cpu%d/cpuidle/state%d/disable' % (
                    host_reader.CPU_DIR, cpu, state.index)) != '0')
        except host_reader.HostFileError:
            continue
    return host_reader.freeze(disabled)


def read_cpuidle(r, online, cmdline):
    try:
        driver = r.read_line(host_reader.CPU_DIR + '/cpuidle/current_driver')
    except host_reader.HostFileError as e:
        return model.unknown_from(e)
    qos = _qos_latency(r)
    if driver == 'none' or not online:
        return model.IdleInfo(driver, (), host_reader.freeze({}), qos)
    try:
        states = _idle_states(r, min(online))
    except (host_reader.HostFileError, ValueError) as e:
        return model.unknown_from(e)
    return model.IdleInfo(
        driver, states, _disabled_states(r, online, states), qos)
