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

A host's raw value is ``nova_rt.scheduler.packing.score``: best fit (minus
its free isolated CPUs), less a charge for each NUMA cell the request would
leave with a single, stranded, free CPU. With a positive multiplier the
scheduler *stacks* real-time instances, filling partly used hosts before
it opens empty ones and so keeping whole hosts and NUMA cells free for
large flavors; fragmentation is what strands isolated cores in a fleet. A
negative multiplier spreads. Hosts that are not ready weigh as the
emptiest ready host; non-real-time requests weigh 0 everywhere.
``[nova_rt] realtime_weight_multiplier`` sets the multiplier; the aggregate
metadata key ``realtime_weight_multiplier`` overrides it.
"""

from nova.scheduler import utils
from nova.scheduler import weights

from nova_rt import conf as rt_conf
from nova_rt import scheduler


class RealtimeWeigher(weights.BaseHostWeigher):

    def weight_multiplier(self, host_state):
        return utils.get_weight_multiplier(
            host_state, 'realtime_weight_multiplier',
            rt_conf.nova_conf().nova_rt.realtime_weight_multiplier)

    def weigh_objects(self, weighed_obj_list, weight_properties):
        """Parse the request once for all hosts."""
        the_ask = scheduler.ask(weight_properties)
        if the_ask.request is None:
            return [0.0] * len(weighed_obj_list)
        scores = [scheduler.score(obj.obj, the_ask)
                  for obj in weighed_obj_list]
        floor = min((s for s in scores if s is not None), default=0.0)
        return [floor if s is None else float(s) for s in scores]

    def _weigh_object(self, host_state, weight_properties):
        value = scheduler.score(host_state, scheduler.ask(weight_properties))
        return 0.0 if value is None else float(value)
