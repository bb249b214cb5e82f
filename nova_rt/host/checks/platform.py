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
"""Platform checks: SMIs and L3 cache allocation."""

from nova_rt.host import checks
from nova_rt.host import model


@checks.check(
    'smi.count', critical=False, order=200,
    expected='no SMI while sampling',
    remediation=(
        'BIOS: disable what runs in SMM (legacy USB emulation, firmware '
        'power and thermal management: choose OS control, memory patrol '
        'scrub, error logging by firmware); load the msr module to sample'))
def check_smi(ctx):
    smi = ctx.profile.smi
    if not model.known(smi):
        return checks.Result(checks.UNKNOWN, str(smi))
    if smi.count:
        return checks.Result(
            checks.FAIL, '%d SMIs in %.2f s (MSR_SMI_COUNT, CPU %d)'
            % (smi.count, smi.interval, smi.cpu))
    return checks.Result(checks.PASS, 'no SMI in %.2f s' % smi.interval)


@checks.check(
    'cat.resctrl', critical=False, order=210,
    expected='resctrl mounted with L3 CAT (for rt:l3_cache_kib)',
    remediation=(
        'mount -t resctrl resctrl /sys/fs/resctrl (CONFIG_X86_CPU_RESCTRL; '
        'rdt=l3cat on the kernel command line if it is off)'))
def check_cat(ctx):
    p = ctx.profile
    cat = p.cat
    if model.known(cat):
        sizes = sorted(set(cat.l3_kib.values()))
        return checks.Result(
            checks.PASS, 'L3 CAT: %d ways, %d CLOSIDs, %d cache '
            'domain(s) of %s KiB' % (
                cat.ways, cat.num_closids, len(cat.l3_kib),
                '/'.join(map(str, sizes))))
    if model.known(p.cpu_flags) and 'cat_l3' in p.cpu_flags:
        return checks.Result(
            checks.WARN, 'the CPU has L3 CAT (cat_l3) but resctrl is not '
            'mounted: %s' % cat.reason)
    return checks.Result(checks.UNKNOWN, '%s; the CPU flags do not show cat_l3'
                         % cat.reason)
