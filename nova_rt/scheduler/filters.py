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
"""RealtimeFilter: real-time flavors only on hosts that can run them.

A host passes a real-time request when it published ready nova-rt facts,
runs the kernel the flavor needs, keeps the vCPU priority below its
essential kernel threads, has the L3 cache and the certified latency asked
for, does not overcommit RAM (``[nova_rt] forbid_ram_overcommit``), and has
enough free isolated CPUs on the NUMA cells the guest needs. The CPU check
is a cheap, exact count that rejects only impossible hosts: place it before
NUMATopologyFilter, which still computes the pinning. With ``[nova_rt]
dedicate_hosts`` non-real-time requests are kept off ready hosts.

A flavor that can never be real-time passes only hosts running nova-rt's
driver, which fails the build with the reason as the instance fault (a
filter can only say NoValidHost). With ``[nova_rt] lab_mode`` the dedicated
CPUs of lab hosts stand in for isolated ones (design.rst, "Lab mode").
"""

import collections

from nova.scheduler import filters
from nova.scheduler import utils
from oslo_log import log as logging

from nova_rt import scheduler

LOG = logging.getLogger(__name__)


class RealtimeFilter(filters.BaseHostFilter):
    """Filter hosts on their real-time facts and free isolated CPUs."""

    # Free isolated CPUs change as each instance of a multi-create request
    # is placed, so run for every instance, not once per request.
    run_filter_once_per_request = False

    # A rebuild keeps its host and its flavor.
    RUN_ON_REBUILD = False

    def filter_all(self, filter_obj_list, spec_obj):
        """Parse the request once, judge every host, log one summary."""
        if utils.request_is_rebuild(spec_obj):
            yield from filter_obj_list
            return
        the_ask = scheduler.ask(spec_obj)
        if the_ask.error is not None:
            LOG.warning('Invalid real-time flavor: %s; only hosts running '
                        "nova-rt's driver pass, which fails the build with "
                        'this reason', the_ask.error,
                        instance_uuid=spec_obj.instance_uuid)
        scheduler.warn_placement(spec_obj, the_ask)
        rejected = collections.Counter()
        total = 0
        for host_state in filter_obj_list:
            total += 1
            if self._passes(host_state, spec_obj, the_ask, rejected):
                yield host_state
        if rejected or the_ask.realtime:
            LOG.info('RealtimeFilter rejected %(count)d of %(total)d '
                     'host(s): %(reasons)s',
                     {'count': sum(rejected.values()), 'total': total,
                      'reasons': ', '.join(
                          '%s=%d' % item for item in sorted(
                              rejected.items())) or 'none'},
                     instance_uuid=spec_obj.instance_uuid)

    def host_passes(self, host_state, spec_obj):
        return self._passes(host_state, spec_obj, scheduler.ask(spec_obj))

    def _passes(self, host_state, spec_obj, the_ask, rejected=None):
        verdict = scheduler.verdict(host_state, the_ask)
        if verdict:
            return True
        if rejected is not None:
            rejected[verdict.reason] += 1
        LOG.debug('%(host)s, %(node)s fails real-time requirements: '
                  '%(reason)s: %(detail)s',
                  {'host': host_state.host, 'node': host_state.nodename,
                   'reason': verdict.reason, 'detail': verdict.detail},
                  instance_uuid=spec_obj.instance_uuid)
        return False
