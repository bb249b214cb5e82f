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
"""nova-api itself validates the rt: keys (microversion 2.86 and later)."""

from nova.api.validation.extra_specs import validators as nova_validators
from nova.tests.functional.api import client as api_client
from nova.tests.functional import integrated_helpers

from nova_rt.api import validators as rt_validators
from nova_rt.core import request as rt_request

GOOD = {
    'hw:cpu_realtime': 'yes',
    'hw:cpu_policy': 'dedicated',
    'hw:cpu_realtime_mask': '^0',
    'rt:vcpu_scheduler': 'rr',
    'rt:vcpu_priority': '10',
    'rt:emulator_scheduler': 'fifo',
    'rt:emulator_priority': '5',
    'rt:guest_tuning': 'auto',
    'rt:guest_idle_poll': 'true',
    'rt:guest_kernel_args': 'quiet mitigations=off',
    'rt:l3_cache_kib': '2048',
    'rt:max_latency_us': '20',
    'rt:host_kernel': 'preempt_rt',
}

BAD = [
    ('rt:vcpu_scheduler', 'deadline'),
    ('rt:vcpu_scheduler', 'other'),
    ('rt:vcpu_priority', '0'),
    ('rt:vcpu_priority', '100'),
    ('rt:vcpu_priority', 'high'),
    ('rt:emulator_scheduler', 'batch'),
    ('rt:emulator_priority', '0'),
    ('rt:emulator_priority', '100'),
    ('rt:guest_tuning', 'manual'),
    ('rt:guest_idle_poll', 'sometimes'),
    ('rt:guest_kernel_args', 'a;reboot'),
    ('rt:guest_kernel_args', 'quiet -- init=/bin/sh'),
    ('rt:guest_kernel_args', 'nohz_full=0'),
    ('rt:guest_kernel_args', 'a\nb'),
    ('rt:l3_cache_kib', '0'),
    ('rt:l3_cache_kib', '-1'),
    ('rt:max_latency_us', '0'),
    ('rt:max_latency_us', 'fast'),
    ('rt:host_kernel', 'preempt'),
    ('rt:vcpu_prio', '5'),
]


class RealtimeExtraSpecsTest(integrated_helpers._IntegratedTestBase):
    microversion = '2.86'

    def setUp(self):
        super().setUp()
        self.flavor_id = self._create_flavor(vcpu=4)

    def test_validators_come_from_the_entry_point(self):
        # nova loads its registry through stevedore at import time; the
        # rt: validators must be ours, from the installed entry point.
        for name in rt_request.RT_KEYS:
            validator = nova_validators.VALIDATORS[name]
            self.assertIsInstance(validator,
                                  rt_validators.RealtimeSpecValidator)
        self.assertIn('rt', nova_validators.NAMESPACES)

    def test_good_values_are_stored(self):
        body = {'extra_specs': GOOD}
        self.admin_api.post_extra_spec(self.flavor_id, body)
        self.assertEqual(GOOD, self.admin_api.get_extra_specs(self.flavor_id))

    def test_each_bad_value_is_a_400_naming_the_key(self):
        for key, value in BAD:
            with self.subTest(key=key, value=value):
                body = {'extra_specs': {key: value}}
                e = self.assertRaises(api_client.OpenStackApiException,
                                      self.admin_api.post_extra_spec,
                                      self.flavor_id, body)
                self.assertEqual(400, e.response.status_code)
                self.assertIn(key, e.response.text)
        self.assertEqual({}, self.admin_api.get_extra_specs(self.flavor_id))

    def test_bad_value_on_update_is_a_400(self):
        e = self.assertRaises(api_client.OpenStackApiException,
                              self.admin_api.put_extra_spec,
                              self.flavor_id, 'rt:vcpu_priority',
                              {'rt:vcpu_priority': '0'})
        self.assertEqual(400, e.response.status_code)
        self.assertIn('rt:vcpu_priority', e.response.text)

    def test_one_bad_value_stores_nothing(self):
        # A request with one good and one bad key is refused whole:
        # nothing is half-stored.
        e = self.assertRaises(
            api_client.OpenStackApiException,
            self.admin_api.post_extra_spec, self.flavor_id,
            {'extra_specs': {'rt:vcpu_priority': '10',
                             'rt:host_kernel': 'bogus'}})
        self.assertEqual(400, e.response.status_code)
        self.assertIn('rt:host_kernel', e.response.text)
        self.assertEqual({}, self.admin_api.get_extra_specs(self.flavor_id))


class RealtimeExtraSpecsOldMicroversionTest(
        integrated_helpers._IntegratedTestBase):
    """Before 2.86 nova-api validates nothing, ours included."""

    microversion = '2.85'

    def test_not_validated(self):
        flavor_id = self._create_flavor()
        body = {'extra_specs': {'rt:vcpu_priority': '0'}}
        self.admin_api.post_extra_spec(flavor_id, body)
        self.assertEqual(body['extra_specs'],
                         self.admin_api.get_extra_specs(flavor_id))
