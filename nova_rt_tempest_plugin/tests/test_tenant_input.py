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
"""What a tenant sends cannot raise what the operator's flavor decides.

The tenant's own images carry properties that look like nova-rt's flavor
keys (a higher priority, another class, an emulator in FIFO, kernel
arguments), server metadata and user data do the same, at create and at
rebuild, through the real API: nova-rt reads only the upstream image
properties Nova itself honours (``nova_rt.core.request.IMAGE_PROPERTIES``), so
the guest runs as the flavor says and gets the arguments nova-rt derives,
after the image's own ``os_command_line``. An image real-time mask that
leaves no housekeeping vCPU is refused with a 400, at create and rebuild,
and the server it would have rebuilt keeps running as it was.
"""

import base64
import io
import time

from nova_rt_tempest_plugin.tests import base
from nova_rt_tempest_plugin.tests import test_realtime
from oslo_log import log as logging
from tempest import config
from tempest.lib.common.utils import data_utils
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

CONF = config.CONF
LOG = logging.getLogger(__name__)

DERIVED = test_realtime.DERIVED
# Image properties named like nova-rt's flavor keys: ignored.
ROGUE_PROPERTIES = {
    'rt_vcpu_priority': '99', 'rt_vcpu_scheduler': 'rr',
    'rt_emulator_scheduler': 'fifo', 'rt_emulator_priority': '90',
    'rt_guest_kernel_args': 'nrt_rogue=image', 'rt_guest_idle_poll': 'true',
    'rt_guest_tuning': 'none', 'hw_cpu_realtime_priority': '99',
    'hw_emulator_threads_policy': 'isolate'}
# Server metadata named like them: ignored too.
ROGUE_METADATA = {'rt:vcpu_priority': '99',
                  'rt:guest_kernel_args': 'nrt_rogue=metadata',
                  'hw:cpu_realtime_mask': '0-1'}
USER_DATA = base64.b64encode(
    b'#cloud-config\n'
    b'bootcmd:\n'
    b'  - [sh, -c, "echo nrt_rogue=user_data"]\n'
    b'kernel_args: "nrt_rogue=user_data isolcpus=0"\n').decode()
# The test image's root disk is empty (direct kernel boot).
ROOT_DISK = b'\0' * (1024 * 1024)


class TenantInputTest(base.RealtimeTest):

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.service_available.glance:
            raise cls.skipException('needs glance for the tenant\'s images')

    def tenant_image(self, **properties):
        """A private image of the tenant: the test image's kernel and
        initrd, with ``properties`` added.
        """
        base_image = self.images_client.show_image(CONF.compute.image_ref)
        inherited = {k: base_image[k] for k in
                     ('kernel_id', 'ramdisk_id', 'os_command_line')
                     if k in base_image}
        inherited.update(properties)
        image = self.images_client.create_image(
            name=data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                      name='nrt-tenant-image'),
            container_format=base_image['container_format'],
            disk_format=base_image['disk_format'], visibility='private',
            **inherited)
        self.addCleanup(self.images_client.delete_image, image['id'])
        self.images_client.store_image_file(image['id'],
                                            io.BytesIO(ROOT_DISK))
        self.assertEqual('active',
                         self.images_client.show_image(image['id'])['status'])
        return image['id'], inherited.get('os_command_line', '')

    def wait_rebuilt(self, server_id, timeout=None):
        deadline = time.monotonic() + (timeout or CONF.compute.build_timeout)
        while True:
            server = self.admin_show(server_id)
            if server['status'] == 'ACTIVE' and \
                    not server.get('OS-EXT-STS:task_state'):
                return server
            self.assertNotEqual('ERROR', server['status'],
                                server.get('fault'))
            self.assertLess(time.monotonic(), deadline,
                            'rebuild of %s still %s/%s' % (
                                server_id, server['status'],
                                server.get('OS-EXT-STS:task_state')))
            time.sleep(1)

    def assert_as_the_flavor_says(self, server_id, image_cmdline, boot_id):
        """Priority 10 FIFO, emulator ordinary, nova-rt's arguments after
        the image's own, in the domain and in the guest that booted; the
        guest's boot id.
        """
        dom = self.assert_realtime(server_id, {1}, 'fifo', 10)
        self.assertIn('io.systemd.stub.kernel-cmdline-extra=' + DERIVED,
                      dom.oem_strings)
        self.assertFalse([e for e in dom.oem_strings if 'nrt_rogue' in e])
        self.assertEqual('%s %s' % (image_cmdline, DERIVED), dom.cmdline)
        lines = self.console_after(server_id, boot_id)
        marks = dict(line.split(':', 1) for line in lines
                     if line.startswith('NRT-') and ':' in line)
        self.assertTrue(marks['NRT-CMDLINE'].endswith(DERIVED),
                        marks['NRT-CMDLINE'])
        self.assertNotIn('nrt_rogue', marks['NRT-CMDLINE'])
        self.assertEqual('1', marks['NRT-ISOLATED'].strip())
        return marks['NRT-BOOT']

    @decorators.idempotent_id('5e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a01')
    def test_image_metadata_and_user_data_change_nothing(self):
        self.require_pcpus(1, 'the real-time vCPU')
        flavor = self.flavor(2, dict(base.RT_TWO, **{
            'rt:vcpu_priority': '10', 'rt:host_kernel': 'any'}))
        base_cmdline = self.images_client.show_image(
            CONF.compute.image_ref).get('os_command_line', '')
        image, cmdline = self.tenant_image(
            os_command_line=base_cmdline + ' nrt_image_arg=1',
            **ROGUE_PROPERTIES)
        server = self.boot(flavor, image=image, metadata=ROGUE_METADATA,
                           user_data=USER_DATA)
        boot = self.assert_as_the_flavor_says(server['id'], cmdline, None)
        LOG.info('created with a rogue image, metadata and user data: '
                 'FIFO 10, arguments as derived')

        other, other_cmdline = self.tenant_image(
            os_command_line=base_cmdline + ' nrt_image_arg=2',
            **dict(ROGUE_PROPERTIES, rt_vcpu_priority='98',
                   rt_vcpu_scheduler='fifo'))
        self.servers_client.rebuild_server(
            server['id'], other, metadata=ROGUE_METADATA,
            user_data=USER_DATA)
        self.wait_rebuilt(server['id'])
        self.assert_as_the_flavor_says(server['id'], other_cmdline, boot)
        LOG.info('rebuilt with another rogue image, metadata and user '
                 'data: FIFO 10, arguments as derived')

    @decorators.idempotent_id('5e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a02')
    def test_image_mask_without_housekeeping_refused(self):
        self.require_pcpus(1, 'the real-time vCPU')
        flavor = self.flavor(2, dict(base.RT_TWO, **{
            'rt:vcpu_priority': '10', 'rt:host_kernel': 'any'}))
        every_vcpu, _ = self.tenant_image(hw_cpu_realtime_mask='0-1')
        name = data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                    name='nrt-refused')
        error = self.assertRaises(
            lib_exc.BadRequest, self.servers_client.create_server,
            name=name, imageRef=every_vcpu, flavorRef=flavor,
            networks='none')
        LOG.info('create with hw_cpu_realtime_mask=0-1 refused: %s',
                 error.resp_body)
        self.assertEqual([], self.servers_client.list_servers(
            name=name)['servers'])

        server = self.boot(flavor)
        before = self.admin_show(server['id'])
        error = self.assertRaises(
            lib_exc.BadRequest, self.servers_client.rebuild_server,
            server['id'], every_vcpu)
        LOG.info('rebuild with hw_cpu_realtime_mask=0-1 refused: %s',
                 error.resp_body)
        after = self.admin_show(server['id'])
        self.assertEqual(
            ('ACTIVE', None, before['image']['id']),
            (after['status'], after.get('OS-EXT-STS:task_state'),
             after['image']['id']))
        self.assert_realtime(server['id'], {1}, 'fifo', 10)
