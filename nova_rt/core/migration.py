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
"""Live migration and real time: which of nova's ``[libvirt]`` live
migration settings a real-time guest cannot live with.

The one rule, used by the compute driver (which refuses to live-migrate a
real-time instance from a host that permits what would break its
deadlines), by ``nova-rt host check`` (``nova.live_migration``) and by
``nova-rt status upgrade check``. The source host's settings decide: its
libvirt drives the migration with the flags its nova-compute derived from
them. Standard library only.
"""

import dataclasses

from nova_rt.core import exception

# live_migration_timeout_action, as nova defines it.
TIMEOUT_ACTIONS = ('abort', 'force_complete')

# What nova-rt does about a setting.
REFUSE = 'refuse'       # the driver refuses to live-migrate real-time guests
WARN = 'warn'           # allowed; the checks warn

AUTO_CONVERGE = 'live_migration_permit_auto_converge'
POST_COPY = 'live_migration_permit_post_copy'
TIMEOUT_ACTION = 'live_migration_timeout_action'


# Why a real-time instance does not live-migrate to a destination that did
# not take part in a NUMA-aware live migration: only then does the source
# learn the destination's pins (Nova's ``dst_numa_info``), from which
# nova-rt re-derives the guest's real-time elements there. Without them
# Nova would hand the destination the source's XML with its own host-wide
# FIFO priority.
NOT_NUMA_AWARE = ('%s did not claim its CPUs for it (no NUMA-aware live '
                  'migration: a nova-compute too old for it, or an RPC '
                  'version pinned below it), so its real-time pins and '
                  'priorities cannot be derived there')


def destination_refusal(numa_aware, dest=None):
    """Why a real-time instance cannot live-migrate to ``dest`` (a host
    name, when known), or None when the destination claimed its CPUs for
    it (``numa_aware``).
    """
    if numa_aware:
        return None
    return NOT_NUMA_AWARE % ('the destination %s' % dest if dest
                             else 'the destination')


class InvalidMigrationSettings(exception.NovaRTError):
    msg_fmt = '[libvirt] %(option)s: %(value)r is not valid: %(reason)s'


@dataclasses.dataclass(frozen=True)
class MigrationSettings:
    """The ``[libvirt]`` live migration settings of one host, as nova
    reads them (nova's defaults when nothing is set).
    """

    permit_auto_converge: bool = False
    permit_post_copy: bool = False
    timeout_action: str = 'abort'

    def __post_init__(self):
        for option, value in ((AUTO_CONVERGE, self.permit_auto_converge),
                              (POST_COPY, self.permit_post_copy)):
            if not isinstance(value, bool):
                raise InvalidMigrationSettings(
                    option=option, value=exception.shortened(value),
                    reason='not a boolean')
        if self.timeout_action not in TIMEOUT_ACTIONS:
            raise InvalidMigrationSettings(
                option=TIMEOUT_ACTION,
                value=exception.shortened(self.timeout_action),
                reason='not one of %s' % ', '.join(TIMEOUT_ACTIONS))

    def describe(self):
        """The settings, one ``option = value`` each."""
        return '%s = %s, %s = %s, %s = %s' % (
            AUTO_CONVERGE, self.permit_auto_converge,
            POST_COPY, self.permit_post_copy,
            TIMEOUT_ACTION, self.timeout_action)


@dataclasses.dataclass(frozen=True)
class Hazard:
    """A setting that harms a real-time guest during a live migration."""

    option: str
    value: str
    action: str         # REFUSE or WARN
    effect: str

    def __str__(self):
        return '[libvirt] %s = %s: %s' % (self.option, self.value,
                                          self.effect)


def hazards(settings):
    """What ``settings`` would do to a real-time guest migrated from this
    host, most serious first.

    Auto-converge and post-copy are refused: both harm the guest for as
    long as the migration lasts, without bound. ``force_complete`` is a
    warning: it pauses the guest once, after the completion timeout (with
    post-copy refused, pausing is all nova can do to complete), and only
    for the remaining copy.
    """
    found = []
    if settings.permit_post_copy:
        found.append(Hazard(
            POST_COPY, 'True', REFUSE,
            'post-copy runs the guest on the destination before its memory '
            'is there: every access to a page not yet copied waits for the '
            'network, and a failure of either host or of the link in that '
            'phase can lose the guest'))
    if settings.permit_auto_converge:
        found.append(Hazard(
            AUTO_CONVERGE, 'True', REFUSE,
            'auto-converge throttles the guest\'s vCPUs (QEMU takes from '
            '20 % up to 99 % of their time) for as long as its memory '
            'does not converge'))
    if settings.timeout_action == 'force_complete':
        found.append(Hazard(
            TIMEOUT_ACTION, 'force_complete', WARN,
            'at live_migration_completion_timeout nova pauses the guest '
            'until the rest of its memory is copied; with abort the guest '
            'keeps running on the source'))
    return tuple(found)


def refusal(settings):
    """Why a real-time guest must not be live-migrated from a host with
    ``settings``, or None when it may.
    """
    refused = [h for h in hazards(settings) if h.action == REFUSE]
    if not refused:
        return None
    return '; '.join(str(h) for h in refused)
