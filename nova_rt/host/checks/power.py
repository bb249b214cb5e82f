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
"""Clock and power checks: the TSC clocksource, frequency governors and
idle states.
"""

from nova_rt.core import cpuset
from nova_rt.host import checks
from nova_rt.host import model


# An idle state whose exit takes longer than this is "deep": C1E exits in
# about 10 us, C3/C6 in 40-130 us on current Xeon and EPYC.
MAX_IDLE_EXIT_LATENCY_US = 10


@checks.check(
    'clock.tsc', critical=True, order=130,
    expected='clocksource tsc with constant_tsc and nonstop_tsc',
    remediation=(
        'echo tsc > /sys/devices/system/clocksource/clocksource0/'
        'current_clocksource, and clocksource=tsc tsc=reliable on the '
        'kernel command line'))
def check_tsc(ctx):
    p = ctx.profile
    if not model.known(p.clocksource):
        return checks.Result(checks.UNKNOWN, str(p.clocksource))
    if not model.known(p.cpu_flags):
        if p.clocksource != 'tsc':
            # Wrong whatever the CPU can do.
            return checks.Result(
                checks.FAIL, 'clocksource %s (CPU flags unknown: %s)'
                % (p.clocksource, p.cpu_flags))
        return checks.Result(checks.UNKNOWN, str(p.cpu_flags))
    missing = {'constant_tsc', 'nonstop_tsc'} - p.cpu_flags
    if missing:
        return checks.Result(checks.FAIL, 'clocksource %s; CPU lacks %s' % (
            p.clocksource, ', '.join(sorted(missing))),
            remediation='a CPU with an invariant TSC (constant_tsc, '
            'nonstop_tsc); in the BIOS, disable options that stop the TSC '
            'in deep C-states')
    if p.clocksource != 'tsc':
        return checks.Result(
            checks.FAIL, 'clocksource %s with an invariant TSC '
            '(the watchdog may have marked the TSC unstable)'
            % p.clocksource)
    return checks.Result(
        checks.PASS, 'clocksource tsc, constant_tsc and nonstop_tsc')


@checks.check(
    'cpufreq.governor', critical=False, order=140,
    expected='governor performance on the dedicated CPUs')
def check_governor(ctx):
    govs = ctx.profile.governors
    if not model.known(govs):
        return checks.Result(checks.UNKNOWN, str(govs))
    judged = [c for c in sorted(ctx.judged) if c in govs]
    if not judged:
        return checks.Result(
            checks.UNKNOWN, 'no scaling_governor for the judged CPUs')
    slow = [c for c in judged if govs[c] != 'performance']
    if slow:
        names = sorted({govs[c] for c in slow})
        return checks.Result(checks.WARN, 'CPUs %s use %s%s' % (
            cpuset.format(slow), '/'.join(names), ctx.judged_note),
            remediation='cpupower -c %s frequency-set -g performance (tuned: '
            'governor=performance); BIOS power profile: maximum performance'
            % cpuset.format(slow))
    return checks.Result(checks.PASS, 'performance on %s%s'
                         % (cpuset.format(judged), ctx.judged_note))


def _deep_states(idle):
    """The states slower than MAX_IDLE_EXIT_LATENCY_US that the PM QoS
    limit (when known) still lets the CPUs enter.
    """
    qos = idle.qos_latency_us if model.known(idle.qos_latency_us) else None
    return [s for s in idle.states
            if s.latency_us > MAX_IDLE_EXIT_LATENCY_US
            and (qos is None or s.latency_us <= qos)]


def _deep_enabled(idle, deep, judged):
    """state name -> the judged CPUs where it is enabled."""
    bad = {}
    for cpu in judged:
        for state in deep:
            if state.index not in idle.disabled[cpu]:
                bad.setdefault(state.name, set()).add(cpu)
    return bad


def _idle_why(idle):
    why = 'driver %s' % idle.driver
    qos = idle.qos_latency_us if model.known(idle.qos_latency_us) else None
    if qos is not None and any(s.latency_us > qos for s in idle.states):
        why += ', PM QoS limit %d us' % qos
    return why


def _cstates_warning(ctx, deep, bad):
    latency = {}
    for state in deep:
        latency.setdefault(state.name, state.latency_us)
    return checks.Result(
        checks.WARN, 'enabled with exit latency > %d us: %s%s' % (
        MAX_IDLE_EXIT_LATENCY_US, '; '.join(
            '%s (%d us) on %s' % (name, latency[name], cpuset.format(cpus))
            for name, cpus in sorted(bad.items())),
        ctx.judged_note),
        remediation='cpupower -c %s idle-set -D %d (or tuned '
        'force_latency), or processor.max_cstate=1 '
        'intel_idle.max_cstate=0; BIOS: limit C-states to C1'
        % (cpuset.format(set().union(*bad.values(
            ))), MAX_IDLE_EXIT_LATENCY_US))


@checks.check(
    'cpuidle.cstates', critical=False, order=150,
    expected=(
        'no C-state with exit latency above %d us enabled on the '
        'dedicated CPUs' % MAX_IDLE_EXIT_LATENCY_US))
def check_cstates(ctx):
    p = ctx.profile
    if model.known(p.cmdline) and p.cmdline.value('idle') == 'poll':
        return checks.Result(
            checks.PASS, 'idle=poll: the CPUs never enter C-states')
    idle = p.cpuidle
    if not model.known(idle):
        return checks.Result(checks.UNKNOWN, str(idle))
    if idle.driver == 'none' or not idle.states:
        return checks.Result(
            checks.PASS, 'no cpuidle driver: idle is HLT (C1) only')
    deep = _deep_states(idle)
    judged = [c for c in sorted(ctx.judged) if c in idle.disabled]
    if not judged:
        return checks.Result(
            checks.UNKNOWN, 'cpuidle state of the judged CPUs unreadable')
    bad = _deep_enabled(idle, deep, judged)
    if bad:
        return _cstates_warning(ctx, deep, bad)
    return checks.Result(
        checks.PASS, 'no state slower than %d us enabled on %s (%s)%s'
        % (MAX_IDLE_EXIT_LATENCY_US, cpuset.format(judged), _idle_why(idle),
           ctx.judged_note))
