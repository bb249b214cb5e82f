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
"""Live migration from this host: nova.conf's ``[libvirt]`` settings that
would harm a real-time guest on its way out (the rule is
``nova_rt.core.migration``).

Not critical: the settings never touch a guest running here, and the
driver refuses the migrations they would harm, so the host stays ready and
the warning says what an operator will meet.
"""

from nova_rt.core import migration as rt_migration
from nova_rt.host import checks


@checks.check(
    'nova.live_migration', critical=False, order=220,
    expected=(
        '[libvirt] live_migration_permit_auto_converge = False, '
        'live_migration_permit_post_copy = False, '
        'live_migration_timeout_action = abort'),
    remediation=(
        'in nova.conf [libvirt] leave live_migration_permit_auto_converge '
        'and live_migration_permit_post_copy False and '
        'live_migration_timeout_action abort (the defaults), then restart '
        'nova-compute'))
def check_live_migration(ctx):
    settings = ctx.migration
    if settings is None:
        return checks.Result(
            checks.UNKNOWN, 'the [libvirt] live migration settings were not '
            'given to the audit')
    found = rt_migration.hazards(settings)
    if not found:
        return checks.Result(checks.PASS, settings.describe())
    observed = '; '.join(str(h) for h in found)
    if any(h.action == rt_migration.REFUSE for h in found):
        observed += ': nova-rt refuses to live-migrate real-time instances ' \
            'from this host'
    return checks.Result(checks.WARN, observed)
