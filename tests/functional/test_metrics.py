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
"""``[nova_rt] metrics_file`` written by nova-rt's driver in a real
nova-compute (fake libvirt): after the resource tracker's update, with a
real-time server pinned on the host.
"""

import os

import fixtures
from nova import context as nova_context

from tests.functional import realtime_base


class ComputeMetricsTest(realtime_base.RealtimeDriverTestBase):

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.trees, 'nova-rt.prom')
        self.flags(metrics_file=self.path, group='nova_rt')
        # The fake libvirt re-renders a subset of the XML and drops
        # <vcpusched> (FIELD-NOTES): hand back what the driver defined.
        defined = self.defined
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.XMLDesc',
            lambda dom, flags: defined[dom.UUIDString()][-1]))
        self.start_realtime_compute('rt1', 1, 8, {0})

    def metrics(self):
        self.computes['rt1'].manager.update_available_resource(
            nova_context.get_admin_context())
        found = {}
        with open(self.path) as f:
            for line in f:
                if not line.startswith('#'):
                    name, value = line.rsplit(' ', 1)
                    found[name] = float(value)
        return found

    def test_written_at_the_resource_update(self):
        found = self.metrics()
        self.assertEqual(1, found['nova_rt_host_ready'])
        # cpu_dedicated_set is CPUs 1-7.
        self.assertEqual(7, found['nova_rt_pcpus{state="free"}'])
        flavor = self._create_flavor(
            vcpu=4, memory_mb=1024,
            extra_spec=dict(realtime_base.RT,
                            **{'hw:cpu_realtime_mask': '^0'}))
        self._create_server(flavor_id=flavor, networks='none')
        found = self.metrics()
        # 4 vCPUs pinned on 4 dedicated CPUs (the emulator shares vCPU 0's).
        self.assertEqual((4, 0, 3), (found['nova_rt_pcpus{state="realtime"}'],
                                     found['nova_rt_pcpus{state="other"}'],
                                     found['nova_rt_pcpus{state="free"}']))
        self.assertEqual(1, found['nova_rt_realtime_instances'])
