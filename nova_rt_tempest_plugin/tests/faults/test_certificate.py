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
"""A compute's latency certificate damaged, replaced by one for another
kernel, or removed while the host is in service: the compute stops
publishing its certified latency at its next audit, real-time flavors
that bound the latency (``rt:max_latency_us``) stop landing there, the
real-time guest already running is untouched, and the compute logs the
reason once.

The certificate is real: ``nova-rt latency run`` (cyclictest) and
``nova-rt latency certify`` on the compute host, with the host's own
nova.conf, as an operator certifies a host.
"""

import json
import re
import shlex
import time

from nova_rt_tempest_plugin.tests import base as rt_base
from nova_rt_tempest_plugin.tests.faults import base
from oslo_log import log as logging
from tempest.lib import decorators

CONF = base.CONF
LOG = logging.getLogger(__name__)

# A bound every certified host meets: the test is about the certificate's
# validity, not about this machine's latency (TCG in a VM: milliseconds).
BOUND_US = 10 ** 7
UNCERTIFIED = 'nova-rt: this host has no certified latency: '
CERTIFIED_METRIC = re.compile(r'^nova_rt_latency_certified (\S+)$', re.M)


class LatencyCertificateTest(base.FaultsTest):

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.nova_rt.metrics_file:
            raise cls.skipException('needs [nova_rt] metrics_file: what '
                                    'the compute publishes of its latency')

    def setUp(self):
        super().setUp()
        self.host = sorted(self.hosts())[0]
        self.conf = CONF.nova_rt.host_nova_conf.format(host=self.host)
        self.tmp = self.on_host('mktemp -d /tmp/nova-rt-cert.XXXXXX').strip()
        self.addCleanup(self.on_host, 'rm -rf %s' % shlex.quote(self.tmp))
        self.result = '%s/run.json' % self.tmp
        cpu = min(self.dedicated) if self.dedicated else 0
        started = time.monotonic()
        self.nova_rt('latency', 'run', '--duration', '4s', '--slice', '1',
                     '--cpus', str(cpu), '--output', self.result)
        LOG.info('nova-rt latency run on %s (CPU %d) in %.1f s', self.host,
                 cpu, time.monotonic() - started)
        self.cert = None

    # -- the host -----------------------------------------------------------
    def on_host(self, script):
        return self.host_access.run(self.host, script)

    def nova_rt(self, *args):
        """nova-rt on the compute host, with the host's nova.conf."""
        argv = [CONF.nova_rt.host_nova_rt] + list(args) + [
            '--config-file', self.conf]
        return self.on_host(' '.join(shlex.quote(a) for a in argv) + ' 2>&1')

    def certify(self):
        out = self.nova_rt('latency', 'certify', '--input', self.result)
        match = re.search(r'^certificate: (\S+) \(max (\d+) us', out, re.M)
        self.assertIsNotNone(match, out)
        if self.cert is None:
            self.cert = match.group(1)
            self.addCleanup(self.wait_published, False)
            self.addCleanup(self.on_host, 'rm -f %s' % shlex.quote(self.cert))
        return int(match.group(2))

    def published(self):
        """Whether the compute's metrics say it is certified now."""
        text = self.on_host('cat %s' % shlex.quote(CONF.nova_rt.metrics_file))
        match = CERTIFIED_METRIC.search(text)
        self.assertIsNotNone(match, 'no nova_rt_latency_certified in the '
                             'metrics of %s' % self.host)
        return float(match.group(1)) == 1

    def wait_published(self, certified, timeout=90):
        """Until the compute publishes ``certified`` in its metrics and in
        the stats the scheduler reads (``nova_rt_latency_max_us`` in its
        compute node record). Seconds.
        """
        started = time.monotonic()
        while (self.published() != certified or
               ('nova_rt_latency_max_us' in
                self.compute_record(self.host).stats) != certified):
            self.assertLess(time.monotonic() - started, timeout,
                            '%s still %s certified after %d s' % (
                                self.host, 'not' if certified else '',
                                timeout))
            time.sleep(1)
        return time.monotonic() - started

    def wait_audits(self, count, timeout=90):
        """Until the compute has written its metrics ``count`` times more:
        as many resource audits.
        """
        stamp = 'stat -c %%y %s' % shlex.quote(CONF.nova_rt.metrics_file)
        seen = [self.on_host(stamp)]
        deadline = time.monotonic() + timeout
        while len(seen) <= count:
            self.assertLess(time.monotonic(), deadline, '%s wrote its '
                            'metrics %d times in %d s, not %d' % (
                                self.host, len(seen) - 1, timeout, count))
            time.sleep(0.5)
            now = self.on_host(stamp)
            if now != seen[-1]:
                seen.append(now)

    def log_lines(self):
        if not CONF.nova_rt.compute_log:
            return None
        path = CONF.nova_rt.compute_log.format(host=self.host)
        return self.on_host('cat %s' % shlex.quote(path)).splitlines()

    def uncertified_lines(self, since):
        """The compute's 'no certified latency' lines after line ``since``
        (None when there is no log to read).
        """
        lines = self.log_lines()
        if lines is None or since is None:
            return None
        return [line.split(UNCERTIFIED, 1)[1] for line in lines[since:]
                if UNCERTIFIED in line]

    # -- the faults ---------------------------------------------------------
    def damage(self):
        self.on_host('printf %s > {0}'.format(shlex.quote(self.cert))
                     % shlex.quote('{"max_latency_us": 1'))

    def other_kernel(self):
        doc = json.loads(self.on_host('cat %s' % shlex.quote(self.cert)))
        doc['kernel_release'] = '4.18.0-80.rt9.138.el8.x86_64'
        self.on_host("cat > %s <<'EOF'\n%s\nEOF\n" % (
            shlex.quote(self.cert), json.dumps(doc, indent=2)))

    def remove(self):
        self.on_host('rm %s' % shlex.quote(self.cert))

    def break_certificate(self, how):
        """Break the certificate ``how``; the reason the compute gives,
        logged once (None when there is no log to read).
        """
        lines = self.log_lines()
        since = len(lines) if lines is not None else None
        getattr(self, how)()
        took = self.wait_published(False)
        # Two audits more: the reason must not be logged again.
        self.wait_audits(2)
        reasons = self.uncertified_lines(since)
        if reasons is not None:
            self.assertEqual(1, len(reasons), 'the reason logged %d times '
                             'after the certificate was %s: %s'
                             % (len(reasons), how, reasons))
        LOG.info('certificate of %s %s: unpublished after %.1f s, '
                 'reason: %s', self.host, how.replace('_', ' '), took,
                 reasons[0] if reasons else '(no log)')
        return reasons[0] if reasons else None

    def assert_lands(self, flavor):
        server = self.create(flavor)['id']
        state = self.wait_final(server)
        self.assertEqual('ACTIVE', state['status'], state.get('fault'))
        self.assertEqual(self.host, state['OS-EXT-SRV-ATTR:host'],
                         'a bounded-latency server on an uncertified host')
        return server

    def assert_refused(self, flavor):
        server = self.create(flavor)['id']
        state = self.wait_final(server)
        self.assertEqual('ERROR', state['status'])
        self.assertIn('No valid host', state['fault']['message'])
        self.delete_as_admin(server)

    @decorators.idempotent_id('7c1d3e5f-0a2b-4c4d-8e6f-1a2b3c4d5e41')
    def test_damaged_replaced_removed_certificate(self):
        flavor = self.flavor(2, dict(rt_base.RT_TWO, **{
            'rt:vcpu_priority': '10', 'rt:max_latency_us': str(BOUND_US)}))
        self.require_pcpus(1, 'the real-time vCPU')
        max_us = self.certify()
        took = self.wait_published(True)
        LOG.info('%s certified (max %d us), published after %.1f s',
                 self.host, max_us, took)

        # Damaged under a running real-time guest that asked for the bound.
        running = self.assert_lands(flavor)
        threads = self.steady_threads(running)
        reason = self.break_certificate('damage')
        if reason is not None:
            self.assertIn('malformed certificate', reason)
        state = self.admin_show(running)
        self.assertEqual(('ACTIVE', 1), (state['status'],
                                         state['OS-EXT-STS:power_state']))
        self.assertEqual(threads, self.steady_threads(running),
                         'the running guest\'s QEMU and vCPU threads')
        self.assert_realtime(running, {1}, 'fifo', 10)
        self.delete_as_admin(running)
        # Refused for the certificate, not for want of the freed CPU.
        self.wait_usage_settled()
        self.assert_refused(flavor)

        # Replaced by a certificate of another kernel; then removed. Each
        # time certified again first: the flavor lands, then no longer.
        for how, says in (('other_kernel', 'kernel changed'),
                          ('remove', 'no latency certificate')):
            self.certify()
            self.wait_published(True)
            server = self.assert_lands(flavor)
            self.delete_as_admin(server)
            self.wait_usage_settled()
            reason = self.break_certificate(how)
            if reason is not None:
                self.assertIn(says, reason)
            self.assert_refused(flavor)
