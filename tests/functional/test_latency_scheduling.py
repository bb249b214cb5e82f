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
"""The latency certificate closes the loop: measured -> published ->
scheduled.

Computes run nova-rt's driver on host trees (tests/host_trees) that carry
a certificate written the way ``nova-rt latency certify`` writes it
(``build.certificate``): one measured on the host's own kernel, command
line and isolated CPUs a day ago (certified, 18 us), one measured 40 days
ago (stale), one for another kernel command line (the host changed since),
and one host never measured. Only the certified host may take a flavor
with ``rt:max_latency_us``, and only above its certified maximum.
"""

from tests.functional import realtime_base as rb

RT = dict(rb.RT, **{'hw:cpu_realtime_mask': '^0'})


class LatencyCertificateSchedulingTest(rb.RealtimeDriverTestBase):

    def start(self, name, certificate):
        self.start_realtime_compute(
            name, nodes=1, cores_per_node=4, housekeeping={0},
            latency_certificate=certificate)

    def flavor(self, max_latency_us):
        return self._create_flavor(vcpu=2, memory_mb=512, extra_spec=dict(
            RT, **{'rt:max_latency_us': str(max_latency_us)}))

    def no_valid_host(self, flavor_id):
        server = self._create_server(flavor_id=flavor_id, networks='none',
                                     expected_state='ERROR')
        self.assertIn('No valid host', server['fault']['message'])

    def test_only_a_fresh_matching_certificate_schedules(self):
        self.start('stale', {'max_latency_us': 10, 'age_days': 40})
        self.start('changed', {'max_latency_us': 10,
                               'kernel_cmdline_sha256': '0' * 64})
        self.start('never', None)
        # Better numbers on the stale and changed hosts: they must not win.
        self.no_valid_host(self.flavor(25))
        log = self.stdlog.logger.output
        self.assertIn('RealtimeFilter rejected 3 of 3 host(s): latency=3',
                      log)
        self.assertIn('no certified latency: expired', log)
        self.assertIn('no certified latency: kernel command line changed',
                      log)
        self.assertIn('no certified latency: no latency certificate', log)
        for name in ('stale', 'changed', 'never'):
            self.assertIsNone(self.facts_of(name).latency_max_us)

        self.start('certified', {'max_latency_us': 18, 'age_days': 1})
        self.assertEqual(18, self.facts_of('certified').latency_max_us)
        server = self._create_server(flavor_id=self.flavor(25),
                                     networks='none')
        self.assertEqual('certified', server['OS-EXT-SRV-ATTR:host'])
        self._delete_server(server)
        # Exactly the certified maximum is enough; below it is not.
        server = self._create_server(flavor_id=self.flavor(18),
                                     networks='none')
        self.assertEqual('certified', server['OS-EXT-SRV-ATTR:host'])
        self._delete_server(server)
        self.no_valid_host(self.flavor(17))
        self.assertIn('RealtimeFilter rejected 4 of 4 host(s): latency=4',
                      self.stdlog.logger.output)
