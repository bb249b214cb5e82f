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
"""The extra specs of a new real-time flavor, every key it needs, checked
by the request model (``nova_rt.core.request``) before anything is created:
``openstack realtime flavor create``'s core.
"""

from nova_rt.core import exception
from nova_rt.core import request as rt_request
from nova_rt.scheduler import prefilter

# vCPU 0 keeps the guest's housekeeping (and Nova's emulator threads),
# the others are real-time: what most real-time flavors want.
DEFAULT_MASK = '^0'


def _merge(specs, key, value):
    if key in specs and specs[key] != value:
        raise exception.InvalidRealtimeRequest(
            key, 'given twice, as %r and as %r' % (specs[key], value))
    specs[key] = value


def extra_specs(vcpus, realtime_mask=None, vcpu_scheduler=None,
                vcpu_priority=None, emulator_threads_policy=None,
                properties=None, policy=None, traits=True):
    """``(extra specs, RealtimeRequest)`` of a new real-time flavor.

    :param realtime_mask: ``hw:cpu_realtime_mask``; default ``^0`` for a
        flavor of two vCPUs or more, none for one vCPU
    :param properties: more extra specs, as given (may not contradict the
        others)
    :param traits: require the placement traits
        (``nova_rt.scheduler.prefilter.required_traits``); false for lab
        clouds, whose hosts never publish the ready trait
    :raises: InvalidRealtimeRequest naming the keys at fault
    """
    properties = dict(properties or {})
    if (realtime_mask is None and vcpus > 1 and
            'hw:cpu_realtime_mask' not in properties):
        realtime_mask = DEFAULT_MASK
    specs = {'hw:cpu_policy': 'dedicated', 'hw:cpu_realtime': 'yes'}
    for key, value in (('hw:cpu_realtime_mask', realtime_mask),
                       ('rt:vcpu_scheduler', vcpu_scheduler),
                       ('rt:vcpu_priority', vcpu_priority),
                       ('hw:emulator_threads_policy',
                        emulator_threads_policy)):
        if value is not None:
            specs[key] = str(value)
    for key, value in sorted(properties.items()):
        _merge(specs, key, value)
    request = rt_request.build_request(vcpus, specs, {}, policy)
    if traits:
        for key, value in sorted(
                prefilter.required_traits(request).items()):
            _merge(specs, key, value)
    return specs, request
