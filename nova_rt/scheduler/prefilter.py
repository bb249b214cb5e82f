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
"""Placement's first cut: real-time flavors ask for the ready trait.

Every ready compute carries ``CUSTOM_NOVA_RT_READY`` in placement (a lab
compute ``CUSTOM_NOVA_RT_LAB``). A real-time flavor that also asks
placement for it (``trait:CUSTOM_NOVA_RT_READY=required``) gets allocation
candidates only from those hosts, so the scheduler loads and filters a few
hosts instead of the whole fleet. RealtimeFilter still judges each of them:
the trait says "ready", not "fits".

This is the one rule; ``nova-rt flavor explain``, the scheduler's warning,
``openstack realtime flavor create`` and devstack's example flavor use it.
"""

import dataclasses

from nova_rt.core import request as rt_request
from nova_rt.host import facts as host_facts

REQUIRED = 'required'
ASKED = 'asked'
MISSING = 'missing'
CONFLICT = 'conflict'
NOT_REALTIME = 'not_realtime'


def required_trait(lab_mode=False):
    """The trait real-time flavors require: the lab one in lab mode."""
    return host_facts.TRAIT_LAB if lab_mode else host_facts.TRAIT_READY


def trait_key(trait):
    """The flavor extra spec that makes placement require ``trait``."""
    return 'trait:%s' % trait


def trait_spec(lab_mode=False):
    """{extra spec: value} to add to a real-time flavor."""
    return {trait_key(required_trait(lab_mode)): REQUIRED}


def required_traits(request, lab_mode=False):
    """{extra spec: 'required'} for every nova-rt trait a flavor of
    ``request`` (a RealtimeRequest) should require: the ready trait (the
    lab one in lab mode), and the traits mirroring the facts it asks for,
    ``CUSTOM_NOVA_RT_PREEMPT_RT`` for ``rt:host_kernel=preempt_rt`` and
    ``CUSTOM_NOVA_RT_CAT`` for ``rt:l3_cache_kib``. The published traits
    mirror the facts RealtimeFilter judges (``host.facts.to_traits``).
    """
    traits = [required_trait(lab_mode)]
    if request.host_kernel == 'preempt_rt':
        traits.append(host_facts.TRAIT_PREEMPT_RT)
    if request.l3_cache_kib:
        traits.append(host_facts.TRAIT_CAT)
    return {trait_key(trait): REQUIRED for trait in traits}


@dataclasses.dataclass(frozen=True)
class PlacementCut:
    """What a flavor asks placement about nova-rt's traits."""

    trait: str
    state: str
    message: str

    @property
    def asked(self):
        return self.state == ASKED

    def to_dict(self):
        return {'trait': self.trait, 'state': self.state,
                'asked': self.asked, 'message': self.message}


def _required_traits(extra_specs, value):
    prefix = 'trait:'
    return {key[len(prefix):] for key, v in extra_specs.items()
            if key.startswith(prefix) and str(v).strip().lower() == value}


def placement_cut(extra_specs, lab_mode=False):
    """Flavor extra specs -> PlacementCut; never raises.

    ``lab_mode`` is the deciding side's ``[nova_rt] lab_mode``: a lab
    scheduler places real-time flavors on lab hosts, which carry
    ``CUSTOM_NOVA_RT_LAB`` and never ``CUSTOM_NOVA_RT_READY``.
    """
    trait = required_trait(lab_mode)
    key = trait_key(trait)
    if not rt_request.is_realtime(extra_specs):
        return PlacementCut(trait, NOT_REALTIME,
                            'not real-time: no trait needed')
    required = _required_traits(extra_specs, REQUIRED)
    forbidden = _required_traits(extra_specs, 'forbidden')
    other = required & {host_facts.TRAIT_READY, host_facts.TRAIT_LAB}
    other.discard(trait)
    if trait in forbidden:
        return PlacementCut(trait, CONFLICT, (
            '%s=forbidden: placement offers no host this flavor can use'
            % key))
    if other:
        return PlacementCut(trait, CONFLICT, (
            '%s=required: %s hosts never carry it, so placement offers '
            'none (use %s=required)' % (
                trait_key(sorted(other)[0]),
                'lab' if lab_mode else 'production', key)))
    if trait in required:
        return PlacementCut(trait, ASKED, (
            '%s=required: placement offers only %s hosts' % (
                key, 'lab' if lab_mode else 'ready')))
    return PlacementCut(trait, MISSING, (
        'add %s=required: placement then offers only %s hosts and the '
        'scheduler skips the rest of the fleet' % (
            key, 'lab' if lab_mode else 'ready')))
