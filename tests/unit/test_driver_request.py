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
"""The driver's translation of Nova objects into the request model."""

from unittest import mock

import fixtures
from nova import objects
import testtools

from nova_rt.core import exception
from nova_rt.virt import driver

objects.register_all()


def flavor(vcpus=4, **specs):
    return objects.Flavor(vcpus=vcpus, extra_specs=dict(
        {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated'}, **specs))


class RealtimeRequestTest(testtools.TestCase):

    def test_image_mask_wins(self):
        image = objects.ImageMeta.from_dict(
            {'properties': {'hw_cpu_realtime_mask': '^0-1'}})
        request = driver.realtime_request(
            flavor(**{'hw:cpu_realtime_mask': '^0'}), image)
        self.assertEqual(frozenset({2, 3}), request.realtime_vcpus)

    def test_image_pmu_and_policy(self):
        image = objects.ImageMeta.from_dict(
            {'properties': {'hw_pmu': True}})
        request = driver.realtime_request(
            flavor(**{'hw:cpu_realtime_mask': '^0'}), image)
        self.assertTrue(request.pmu)

    def test_no_image_properties(self):
        request = driver.realtime_request(
            flavor(**{'hw:cpu_realtime_mask': '^0'}),
            objects.ImageMeta.from_dict({}))
        self.assertEqual(frozenset({1, 2, 3}), request.realtime_vcpus)
        self.assertIsNone(driver.realtime_request(
            objects.Flavor(vcpus=2, extra_specs={}), None))

    def test_bad_image_mask_names_the_property(self):
        image = objects.ImageMeta.from_dict(
            {'properties': {'hw_cpu_realtime_mask': '^0-3'}})
        e = self.assertRaises(exception.InvalidRealtimeRequest,
                              driver.realtime_request,
                              flavor(**{'hw:cpu_realtime_mask': '^0'}), image)
        self.assertEqual(('hw_cpu_realtime_mask',), e.keys)

    def test_an_invalid_flavor_fails_every_time(self):
        bad = flavor(**{'rt:vcpu_priority': '0'})
        for _ in range(2):
            self.assertRaises(exception.InvalidRealtimeRequest,
                              driver.realtime_request, bad, None)


class FakeLibvirtError(Exception):

    def __init__(self, code):
        super().__init__('libvirt error %d' % code)
        self.code = code

    def get_error_code(self):
        return self.code


class MigratingGuestTest(testtools.TestCase):
    """The source guest of a real-time live migration."""

    ABORTED = 78

    def setUp(self):
        super().setUp()
        fake = mock.Mock(libvirtError=FakeLibvirtError,
                         VIR_ERR_OPERATION_ABORTED=self.ABORTED)
        self.useFixture(fixtures.MockPatchObject(
            driver.libvirt_driver, 'libvirt', fake))
        self.guest = mock.Mock()
        self.migrating = driver._MigratingGuest(
            self.guest, lambda xml: xml + '<!-- rt -->')

    def test_destination_xml_rewritten(self):
        self.migrating.migrate('dest', flags=1, destination_xml='<x/>')
        self.guest.migrate.assert_called_once_with(
            'dest', flags=1, destination_xml='<x/><!-- rt -->')

    def test_an_aborted_job_is_left_to_the_monitor(self):
        self.guest.migrate.side_effect = FakeLibvirtError(self.ABORTED)
        self.assertIsNone(self.migrating.migrate('dest', destination_xml=''))

    def test_other_failures_propagate(self):
        self.guest.migrate.side_effect = FakeLibvirtError(1)
        self.assertRaises(FakeLibvirtError, self.migrating.migrate, 'dest')
        self.guest.migrate.side_effect = OSError('boom')
        self.assertRaises(OSError, self.migrating.migrate, 'dest')

    def test_other_attributes_are_the_guests(self):
        self.assertIs(self.guest.uuid, self.migrating.uuid)
