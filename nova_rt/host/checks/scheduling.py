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
"""Kernel and real-time scheduling checks: the preemption model, the
essential kernel threads, RT throttling, the cgroup RT budget, kvmclock.
"""

from nova_rt.core import priority as rt_priority
from nova_rt.host import checks
from nova_rt.host import model


@checks.check(
    'kernel.preempt_rt', critical=False, order=10,
    expected='a PREEMPT_RT kernel',
    remediation=(
        'boot a PREEMPT_RT kernel (kernel-rt on RHEL and CentOS Stream, '
        'linux-image-rt-amd64 on Debian, linux-realtime on Ubuntu Pro; '
        'CONFIG_PREEMPT_RT=y in mainline since 6.12)'))
def check_kernel(ctx):
    p = ctx.profile
    if not model.known(p.kernel_evidence):
        return checks.Result(checks.UNKNOWN, str(p.kernel_evidence))
    observed = '%s (%s)' % (p.kernel, p.kernel_evidence)
    if p.kernel == model.KERNEL_PREEMPT_RT:
        return checks.Result(checks.PASS, observed)
    if p.kernel == model.KERNEL_PREEMPT:
        return checks.Result(checks.WARN, observed)
    return checks.Result(checks.FAIL, observed)


def _kthread_remedy(vcpu_priority):
    return ('run them SCHED_FIFO above the vCPUs: tuned [scheduler] '
            'group.ksoftirqd=0:f:%(p)d:*:^\\[ksoftirqd (and ktimers, rcuc), '
            'rcutree.kthread_prio=%(p)d on the kernel command line'
            % {'p': rt_priority.kthread_priority_above(vcpu_priority)})


def _kthreads_below(bound, vcpu_priority):
    """What is wrong with the kernel threads bound to the dedicated CPUs,
    or None: each must stay above the vCPUs (nova_rt.core.priority).
    """
    starved = [t for t in bound if not t.is_rt]
    if starved:
        return '%d not real-time, could starve under a SCHED_FIFO vCPU: %s' % (
            len(starved),
            checks.few('%s %s' % (t.name, t.policy_name) for t in starved))
    low = [t for t in bound if not rt_priority.below_kthreads(
        vcpu_priority, rt_priority.effective_priority(t))]
    if low:
        return '%d at or below the vCPU priority %d: %s' % (
            len(low), vcpu_priority, checks.few(
                '%s %s %d' % (t.name, t.policy_name, t.priority)
                for t in low))
    return None


@checks.check(
    'kthread.priority', critical=True, order=90,
    expected=(
        'ksoftirqd, ktimers and rcuc of dedicated CPUs SCHED_FIFO above '
        'the vCPU priority'))
def check_kthreads(ctx):
    p = ctx.profile
    unjudged = checks.unjudged(p.kthreads, ctx.dedicated)
    if unjudged:
        return unjudged
    bound = [t for t in p.kthreads if t.cpu in ctx.dedicated]
    if not bound:
        return checks.Result(
            checks.UNKNOWN, 'no ksoftirqd/ktimers/rcuc thread bound to '
            'the dedicated CPUs was found')
    failed = _kthreads_below(bound, ctx.vcpu_priority)
    if failed:
        return checks.Result(checks.FAIL, failed,
                             remediation=_kthread_remedy(ctx.vcpu_priority))
    lowest = min(bound, key=lambda t: t.priority)
    return checks.Result(
        checks.PASS, 'lowest is %s %s %d, above the vCPU priority %d'
        % (lowest.name, lowest.policy_name, lowest.priority,
           ctx.vcpu_priority))


@checks.check(
    'sched.rt_runtime', critical=True, order=100,
    expected='kernel.sched_rt_runtime_us = -1',
    remediation=(
        'sysctl -w kernel.sched_rt_runtime_us=-1, persisted in '
        '/etc/sysctl.d/ (tuned realtime-virtual-host sets it)'))
def check_rt_runtime(ctx):
    value, period = ctx.profile.sched_rt_runtime_us, \
        ctx.profile.sched_rt_period_us
    if not model.known(value):
        return checks.Result(checks.UNKNOWN, str(value))
    if value < 0:
        return checks.Result(
            checks.PASS, 'kernel.sched_rt_runtime_us = -1 (no RT '
            'throttling)')
    if model.known(period) and period > value:
        return checks.Result(
            checks.FAIL, 'kernel.sched_rt_runtime_us = %d of %d: a busy '
            'SCHED_FIFO vCPU is stopped %d ms every %d ms' % (
                value, period, (period - value) // 1000,
                period // 1000))
    return checks.Result(
        checks.FAIL, 'kernel.sched_rt_runtime_us = %d (RT throttling on)'
        % value)


@checks.check(
    'cgroup.rt_runtime', critical=True, order=110,
    expected='SCHED_FIFO allowed in libvirt\'s vCPU cgroups',
    remediation=(
        'in /etc/libvirt/qemu.conf set cgroup_controllers = [ "devices", '
        '"memory", "blkio", "cpuset", "cpuacct" ] (no "cpu") and restart '
        'libvirtd, or kernel.sched_rt_runtime_us=-1, or a kernel without '
        'CONFIG_RT_GROUP_SCHED'))
def check_cgroup_rt(ctx):
    cg = ctx.profile.cgroup
    runtime = ctx.profile.sched_rt_runtime_us
    # sched_setscheduler() checks the group budget only while RT bandwidth
    # is enforced (rt_bandwidth_enabled()): with sched_rt_runtime_us = -1
    # the budget is irrelevant, whatever the cgroups are or could not be
    # read.
    unthrottled = model.known(runtime) and runtime < 0
    if model.known(cg) and cg.rt_group_sched is False:
        return checks.Result(checks.PASS, 'no RT group scheduling (%s, %s)'
                             % (cg.version, cg.evidence))
    if not (model.known(cg) and model.known(cg.rt_group_sched)):
        unknown = cg if not model.known(cg) else cg.rt_group_sched
        if unthrottled:
            return checks.Result(
                checks.PASS, 'RT group scheduling unknown (%s), but '
                'sched_rt_runtime_us = -1 turns the budget check off'
                % unknown)
        return checks.Result(checks.UNKNOWN, str(unknown))
    observed = 'RT group scheduling on (%s)' % cg.evidence
    if cg.machine_rt_runtime_us is not None:
        observed += ', machine slice cpu.rt_runtime_us = %d' % (
            cg.machine_rt_runtime_us)
    controllers = cg.libvirt_controllers
    if model.known(controllers) and controllers is not None \
            and 'cpu' not in controllers:
        return checks.Result(
            checks.PASS, observed + '; qemu.conf cgroup_controllers '
            'leaves out "cpu"')
    if unthrottled:
        return checks.Result(
            checks.PASS, observed + '; sched_rt_runtime_us = -1 turns '
            'the budget check off')
    return checks.Result(
        checks.FAIL, observed + ': libvirt\'s new vCPU cgroups get '
        'cpu.rt_runtime_us = 0 and SCHED_FIFO fails with EPERM')


@checks.check(
    'kvm.kvmclock_periodic_sync', critical=False, order=120,
    expected='kvm kvmclock_periodic_sync = N',
    remediation=(
        'options kvm kvmclock_periodic_sync=0 in '
        '/etc/modprobe.d/nova-rt.conf, then reload kvm or reboot'))
def check_kvmclock(ctx):
    params = ctx.profile.kvm_params
    if not model.known(params):
        return checks.Result(checks.UNKNOWN, str(params))
    value = params.get('kvm.kvmclock_periodic_sync')
    if value is None:
        return checks.Result(
            checks.UNKNOWN, 'kvm has no readable kvmclock_periodic_sync '
            'parameter')
    if value in ('N', 'n', '0'):
        return checks.Result(
            checks.PASS, 'kvmclock_periodic_sync = %s' % value)
    return checks.Result(
        checks.WARN, 'kvmclock_periodic_sync = %s: every vCPU gets a '
        'clock update each 300 s' % value)
