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
"""The test cloud behaves like a real one: services restart one at a time
under running real-time guests, and the whole cloud goes down in the middle
of a build and comes back up with nothing left behind.

These tests drive the cloud through ``[nova_rt] cloud_command`` (nova-rt's
``tools/cloud``), and skip where it is not set.
"""

import shlex
import subprocess
import time

from nova_rt_tempest_plugin import hostside
from nova_rt_tempest_plugin import servicestate
from nova_rt_tempest_plugin.tests import base
from oslo_log import log as logging
from tempest.common import waiters
from tempest import config
from tempest.lib import decorators

from nova_rt.core import cpuset

CONF = config.CONF
LOG = logging.getLogger(__name__)


class CloudTest(base.RealtimeTest):

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.nova_rt.cloud_command:
            raise cls.skipException('needs [nova_rt] cloud_command to '
                                    'stop and start services')

    @staticmethod
    def cloud_argv(*args):
        """The cloud command with ``args``, as a process's argv."""
        return shlex.split(CONF.nova_rt.cloud_command) + list(args)

    def cloud(self, *args, timeout=600, quiet=False):
        """Run the cloud command; its output goes to the test log unless
        ``quiet`` (a poll).
        """
        argv = self.cloud_argv(*args)
        started = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout)
        if not quiet or proc.returncode:
            LOG.info('%s: exit %d after %.1f s\n%s%s', ' '.join(argv),
                     proc.returncode, time.monotonic() - started,
                     proc.stdout, proc.stderr)
        self.assertEqual(0, proc.returncode, '%s failed:\n%s%s' % (
            ' '.join(argv), proc.stdout[-3000:], proc.stderr[-3000:]))
        self.note_restart(args, time.time())
        return proc.stdout + proc.stderr

    def note_restart(self, args, done):
        """Remember when a command that restarts computes returned (see
        wait_computes_enabled).
        """
        restarted = getattr(self, '_restarted', None)
        if restarted is None:
            restarted = self._restarted = {}
        for host in servicestate.restarted_hosts(args):
            restarted[host] = done

    def signal_and_look(self, signal, service, look, timeout=120):
        """Send ``signal`` to ``service`` through the cloud command and call
        ``look()`` as soon as the signal is out, while the process may
        still run (a SIGTERM stop takes seconds): (what ``look`` returned,
        the command's output).
        """
        argv = self.cloud_argv('kill', '--signal', signal, service)
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        lines, seen = [], []
        try:
            for line in proc.stdout:
                lines.append(line)
                if not seen and 'sent SIG%s to %s' % (signal,
                                                      service) in line:
                    seen.append(look())
        finally:
            proc.stdout.close()
            rc = proc.wait(timeout=timeout)
        out = ''.join(lines)
        LOG.info('%s: exit %d after %.1f s\n%s', ' '.join(argv), rc,
                 time.monotonic() - started, out)
        self.assertEqual(0, rc, '%s failed:\n%s' % (' '.join(argv), out))
        self.assertTrue(seen, '%s never said it sent SIG%s:\n%s' % (
            ' '.join(argv), signal, out))
        return seen[0], out

    def realtime_server(self, wait='ACTIVE'):
        self.require_pcpus(1, 'the real-time vCPU')
        flavor = self.flavor(2, dict(base.RT_TWO,
                                     **{'rt:vcpu_priority': '10'}))
        return self.boot(flavor, wait=wait)

    def guest_threads(self, server_id):
        """The QEMU process and its vCPU threads: {tid: comm}. (QEMU's
        worker threads come and go on their own.)
        """
        threads = self.threads(server_id)
        pid = min(t.tid for t in threads)
        return {t.tid: t.comm for t in threads
                if t.tid == pid or t.vcpu is not None}

    def wait_computes_enabled(self, timeout=180):
        """Until every nova-compute is enabled and up, and each one the
        cloud command restarted (or whose database, queue or libvirtd) has
        reported since (nova_rt_tempest_plugin.servicestate); logs how long.
        """
        started = time.monotonic()
        restarted = getattr(self, '_restarted', {})
        while True:
            services = self.os_admin.services_client.list_services(
                binary='nova-compute')['services']
            waiting = ['%s: %s/%s (%s)' % (s['host'], s['status'],
                                           s['state'],
                                           s.get('disabled_reason'))
                       for s in services
                       if s['status'] != 'enabled' or s['state'] != 'up']
            waiting += ['%s: no report since its restart (last %s)' % (
                s['host'], s.get('updated_at'))
                for s in services
                if not servicestate.reported_since(s, max(
                    (restarted[k] for k in (s['host'], '*')
                     if k in restarted), default=None))]
            if not waiting:
                LOG.info('computes enabled and up after %.1f s',
                         time.monotonic() - started)
                return
            self.assertLess(time.monotonic() - started, timeout,
                            'computes not back: %s' % ', '.join(waiting))
            time.sleep(2)

    def hosts(self):
        return [h['hypervisor_hostname'] for h in
                self.os_admin.hypervisor_client.list_hypervisors()[
                    'hypervisors']]

    def compute_record(self, host):
        """What ``host``'s resource tracker last wrote to the database."""
        return hostside.parse_compute_record(
            self.cloud('usage', host, quiet=True))

    def usage_differences(self, hosts=None, exact=True):
        """Each compute whose NUMA usage, as Nova records it, pins other
        dedicated CPUs than its libvirt domains hold (with ``exact=False``:
        a CPU no domain holds), one line each.
        """
        found = []
        for host in hosts or self.hosts():
            recorded = self.compute_record(host).pinned
            held = self.held_pins(host)
            if recorded != held if exact else not recorded <= held:
                found.append('%s: Nova counts CPUs %s pinned, its domains '
                             'hold %s' % (host,
                                          cpuset.format(recorded) or 'none',
                                          cpuset.format(held) or 'none'))
        return found

    def wait_usage_settled(self, hosts=None, exact=True, timeout=None):
        """Until each compute's NUMA usage (what NUMATopologyFilter,
        RealtimeFilter and the compute's claim read) pins exactly the CPUs
        its domains hold (``exact=False``: no CPU that no domain holds).

        After a delete, a revert or a move, Nova's usage can lag its
        placement allocations until the host's next resource audit
        (doc/source/integration.rst): a test that needs the freed CPU
        waits for it here, never on a sleep. Returns the seconds waited.
        """
        self.assertTrue(self.dedicated, 'needs [nova_rt] dedicated_cpus: '
                        'the CPUs whose usage to compare')
        timeout = timeout or CONF.nova_rt.usage_settle_timeout
        started = time.monotonic()
        while True:
            found = self.usage_differences(hosts, exact)
            waited = time.monotonic() - started
            if not found:
                LOG.info('NUMA usage settled after %.1f s', waited)
                return waited
            self.assertLess(waited, timeout,
                            'NUMA usage still differs from the domains '
                            'after %d s: %s' % (timeout, '; '.join(found)))
            time.sleep(0.5)

    def assert_nothing_of(self, server_id, name):
        """No domain named ``name`` on any host, no allocation left."""
        for host in self.hosts():
            self.assertNotIn(name, self.host_access.domain_names(host),
                             'domain %s left on %s' % (name, host))
        self.assertEqual({}, self.allocations_left([server_id]))


class ServiceRestartTest(CloudTest):

    @decorators.idempotent_id('3e1b5c7a-9d2f-4a6b-8c0d-1e2f3a4b5c01')
    def test_restarts_keep_guests_and_the_cloud_working(self):
        server = self.realtime_server()
        self.assert_realtime(server['id'], {1}, 'fifo', 10)
        before = self.guest_threads(server['id'])
        # One at a time, as an operator would, libvirtd under the guest.
        for service in ('nova-scheduler', 'nova-conductor', 'nova-compute',
                        'libvirtd'):
            self.cloud('restart', service)
        # Nova disables a compute whose libvirt connection dropped, until
        # it reconnects: the cloud is whole again once every compute is.
        self.wait_computes_enabled()
        # The guest never stopped: the same QEMU process and vCPU threads,
        # still real-time.
        self.assertEqual(before, self.guest_threads(server['id']))
        self.assert_realtime(server['id'], {1}, 'fifo', 10)
        # The restarted services still schedule, build and delete.
        plain = self.boot(self.flavor(1, base.UNPINNED))
        self.assert_not_realtime(plain['id'])
        self.delete_server_and_wait(server['id'])
        other = self.realtime_server()
        self.assert_realtime(other['id'], {1}, 'fifo', 10)


class DownDuringBuildTest(CloudTest):

    @decorators.idempotent_id('3e1b5c7a-9d2f-4a6b-8c0d-1e2f3a4b5c02')
    def test_down_during_a_build_then_up(self):
        server = self.realtime_server(wait=None)
        # Down while the server builds: nothing may start a guest after
        # down removed them, and down proves nothing is left.
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'BUILD')
        out = self.cloud('down')
        self.assertIn('no service, guest, domain or PID file left', out)
        out = self.cloud('up', timeout=1200)
        self.assertIn('cloud up with', out)
        # The interrupted build ends, in ERROR or ACTIVE, and deletes
        # cleanly, leaving nothing on any host.
        deadline = time.monotonic() + CONF.compute.build_timeout
        while True:
            state = self.admin_show(server['id'])
            if state['status'] in ('ERROR', 'ACTIVE') and \
                    not state.get('OS-EXT-STS:task_state'):
                break
            self.assertLess(time.monotonic(), deadline,
                            'server %s still %s/%s after up' % (
                                server['id'], state['status'],
                                state.get('OS-EXT-STS:task_state')))
            time.sleep(2)
        LOG.info('interrupted build ended %s', state['status'])
        name = state['OS-EXT-SRV-ATTR:instance_name']
        self.delete_server_and_wait(server['id'])
        self.assert_nothing_of(server['id'], name)
        # And the cloud builds real-time servers again.
        again = self.realtime_server()
        self.assert_realtime(again['id'], {1}, 'fifo', 10)
