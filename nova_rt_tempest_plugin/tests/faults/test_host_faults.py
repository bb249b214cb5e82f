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
"""Faults of a whole compute host: libvirtd restarted under running
real-time guests, and a power cut followed by the host's boot with
``resume_guests_state_on_host_boot`` (the guests come back real-time, or,
on a host no longer ready, stay off in ERROR saying why).
"""

import shlex
import time

from nova_rt_tempest_plugin.tests import base as rt_base
from nova_rt_tempest_plugin.tests.faults import base
from nova_rt_tempest_plugin.tests import test_realtime
from oslo_log import log as logging
from tempest.lib import decorators

CONF = base.CONF
LOG = logging.getLogger(__name__)


# A few resource updates (update_resources_interval) on a loaded machine.
PUBLISH_TIMEOUT = 90


def counts(published, realtime_instances):
    """Whether the metrics (when the compute writes them) count this many
    real-time guests.
    """
    return (not CONF.nova_rt.metrics_file or
            'nova_rt_realtime_instances %d' % realtime_instances
            in published[1])


class HostFaultsTest(base.FaultsTest):

    def published(self, host):
        """What the compute publishes of itself: its placement traits and
        its metrics (but the audit's time stamp and the guests' vCPU
        counters; each guest's drift stays in: 0 before and after).
        """
        metrics = []
        if CONF.nova_rt.metrics_file:
            metrics = [
                line for line in self.host_access.run(
                    host, 'cat %s' % shlex.quote(
                        CONF.nova_rt.metrics_file)).splitlines()
                if line and not line.startswith('#') and
                'timestamp' not in line and
                # counters of what each real-time vCPU waited: they grow
                not line.startswith('nova_rt_guest_vcpu_')]
        return self.traits(host), metrics

    def published_when(self, host, settled, what, reference=None):
        """What ``host`` publishes once ``settled(published)`` holds."""
        deadline = time.monotonic() + PUBLISH_TIMEOUT
        while True:
            now = self.published(host)
            if settled(now):
                return now
            if time.monotonic() > deadline:
                if reference is not None:
                    self.assertEqual(reference, now, '%s publishes another '
                                     'host after libvirtd restarted' % host)
                self.fail('%s not %s after %d s: %s' % (
                    host, what, PUBLISH_TIMEOUT, now[1]))
            time.sleep(1)

    def qemu_pid(self, server_id):
        return min(t.tid for t in self.threads(server_id))

    @decorators.idempotent_id('7c1d3e5f-0a2b-4c4d-8e6f-1a2b3c4d5e21')
    def test_libvirtd_restart_under_realtime_guests(self):
        flavor = self.realtime_flavor()
        servers = [self.create(flavor)['id'] for _ in range(2)]
        for sid in servers:
            self.assertEqual('ACTIVE', self.wait_final(sid)['status'])
        where = [self.where(sid)[0] for sid in servers]
        hosts = sorted(set(where))
        # Published once the resource tracker counted the new guests.
        published = {host: self.published_when(
            host, lambda p, n=where.count(host): counts(p, n),
            'counting its %d real-time guests' % where.count(host))
            for host in hosts}
        before = {sid: self.steady_threads(sid) for sid in servers}
        self.cloud('restart', 'libvirtd')
        self.wait_computes_enabled()
        for sid in servers:
            self.assertEqual(before[sid], self.steady_threads(sid),
                             'threads of %s after the restart' % sid)
            self.assert_realtime(sid, {1}, 'fifo', 10)
        for host in hosts:
            # One audit and one resource update after the reconnection.
            self.published_when(
                host, lambda p, ref=published[host]: p == ref,
                'publishing what it did before libvirtd restarted',
                reference=published[host])
        LOG.info('libvirtd restarted under %d real-time guests on %s: '
                 'threads, classes, pins and published facts unchanged',
                 len(servers), ', '.join(hosts))

    def set_resume_on_boot(self, host):
        self.cloud('config', host, 'DEFAULT',
                   'resume_guests_state_on_host_boot', 'true')
        self.addCleanup(self.wait_computes_enabled)
        self.addCleanup(self.cloud, 'restart', 'nova-compute@%s' % host)
        self.addCleanup(self.cloud, 'config', host, 'DEFAULT',
                        'resume_guests_state_on_host_boot', 'false')

    def realtime_and_ordinary(self):
        """A real-time server and an ordinary one on the same host."""
        realtime = self.create(self.realtime_flavor())['id']
        self.assertEqual('ACTIVE', self.wait_final(realtime)['status'])
        host = self.where(realtime)[0]
        plain = self.create(self.flavor(1, rt_base.UNPINNED),
                            client=self.admin_servers_client,
                            availability_zone='nova:%s' % host)['id']
        self.assertEqual('ACTIVE', self.wait_final(plain)['status'])
        self.assertEqual(host, self.where(plain)[0])
        return host, realtime, plain

    def power_cycle(self, host):
        started = time.monotonic()
        self.cloud('poweroff', host)
        self.cloud('poweron', host)
        LOG.info('%s power-cycled in %.1f s', host,
                 time.monotonic() - started)

    @decorators.idempotent_id('7c1d3e5f-0a2b-4c4d-8e6f-1a2b3c4d5e22')
    def test_power_cut_then_boot_resumes_realtime_guests(self):
        host, realtime, plain = self.realtime_and_ordinary()
        boot = self.console_after(realtime, None)[0].split(':', 1)[1]
        pids = {sid: self.qemu_pid(sid) for sid in (realtime, plain)}
        self.set_resume_on_boot(host)
        self.power_cycle(host)
        for sid in (realtime, plain):
            state = self.wait_final(sid)
            self.assertEqual(('ACTIVE', 1), (state['status'],
                                             state['OS-EXT-STS:power_state']))
            self.assertNotEqual(pids[sid], self.qemu_pid(sid),
                                'the guest did not start again')
        dom = self.assert_realtime(realtime, {1}, 'fifo', 10)
        self.assertTrue(dom.cmdline.endswith(' ' + test_realtime.DERIVED),
                        dom.cmdline)
        # The guest booted again, with its real-time arguments.
        lines = self.console_after(realtime, boot)
        cmdline = [line for line in lines if line.startswith('NRT-CMDLINE:')]
        self.assertIn(test_realtime.DERIVED, cmdline[0])
        self.assert_not_realtime(plain)

    @decorators.idempotent_id('7c1d3e5f-0a2b-4c4d-8e6f-1a2b3c4d5e23')
    def test_host_not_ready_after_boot_keeps_realtime_guests_off(self):
        host, realtime, plain = self.realtime_and_ordinary()
        name = self.where(realtime)[1]
        self.set_resume_on_boot(host)
        # Evidence lost across the reboot: the host boots not ready.
        self.cloud('config', host, 'nova_rt', 'lab_mode', 'false')
        self.addCleanup(self.cloud, 'config', host, 'nova_rt', 'lab_mode',
                        'true')
        self.power_cycle(host)
        state = self.wait_final(realtime)
        self.assertEqual('ERROR', state['status'])
        message = state['fault']['message']
        self.assertIn('nova-rt: not_ready', message)
        self.assertIn('not started again on %s' % host, message)
        self.assertEqual('shut off', self.host_access.virsh(
            host, 'domstate', name).strip())
        LOG.info('after the boot of %s, not ready: real-time server %s in '
                 'ERROR, domain shut off, fault: %s', host, realtime,
                 message)
        # The ordinary guest came back as Nova always brings it back.
        self.assertEqual('ACTIVE', self.wait_final(plain)['status'])
        self.assert_not_realtime(plain)
        self.delete_as_admin(realtime)
        self.assert_no_leftovers({realtime: name})
