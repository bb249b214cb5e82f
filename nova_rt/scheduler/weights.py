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
"""RealtimeWeigher: pack real-time instances onto isolated cores.

The raw weight of a host is the share of its isolated CPUs already in use
(0 for hosts that are not ready and for non-real-time requests). With the
default positive multiplier the scheduler *stacks*: it fills the fullest
host that still fits, keeping whole hosts and NUMA cells free for large
flavors, since fragmentation is what strands isolated cores in a fleet. A
negative multiplier spreads. ``[nova_rt] realtime_weight_multiplier`` sets
it; the aggregate metadata key ``realtime_weight_multiplier`` overrides it.
"""

from nova.scheduler import utils
from nova.scheduler import weights

from nova_rt import scheduler


class RealtimeWeigher(weights.BaseHostWeigher):
    minval = 0.0
    maxval = 1.0

    def weight_multiplier(self, host_state):
        return utils.get_weight_multiplier(
            host_state, 'realtime_weight_multiplier',
            scheduler.CONF.nova_rt.realtime_weight_multiplier)

    def weigh_objects(self, weighed_obj_list, weight_properties):
        """Parse the request once for all hosts."""
        the_ask = scheduler.ask(weight_properties)
        if the_ask.request is None:
            return [0.0] * len(weighed_obj_list)
        return [scheduler.score(obj.obj, the_ask) for obj in weighed_obj_list]

    def _weigh_object(self, host_state, weight_properties):
        return scheduler.score(host_state, scheduler.ask(weight_properties))
