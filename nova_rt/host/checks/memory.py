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
"""Memory checks: THP, swap, KSM, reserved huge pages."""

from nova_rt.host import checks
from nova_rt.host import model


@checks.check(
    'mm.thp', critical=False, order=160,
    expected='transparent_hugepage madvise or never',
    remediation=(
        'transparent_hugepage=never on the kernel command line (now: echo '
        'never > /sys/kernel/mm/transparent_hugepage/enabled)'))
def check_thp(ctx):
    thp = ctx.profile.thp
    if not model.known(thp):
        return checks.Result(checks.UNKNOWN, str(thp))
    if thp == 'always':
        return checks.Result(
            checks.WARN, 'transparent_hugepage = always: khugepaged '
            'compaction and THP faults on the host')
    return checks.Result(checks.PASS, 'transparent_hugepage = %s' % thp)


@checks.check(
    'mm.swap', critical=False, order=170,
    expected='no swap',
    remediation='swapoff -a and remove swap from /etc/fstab')
def check_swap(ctx):
    swaps = ctx.profile.swaps
    if not model.known(swaps):
        return checks.Result(checks.UNKNOWN, str(swaps))
    if swaps:
        return checks.Result(checks.WARN, 'swap on: %s' % checks.few(swaps))
    return checks.Result(checks.PASS, 'no swap')


@checks.check(
    'mm.ksm', critical=False, order=180,
    expected='KSM off',
    remediation=(
        'echo 0 > /sys/kernel/mm/ksm/run; systemctl disable --now ksm '
        'ksmtuned'))
def check_ksm(ctx):
    run = ctx.profile.ksm_run
    if not model.known(run):
        return checks.Result(checks.UNKNOWN, str(run))
    if run == 1:
        return checks.Result(
            checks.WARN, 'ksmd is merging pages (ksm/run = 1)')
    return checks.Result(checks.PASS, 'ksm/run = %d' % run)


@checks.check(
    'mm.hugepages', critical=False, order=190,
    expected='huge pages reserved on every NUMA node with dedicated CPUs',
    remediation=(
        'default_hugepagesz=1G hugepagesz=1G hugepages=<N> on the kernel '
        'command line (or per node: echo <N> > /sys/devices/system/node/'
        'node<X>/hugepages/hugepages-1048576kB/nr_hugepages); flavors set '
        'hw:mem_page_size'))
def check_hugepages(ctx):
    p = ctx.profile
    if not model.known(p.hugepages):
        return checks.Result(checks.UNKNOWN, str(p.hugepages))
    nodes = sorted({p.node_of(c) for c in ctx.judged} - {None})
    if not nodes:
        # Found by the damaged-tree test: nothing to judge must not pass
        # silently with an empty observation.
        return checks.Result(
            checks.UNKNOWN, 'no dedicated CPU on a known NUMA node')
    without = [n for n in nodes
               if not any(p.hugepages.get(n, {}).values())]
    counts = '; '.join('node %d: %s' % (n, ', '.join(
        '%d x %d kB' % (count, size) for size, count in sorted(
            p.hugepages.get(n, {}).items()) if count) or 'none')
        for n in nodes)
    if without:
        return checks.Result(
            checks.WARN, 'no huge pages on node(s) %s (%s)' % (
            ', '.join(map(str, without)), counts))
    return checks.Result(checks.PASS, counts)
