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
"""The driver in Nova's in-process cloud: the domains it writes, the facts
it publishes, the spawns it refuses.

Every scenario's raw XML and the core's expectations are saved for the real
libvirt tier (tests/real).
"""

import dataclasses
import os

import fixtures
from lxml import etree
import nova.conf
from nova import context as nova_context
from nova import objects
from nova.tests.functional.api import client
from nova.tests.functional.libvirt import base
from nova import version as nova_version

from nova_rt.core import cpuset
from nova_rt import releases
from tests.functional import realtime_base as rb

CONF = nova.conf.CONF


class RealtimeDomainMixin(object):

    def boot(self, vcpus=4, image=None, expected_state='ACTIVE', **extra):
        specs = dict(rb.RT)
        specs.update(extra)
        flavor = self._create_flavor(vcpu=vcpus, memory_mb=1024,
                                     extra_spec=specs)
        kwargs = {'image_uuid': image} if image else {}
        return self._create_server(flavor_id=flavor, networks='none',
                                   expected_state=expected_state, **kwargs)

    def assert_realtime_domain(self, server, shared=None, cache_kib=None,
                               cmdline_prefix=None, xml_index=-1):
        """The whole real-time part of the domain last defined for
        ``server``, against Nova's record of its pinning.
        """
        doc = self.domain_xml(server, xml_index)
        request = self.request_of(server)
        pins, _ = self.pinning(server)
        emulator = self.expected_emulator_cpus(server, request, shared)
        emu = request.emulator_thread
        emu_attrs = {'scheduler': emu.scheduler,
                     'priority': str(emu.priority)}
        # Nova 33 (2026.1) and later pin an IOThread with the emulator.
        iothreads = releases.nova_pins_iothreads()
        expected = (
            [('emulatorpin', {'cpuset': cpuset.format(emulator)})] +
            [('iothreadpin', {'iothread': '1',
                              'cpuset': cpuset.format(emulator)})] *
            iothreads +
            [('vcpupin', {'vcpu': str(v), 'cpuset': str(pins[v])})
             for v in range(request.vcpus)] +
            [('vcpusched', {'vcpus': cpuset.format(request.realtime_vcpus),
                            'scheduler': request.vcpu_thread.scheduler,
                            'priority': str(request.vcpu_thread.priority)})])
        if emu.realtime:
            # SCHED_OTHER stays implicit: libvirt refuses scheduler='other'.
            expected += ([('iothreadsched', dict(emu_attrs, iothreads='1'))] *
                         iothreads + [('emulatorsched', emu_attrs)])
        if cache_kib:
            expected.append(('cachetune', {
                'vcpus': cpuset.format(request.realtime_vcpus)}))
        tune = doc.find('cputune')
        self.assertEqual(expected, [(e.tag, dict(e.attrib)) for e in tune])
        if cache_kib:
            rt_cpus = {pins[v] for v in request.realtime_vcpus}
            size = self.l3_size[server['OS-EXT-SRV-ATTR:host']]
            ids = sorted({cpu // size for cpu in rt_cpus})
            self.assertEqual(
                [{'id': str(i), 'level': '3', 'type': 'both',
                  'size': str(cache_kib), 'unit': 'KiB'} for i in ids],
                [dict(c.attrib) for c in tune.find('cachetune')])
        self.assertEqual(
            ('features', {}, '', [
                ('acpi', {}, '', []), ('apic', {}, '', []),
                ('vmcoreinfo', {}, '', []),
                ('pmu', {'state': 'on' if request.pmu else 'off'}, '', []),
                ('kvm', {}, '', [
                    ('hint-dedicated', {'state': 'on'}, '', [])])]),
            rb.element_dict(doc.find('features')))
        self.assertEqual(['locked', 'nosharepages'], sorted(
            e.tag for e in doc.find('memoryBacking')))
        self.assertEqual(
            ('sysinfo', {'type': 'smbios'}, '', [
                ('system', {}, '', [
                    ('entry', {'name': name}, value, [])
                    for name, value in (
                        ('manufacturer', 'OpenStack Foundation'),
                        ('product', 'OpenStack Nova'),
                        ('version',
                         nova_version.version_string_with_package()),
                        ('serial', server['id']), ('uuid', server['id']),
                        ('family', 'Virtual Machine'))]),
                ('oemStrings', {}, '', [
                    ('entry', {}, text, [])
                    for text in request.to_dict()['oem_strings']])]),
            rb.element_dict(doc.find('sysinfo')))
        self.assertEqual('sysinfo', doc.find('os/smbios').get('mode'))
        if cmdline_prefix is None:
            self.assertIsNone(doc.find('os/cmdline'))
        else:
            self.assertEqual(
                (cmdline_prefix + ' ' + ' '.join(
                    request.guest_kernel_args())).strip(),
                doc.findtext('os/cmdline'))
        return request, emulator

    def faults(self, server):
        faults = objects.InstanceFaultList.get_by_instance_uuids(
            nova_context.get_admin_context(), [server['id']])
        return [f.message for f in faults]


class SpawnTest(RealtimeDomainMixin, rb.RealtimeDriverTestBase):
    """A 2x6-CPU host, CPUs 0 and 6 for housekeeping, with CAT (one L3 per
    node, 11 ways of 2560 KiB).
    """

    SHARED = {0, 6}

    def setUp(self):
        super().setUp()
        self.start_realtime_compute('rt1', nodes=2, cores_per_node=6,
                                    housekeeping=self.SHARED)

    def test_fifo_caret_mask_disk_image(self):
        server = self.boot(**{'hw:cpu_realtime_mask': '^0',
                              'rt:vcpu_priority': '10'})
        request, emulator = self.assert_realtime_domain(server)
        self.assertEqual('10', self.domain_xml(server).find(
            'cputune/vcpusched').get('priority'))
        self.save_scenario('fifo-caret-mask-disk', server, request, emulator)

    def test_rr_plain_mask_direct_kernel_cat(self):
        server = self.boot(image=rb.DIRECT_KERNEL_IMAGE, **{
            'hw:cpu_realtime_mask': '1-3', 'rt:vcpu_scheduler': 'rr',
            'rt:vcpu_priority': '20', 'rt:emulator_scheduler': 'fifo',
            'rt:emulator_priority': '5', 'rt:l3_cache_kib': '4000',
            'rt:guest_idle_poll': 'true'})
        # 4000 KiB rounds up to two ways of 2560 KiB.
        request, emulator = self.assert_realtime_domain(
            server, cache_kib=5120,
            cmdline_prefix='root=/dev/vda console=tty0 console=ttyS0 '
            'console=hvc0')
        self.assertIn('idle=poll', request.guest_kernel_args())
        self.save_scenario('rr-plain-mask-kernel-cat', server, request,
                           emulator, direct_kernel_boot=True, cache_kib=5120)

    def test_emulator_isolate(self):
        server = self.boot(**{
            'hw:cpu_realtime_mask': '^0-1', 'rt:vcpu_priority': '15',
            'hw:emulator_threads_policy': 'isolate',
            'rt:emulator_scheduler': 'rr', 'rt:emulator_priority': '3'})
        request, emulator = self.assert_realtime_domain(server)
        self.assertEqual(1, len(emulator))
        pins, _ = self.pinning(server)
        self.assertNotIn(next(iter(emulator)), pins.values())
        self.save_scenario('emulator-isolate', server, request, emulator)

    def test_emulator_share(self):
        server = self.boot(**{
            'hw:cpu_realtime_mask': '^0', 'rt:vcpu_priority': '12',
            'hw:emulator_threads_policy': 'share'})
        request, emulator = self.assert_realtime_domain(
            server, shared=self.SHARED)
        self.assertEqual(frozenset(self.SHARED), emulator)
        self.save_scenario('emulator-share', server, request, emulator)

    def test_mixed_housekeeping_vcpu_floats_on_the_shared_cpus(self):
        server = self.boot(**{'hw:cpu_policy': 'mixed',
                              'hw:cpu_realtime_mask': '^0',
                              'rt:vcpu_priority': '10'})
        request = self.request_of(server)
        self.assertEqual(3, request.pcpus)
        pins, _ = self.pinning(server)
        # Nova pins only the real-time (dedicated) vCPUs.
        self.assertEqual({1, 2, 3}, set(pins))
        doc = self.domain_xml(server)
        tune = {(e.tag, e.get('vcpu')): e.get('cpuset')
                for e in doc.find('cputune')}
        shared = cpuset.parse(tune[('vcpupin', '0')], 'vcpupin 0')
        self.assertLessEqual(shared, self.SHARED)
        for vcpu in (1, 2, 3):
            self.assertEqual(str(pins[vcpu]), tune[('vcpupin', str(vcpu))])
            self.assertNotIn(pins[vcpu], self.SHARED)
        self.assertEqual(shared, cpuset.parse(
            tune[('emulatorpin', None)], 'emulatorpin'))
        sched = doc.find('cputune/vcpusched')
        self.assertEqual(('1-3', 'fifo', '10'), (
            sched.get('vcpus'), sched.get('scheduler'),
            sched.get('priority')))
        self.assertEqual(
            'io.systemd.stub.kernel-cmdline-extra=' +
            ' '.join(request.guest_kernel_args()),
            doc.find('sysinfo/oemStrings/entry').text)
        usage = self._get_provider_usages(self.compute_rp_uuids['rt1'])
        self.assertEqual((3, 1), (usage['PCPU'], usage['VCPU']))

    def test_guest_tuning_none(self):
        server = self.boot(**{'hw:cpu_realtime_mask': '^0',
                              'rt:guest_tuning': 'none'})
        doc = self.domain_xml(server)
        self.assertIsNone(doc.find('sysinfo/oemStrings'))
        self.assertEqual('fifo', doc.find('cputune/vcpusched').get(
            'scheduler'))

    def test_pmu_on_when_asked(self):
        server = self.boot(**{'hw:cpu_realtime_mask': '^0',
                              'hw:pmu': 'true'})
        self.assert_realtime_domain(server)

    def test_facts_and_traits_reach_placement_and_scheduler(self):
        facts = self.facts_of('rt1')
        self.assertTrue(facts.ready)
        self.assertEqual('preempt_rt', facts.kernel)
        self.assertEqual(frozenset({1, 2, 3, 4, 5, 7, 8, 9, 10, 11}),
                         facts.isolated_cpus)
        traits = self._get_provider_traits(self.compute_rp_uuids['rt1'])
        for trait in ('CUSTOM_NOVA_RT_READY', 'CUSTOM_NOVA_RT_PREEMPT_RT',
                      'CUSTOM_NOVA_RT_CAT'):
            self.assertIn(trait, traits)
        node = objects.ComputeNode.get_by_nodename(
            nova_context.get_admin_context(), 'rt1')
        self.assertEqual('true', node.stats['nova_rt_ready'])
        self.assertEqual('1-5,7-11', node.stats['nova_rt_isolated_cpus'])
        self.assertEqual('50', node.stats['nova_rt_kthread_prio'])
        self.assertEqual('18', node.stats['nova_rt_latency_max_us'])
        # A flavor can require the trait, as FIELD-NOTES measured.
        server = self.boot(**{'hw:cpu_realtime_mask': '^0',
                              'trait:CUSTOM_NOVA_RT_READY': 'required'})
        self.assertEqual('rt1', server['OS-EXT-SRV-ATTR:host'])


class RefusalTest(RealtimeDomainMixin, rb.RealtimeDriverTestBase):
    """The driver refuses at spawn what the host cannot honour, before
    anything is created, and Nova reschedules.
    """

    def setUp(self):
        super().setUp()
        for name in ('rt1', 'rt2'):
            self.start_realtime_compute(name, nodes=2, cores_per_node=6,
                                        housekeeping={0, 6})
        # Audit at every use, so a change on the host is seen at spawn
        # although the scheduler still has the old facts.
        self.flags(facts_refresh_interval=0, group='nova_rt')

    def _setup_scheduler_service(self):
        # Packing makes the host that already runs an instance the first
        # choice, so the test knows which host the scheduler tries first.
        self.flags(weight_classes=[
            'nova_rt.scheduler.weights.RealtimeWeigher'],
            group='filter_scheduler')
        return super()._setup_scheduler_service()

    def test_not_ready_at_spawn_reschedules(self):
        # rt1 is the fuller host, so the packing weigher picks it first.
        first = self.boot(vcpus=2, **{'hw:cpu_realtime_mask': '^0'})
        host = first['OS-EXT-SRV-ATTR:host']
        other = 'rt2' if host == 'rt1' else 'rt1'
        self.break_isolation(host)
        server = self.boot(**{'hw:cpu_realtime_mask': '^0'})
        self.assertEqual(other, server['OS-EXT-SRV-ATTR:host'])
        messages = ' | '.join(self.faults(server))
        self.assertIn('nova-rt: not_ready: host is not ready for real-time '
                      'guests', messages)
        self.assertEqual(1, len(self.defined[server['id']]))
        self.assertFalse(self.facts_of(host).ready)

    def test_not_ready_everywhere_errors_with_reason(self):
        self.break_isolation('rt1')
        self.break_isolation('rt2')
        server = self.boot(expected_state='ERROR',
                           **{'hw:cpu_realtime_mask': '^0'})
        messages = ' | '.join(self.faults(server))
        self.assertIn('host is not ready for real-time guests', messages)
        self.assertNotIn(server['id'], self.defined)

    def test_never_realtime_flavor_errors_with_reason(self):
        # rt: keys without hw:cpu_realtime: nova-api stores it (extra-spec
        # validators see one key at a time); the build fails before
        # anything is created, with nova-rt's reason, not NoValidHost.
        flavor = self._create_flavor(vcpu=2, memory_mb=1024, extra_spec={
            'hw:cpu_policy': 'dedicated', 'rt:vcpu_priority': '10'})
        server = self._create_server(flavor_id=flavor, networks='none',
                                     expected_state='ERROR')
        self.assertIn('nova-rt: invalid real-time flavor',
                      server['fault']['message'])
        self.assertIn('hw:cpu_realtime', server['fault']['message'])
        self.assertNotIn(server['id'], self.defined)


class LabModeTest(RealtimeDomainMixin, rb.RealtimeDriverTestBase):
    """Lab mode: real-time guests on a compute that is not ready.

    Only with lab mode on, and the compute still publishes that it is not
    ready.
    """

    def start_lab_compute(self, lab_mode):
        self.flags(lab_mode=lab_mode, group='nova_rt')
        # Nothing isolated: the audit says not ready.
        self.start_realtime_compute('lab1', nodes=1, cores_per_node=4,
                                    housekeeping={0}, ready=False)

    def test_lab_mode_boots_on_dedicated_cpus_with_honest_facts(self):
        self.start_lab_compute(True)
        facts = self.facts_of('lab1')
        self.assertFalse(facts.ready)
        self.assertTrue(facts.lab)
        server = self.boot(vcpus=2, **{'hw:cpu_realtime_mask': '^0'})
        self.assertEqual('lab1', server['OS-EXT-SRV-ATTR:host'])
        xml = self.domain_xml(server)
        self.assertEqual(1, len(xml.findall('cputune/vcpusched')))
        rp = self._get_provider_uuid_by_host('lab1')
        traits = set(self._get_provider_traits(rp))
        self.assertIn('CUSTOM_NOVA_RT_LAB', traits)
        self.assertNotIn('CUSTOM_NOVA_RT_READY', traits)

    def test_without_lab_mode_a_not_ready_host_refuses(self):
        self.start_lab_compute(False)
        self.assertFalse(self.facts_of('lab1').lab)
        server = self.boot(vcpus=2, expected_state='ERROR',
                           **{'hw:cpu_realtime_mask': '^0'})
        self.assertIn('No valid host', server['fault']['message'])
        self.assertNotIn(server['id'], self.defined)


class DriverWithoutFilterTest(RealtimeDomainMixin,
                              rb.RealtimeDriverTestBase):
    """With RealtimeFilter not enabled, the driver still protects the
    host.
    """

    ADDITIONAL_FILTERS = ['NUMATopologyFilter']

    def setUp(self):
        super().setUp()
        self.start_realtime_compute('rt1', nodes=2, cores_per_node=6,
                                    housekeeping={0, 6})
        self.flags(max_vcpu_priority=90, group='nova_rt')

    def test_priority_above_kernel_threads_faults(self):
        # The host's kernel threads run at FIFO 50: a vCPU at 60 would
        # starve them.
        server = self.boot(expected_state='ERROR', **{
            'hw:cpu_realtime_mask': '^0', 'rt:vcpu_priority': '60'})
        messages = ' | '.join(self.faults(server))
        self.assertIn('nova-rt: kthread_priority: priority 60 is not below '
                      'the host kernel threads (50)', messages)
        self.assertNotIn(server['id'], self.defined)

    def test_cache_larger_than_the_host_faults(self):
        server = self.boot(expected_state='ERROR', **{
            'hw:cpu_realtime_mask': '^0', 'rt:l3_cache_kib': '30000'})
        messages = ' | '.join(self.faults(server))
        self.assertIn('nova-rt: l3_cache', messages)
        self.assertNotIn(server['id'], self.defined)


class LifecycleTest(RealtimeDomainMixin, base.LibvirtMigrationMixin,
                    rb.RealtimeDriverTestBase):
    """Every real-time setting survives each lifecycle operation, re-derived
    for the pinning the instance has after it.
    """

    FLAVOR = {'hw:cpu_realtime_mask': '^0', 'rt:vcpu_scheduler': 'rr',
              'rt:vcpu_priority': '20', 'rt:emulator_scheduler': 'fifo',
              'rt:emulator_priority': '4', 'rt:l3_cache_kib': '2560'}

    def setUp(self):
        super().setUp()
        # As Nova's own NUMA tests do: no disks to copy in a fake cloud.
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.driver.LibvirtDriver'
            '.migrate_disk_and_power_off', return_value='{}'))
        # Two L3 domains per node on rt2: a migration must re-derive the
        # cache ids for where the instance lands.
        for name, l3_per_node in (('rt1', 1), ('rt2', 2)):
            self.start_realtime_compute(name, nodes=2, cores_per_node=6,
                                        housekeeping={0, 6},
                                        l3_per_node=l3_per_node)
        self.server = self.boot(**self.FLAVOR)
        self.src = self.computes[self.server['OS-EXT-SRV-ATTR:host']]
        self.dest = self.computes[
            'rt2' if self.src.host == 'rt1' else 'rt1']
        self.assert_realtime_domain(self.server, cache_kib=2560)

    def _migrate_stub(self, domain, destination, params, flags):
        self.migrated_xml = etree.fromstring(params['destination_xml'])
        super()._migrate_stub(domain, destination, params, flags)

    def domains_defined(self):
        return len(self.defined[self.server['id']])

    def check(self, server, before):
        self.assertGreater(self.domains_defined(), before,
                           'the operation wrote no domain')
        self.assert_realtime_domain(server, cache_kib=2560)

    def test_hard_reboot(self):
        before = self.domains_defined()
        server = self._reboot_server(self.server, hard=True)
        self.check(server, before)

    def test_stop_start(self):
        self._stop_server(self.server)
        before = self.domains_defined()
        server = self._start_server(self.server)
        self.check(server, before)

    def test_resize_to_another_mask(self):
        flavor = self._create_flavor(vcpu=5, memory_mb=1024, extra_spec=dict(
            rb.RT, **{'hw:cpu_realtime_mask': '^0-1',
                      'rt:vcpu_priority': '30', 'rt:l3_cache_kib': '2560'}))
        before = self.domains_defined()
        server = self._resize_server(self.server, flavor)
        self.check(server, before)
        doc = self.domain_xml(server)
        self.assertEqual('2-4', doc.find('cputune/vcpusched').get('vcpus'))
        self.assertIn('org.openstack.nova-rt.realtime-vcpus=2-4', [
            e.text for e in doc.findall('sysinfo/oemStrings/entry')])
        server = self._confirm_resize(server)
        self.assert_realtime_domain(server, cache_kib=2560)

    def test_cold_migrate(self):
        before = self.domains_defined()
        server = self._migrate_server(self.server)
        self.assertEqual(self.dest.host, server['OS-EXT-SRV-ATTR:host'])
        self.check(server, before)
        self._confirm_resize(server)

    def test_live_migrate(self):
        server = self._live_migrate(self.server)
        self.assertEqual(self.dest.host, server['OS-EXT-SRV-ATTR:host'])
        self.assertTrue(self.migrate_stub_ran)
        # The destination XML is the source's, rewritten by Nova for the
        # new pins and by nova-rt for the scheduling class and CAT.
        doc = self.migrated_xml
        self.assertEqual(
            [{'vcpus': '1-3', 'scheduler': 'rr', 'priority': '20'}],
            [dict(e.attrib) for e in doc.findall('cputune/vcpusched')])
        pins, _ = self.pinning(server)
        self.assertEqual(
            {str(v): str(p) for v, p in pins.items()},
            {e.get('vcpu'): e.get('cpuset')
             for e in doc.findall('cputune/vcpupin')})
        self.assertEqual({'scheduler': 'fifo', 'priority': '4'},
                         dict(doc.find('cputune/emulatorsched').attrib))
        size = self.l3_size[self.dest.host]
        self.assertEqual(
            [{'id': str(i), 'level': '3', 'type': 'both', 'size': '2560',
              'unit': 'KiB'} for i in sorted({pins[v] // size
                                              for v in (1, 2, 3)})],
            [dict(c.attrib) for c in doc.findall('cputune/cachetune/cache')])

    def test_live_migrate_refused_by_a_destination_not_ready(self):
        # Forced (2.30): no scheduler, the destination itself refuses.
        audit = self.dest.driver._rt_audit
        state = audit.current()
        self.useFixture(fixtures.MockPatchObject(
            audit, 'current', return_value=dataclasses.replace(
                state, facts=dataclasses.replace(state.facts,
                                                 ready=False))))
        self.api.microversion = '2.30'
        e = self.assertRaises(
            client.OpenStackApiException, self.api.post_server_action,
            self.server['id'], {'os-migrateLive': {
                'host': self.dest.host, 'block_migration': 'auto',
                'force': True}})
        self.assertEqual(400, e.response.status_code)
        self.assertIn('nova-rt: not_ready: host is not ready for real-time '
                      'guests on', e.response.text)
        server = self.api.get_server(self.server['id'])
        self.assertEqual(('ACTIVE', self.src.host), (
            server['status'], server['OS-EXT-SRV-ATTR:host']))
        self.assertFalse(self.migrate_stub_ran)

    def test_evacuate(self):
        source = self.src.host
        self.src.stop()
        service = self.api.get_services(host=source,
                                        binary='nova-compute')[0]
        self.api.put_service(service['id'], {'forced_down': True})
        before = self.domains_defined()
        # Since microversion 2.95 an evacuated server stays stopped.
        server = self._evacuate_server(self.server,
                                       expected_host=self.dest.host,
                                       expected_state='SHUTOFF')
        self.check(server, before)

    def test_rebuild(self):
        before = self.domains_defined()
        self.api.post_server_action(self.server['id'], {'rebuild': {
            'imageRef': 'a2459075-d96c-40d5-893e-577ff92e721c'}})
        server = self._wait_for_state_change(self.server, 'ACTIVE')
        self.check(server, before)

    def test_shelve_unshelve(self):
        self._shelve_server(self.server)
        before = self.domains_defined()
        server = self._unshelve_server(self.server)
        self.check(server, before)

    def test_rescue(self):
        # Rescue saves the domain XML in the instance directory.
        os.makedirs(os.path.join(CONF.instances_path, self.server['id']),
                    exist_ok=True)
        before = self.domains_defined()
        # Nova's own helpers for these are newer than 2024.1.
        self.api.post_server_action(self.server['id'],
                                    {'rescue': {'adminPass': 'rescue-me'}})
        server = self._wait_for_state_change(self.server, 'RESCUE')
        self.assertGreater(self.domains_defined(), before)
        # The rescue domain is real-time too: same pins, classes, CAT and
        # OEM strings (the rescue image is a disk image: no <cmdline>).
        self.assert_realtime_domain(server, cache_kib=2560)
        self.api.post_server_action(server['id'], {'unrescue': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('ACTIVE', server['status'])


class BootableScenarioTest(RealtimeDomainMixin, rb.RealtimeDriverTestBase):
    """A 4-CPU host whose real-time CPUs are 0-1, so the real libvirt tier
    can boot these domains on a 2-CPU CI machine as they are pinned.
    """

    def setUp(self):
        super().setUp()
        self.start_realtime_compute('small', nodes=1, cores_per_node=4,
                                    housekeeping={2, 3}, cat=False)

    def test_fifo_disk_image(self):
        server = self.boot(vcpus=2, **{'hw:cpu_realtime_mask': '^0',
                                       'rt:vcpu_priority': '10'})
        request, emulator = self.assert_realtime_domain(server)
        self.assertEqual({0: 0, 1: 1}, self.pinning(server)[0])
        self.save_scenario('boot-fifo-disk', server, request, emulator)

    def test_rr_direct_kernel(self):
        server = self.boot(vcpus=2, image=rb.DIRECT_KERNEL_IMAGE, **{
            'hw:cpu_realtime_mask': '1', 'rt:vcpu_scheduler': 'rr',
            'rt:vcpu_priority': '5', 'rt:emulator_scheduler': 'fifo',
            'rt:emulator_priority': '2', 'rt:guest_idle_poll': 'true'})
        request, emulator = self.assert_realtime_domain(
            server, cmdline_prefix='root=/dev/vda console=tty0 '
            'console=ttyS0 console=hvc0')
        self.assertEqual({0: 0, 1: 1}, self.pinning(server)[0])
        self.save_scenario('boot-rr-kernel', server, request, emulator,
                           direct_kernel_boot=True)

    def test_cache_refused_without_cat(self):
        server = self.boot(vcpus=2, expected_state='ERROR', **{
            'hw:cpu_realtime_mask': '^0', 'rt:l3_cache_kib': '1024'})
        self.assertNotIn(server['id'], self.defined)
