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

import types

from lxml import etree
from nova.virt.libvirt import config as vconfig
import testtools

from nova_rt.core import cat
from nova_rt.core import exception
from nova_rt.core import request as rt
from nova_rt import releases
from nova_rt.virt import designer
from nova_rt.virt import libvirt_config


def build(vcpus=4, **specs):
    extra = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
             'hw:cpu_realtime_mask': '^0'}
    extra.update({k.replace('__', ':'): v for k, v in specs.items()})
    return rt.build_request(vcpus, extra, None,
                            rt.RequestPolicy(max_vcpu_priority=90))


NOVA_IOTHREADS = releases.nova_pins_iothreads()


def nova_cputune(pins, emulator, iothread=True, priority=1):
    """A <cputune> as Nova builds it for hw:cpu_realtime."""
    tune = vconfig.LibvirtConfigGuestCPUTune()
    for vcpu, pcpu in sorted(pins.items()):
        pin = vconfig.LibvirtConfigGuestCPUTuneVCPUPin()
        pin.id = vcpu
        pin.cpuset = {pcpu}
        tune.vcpupin.append(pin)
    tune.emulatorpin = vconfig.LibvirtConfigGuestCPUTuneEmulatorPin()
    tune.emulatorpin.cpuset = set(emulator)
    # Nova 33 (2026.1) and later pin an IOThread with the emulator.
    if iothread and NOVA_IOTHREADS:
        io = vconfig.LibvirtConfigGuestCPUTuneIOThreadPin()
        io.iothread = 1
        io.cpuset = set(emulator)
        tune.iothreadpin.append(io)
    sched = vconfig.LibvirtConfigGuestCPUTuneVCPUSched()
    sched.vcpus = {1, 2, 3}
    sched.scheduler = 'fifo'
    sched.priority = priority
    tune.vcpusched.append(sched)
    return tune


def nova_guest(pins=None, emulator=(4,), virt_type='kvm', kernel=None,
               cmdline=None, features=None, mode='host-model'):
    guest = vconfig.LibvirtConfigGuest()
    guest.virt_type = virt_type
    guest.name = 'instance-00000001'
    guest.uuid = 'b5b5d4c3-0000-4000-8000-000000000001'
    guest.vcpus = 4
    guest.os_type = 'hvm'
    guest.cputune = nova_cputune(pins or {0: 4, 1: 5, 2: 6, 3: 7}, emulator)
    guest.cpu = vconfig.LibvirtConfigGuestCPU()
    guest.cpu.mode = mode
    guest.features = features if features is not None else [
        vconfig.LibvirtConfigGuestFeatureACPI(),
        vconfig.LibvirtConfigGuestFeatureAPIC()]
    guest.sysinfo = vconfig.LibvirtConfigGuestSysinfo()
    guest.sysinfo.system_manufacturer = 'OpenStack Foundation'
    guest.sysinfo.system_serial = guest.uuid
    guest.os_smbios = vconfig.LibvirtConfigGuestSMBIOS()
    guest.os_kernel = kernel
    guest.os_cmdline = cmdline
    return guest


LAYOUT = cat.CacheLayout(
    cache_of_cpu={cpu: 0 if cpu < 8 else 1 for cpu in range(16)},
    way_kib=1024, domain_kib=11264)


def xml(guest):
    return etree.fromstring(guest.to_xml())


class ApplyTest(testtools.TestCase):

    def test_cputune(self):
        guest = nova_guest(emulator={4})
        designer.apply(guest, build(rt__vcpu_priority='10',
                                    rt__vcpu_scheduler='rr',
                                    rt__emulator_scheduler='fifo',
                                    rt__emulator_priority='5'))
        tune = xml(guest).find('cputune')
        self.assertEqual(
            ['emulatorpin'] + ['iothreadpin'] * NOVA_IOTHREADS +
            ['vcpupin', 'vcpupin', 'vcpupin', 'vcpupin', 'vcpusched'] +
            ['iothreadsched'] * NOVA_IOTHREADS + ['emulatorsched'],
            [e.tag for e in tune])
        scheds = tune.findall('vcpusched')
        self.assertEqual(1, len(scheds), 'upstream entry replaced, not added')
        self.assertEqual({'vcpus': '1-3', 'scheduler': 'rr',
                          'priority': '10'}, dict(scheds[0].attrib))
        self.assertEqual({'scheduler': 'fifo', 'priority': '5'},
                         dict(tune.find('emulatorsched').attrib))
        if NOVA_IOTHREADS:
            self.assertEqual({'iothreads': '1', 'scheduler': 'fifo',
                              'priority': '5'},
                             dict(tune.find('iothreadsched').attrib))
        self.assertEqual('4', tune.find('emulatorpin').get('cpuset'))

    def test_emulator_other(self):
        # libvirt refuses scheduler='other': SCHED_OTHER is left implicit.
        guest = nova_guest()
        designer.apply(guest, build())
        tune = xml(guest).find('cputune')
        self.assertIsNone(tune.find('emulatorsched'))
        self.assertIsNone(tune.find('iothreadsched'))
        self.assertEqual({'vcpus': '1-3', 'scheduler': 'fifo',
                          'priority': '1'},
                         dict(tune.find('vcpusched').attrib))

    def test_emulator_on_realtime_cpu_refused(self):
        for emulator in ({5}, {4, 7}):
            guest = nova_guest(emulator=emulator)
            e = self.assertRaises(exception.RequestNotHonourable,
                                  designer.apply, guest, build())
            self.assertIn('emulator threads would run on host CPU(s)', str(e))

    def test_iothread_on_realtime_cpu_refused(self):
        guest = nova_guest(emulator={4})
        # As Nova 33 (2026.1) and later pin it; older Nova has no IOThread.
        guest.cputune.iothreadpin = [types.SimpleNamespace(iothread=1,
                                                           cpuset={6})]
        e = self.assertRaises(exception.RequestNotHonourable,
                              designer.apply, guest, build())
        self.assertIn('I/O thread 1 would run on host CPU(s) 6', str(e))

    def test_no_emulator_cpu_refused(self):
        guest = nova_guest(emulator=set())
        e = self.assertRaises(exception.RequestNotHonourable,
                              designer.apply, guest, build())
        self.assertIn('no host CPU is left for the emulator', str(e))

    def test_housekeeping_sharing_realtime_cpu_refused(self):
        guest = nova_guest(pins={0: 5, 1: 5, 2: 6, 3: 7})
        e = self.assertRaises(exception.RequestNotHonourable,
                              designer.apply, guest, build())
        self.assertIn('housekeeping vCPU 0', str(e))

    def test_floating_realtime_vcpu_refused(self):
        guest = nova_guest()
        guest.cputune.vcpupin[1].cpuset = {5, 6}
        e = self.assertRaises(exception.RequestNotHonourable,
                              designer.apply, guest, build())
        self.assertIn('real-time vCPU 1 floats over host CPUs 5-6', str(e))

    def test_unpinned_refused(self):
        guest = nova_guest()
        guest.cputune.vcpupin.pop()
        e = self.assertRaises(exception.RequestNotHonourable,
                              designer.apply, guest, build())
        self.assertIn('real-time vCPU(s) 3 are not pinned', str(e))
        guest = nova_guest()
        guest.cputune = None
        self.assertRaises(exception.RequestNotHonourable, designer.apply,
                          guest, build())

    def test_cachetune(self):
        guest = nova_guest()
        designer.apply(guest, build(rt__l3_cache_kib='1500'), LAYOUT)
        tune = xml(guest).find('cputune')
        self.assertEqual('cachetune', tune[-1].tag)
        cachetune = tune.find('cachetune')
        self.assertEqual('1-3', cachetune.get('vcpus'))
        caches = cachetune.findall('cache')
        self.assertEqual([{'id': '0', 'level': '3', 'type': 'both',
                           'size': '2048', 'unit': 'KiB'}],
                         [dict(c.attrib) for c in caches])

    def test_cachetune_spanning_two_caches(self):
        guest = nova_guest(pins={0: 4, 1: 7, 2: 8, 3: 9})
        designer.apply(guest, build(rt__l3_cache_kib='1024'), LAYOUT)
        ids = [c.get('id') for c in xml(guest).iter('cache')]
        self.assertEqual(['0', '1'], ids)

    def test_cachetune_refusals(self):
        e = self.assertRaises(exception.RequestNotHonourable, designer.apply,
                              nova_guest(), build(rt__l3_cache_kib='1024'),
                              None)
        self.assertIn('no Cache Allocation Technology', str(e))
        e = self.assertRaises(exception.RequestNotHonourable, designer.apply,
                              nova_guest(), build(rt__l3_cache_kib='20000'),
                              LAYOUT)
        self.assertIn('needs 20480 KiB of L3 cache 0, which has 11264', str(e))
        e = self.assertRaises(exception.RequestNotHonourable, designer.apply,
                              nova_guest(pins={0: 4, 1: 5, 2: 6, 3: 40}),
                              build(rt__l3_cache_kib='1024'), LAYOUT)
        self.assertIn('host CPU(s) 40 belong to no known L3 cache', str(e))

    def test_no_cachetune_without_request(self):
        guest = nova_guest()
        designer.apply(guest, build(), LAYOUT)
        self.assertIsNone(xml(guest).find('cputune/cachetune'))

    def test_features(self):
        guest = nova_guest()
        designer.apply(guest, build())
        features = xml(guest).find('features')
        self.assertEqual('off', features.find('pmu').get('state'))
        self.assertEqual('on',
                         features.find('kvm/hint-dedicated').get('state'))
        self.assertIsNone(features.find('kvm/hidden'))
        self.assertIsNotNone(features.find('acpi'))

    def test_pmu_on_when_asked(self):
        guest = nova_guest(features=[
            vconfig.LibvirtConfigGuestFeaturePMU(True)])
        designer.apply(guest, build(hw__pmu='true'))
        pmus = xml(guest).findall('features/pmu')
        self.assertEqual(['on'], [p.get('state') for p in pmus])

    def test_hidden_kept_with_hint(self):
        guest = nova_guest(features=[
            vconfig.LibvirtConfigGuestFeatureKvmHidden()])
        designer.apply(guest, build())
        kvm = xml(guest).findall('features/kvm')
        self.assertEqual(1, len(kvm))
        self.assertEqual(['hidden', 'hint-dedicated'],
                         [e.tag for e in kvm[0]])

    def test_no_hint_without_kvm(self):
        for virt_type, mode in (('qemu', 'host-model'), ('kvm', None)):
            guest = nova_guest(virt_type=virt_type)
            if mode is None:
                guest.cpu = None
            designer.apply(guest, build())
            self.assertIsNone(xml(guest).find('features/kvm'))

    def test_tcg_translation_cache(self):
        guest = nova_guest(virt_type='qemu')
        designer.apply(guest, build())
        cache = xml(guest).findall('features/tcg/tb-cache')
        self.assertEqual([('MiB', str(designer.TCG_TB_CACHE_MIB))],
                         [(c.get('unit'), c.text) for c in cache])
        # KVM has no translation cache.
        guest = nova_guest()
        designer.apply(guest, build())
        self.assertIsNone(xml(guest).find('features/tcg'))

    def test_tcg_translation_cache_already_set_is_kept(self):
        guest = nova_guest(virt_type='qemu', features=[
            libvirt_config.TcgFeature(256)])
        designer.apply(guest, build())
        cache = xml(guest).findall('features/tcg/tb-cache')
        self.assertEqual(['256'], [c.text for c in cache])

    def test_memory(self):
        guest = nova_guest()
        designer.apply(guest, build())
        backing = xml(guest).find('memoryBacking')
        self.assertIsNotNone(backing.find('locked'))
        self.assertIsNotNone(backing.find('nosharepages'))

    def test_oem_strings(self):
        guest = nova_guest()
        request = build(rt__vcpu_priority='10')
        designer.apply(guest, request)
        doc = xml(guest)
        sysinfo = doc.find('sysinfo')
        self.assertEqual('OpenStack Foundation', sysinfo.find(
            "system/entry[@name='manufacturer']").text)
        strings = libvirt_config.parse_oem_strings(sysinfo)
        self.assertEqual(list(request.to_dict()['oem_strings']), strings)
        self.assertIn('io.systemd.stub.kernel-cmdline-extra=isolcpus='
                      'managed_irq,domain,1-3 nohz=on', strings[0])
        self.assertEqual('sysinfo', doc.find('os/smbios').get('mode'))
        self.assertIsNone(doc.find('os/cmdline'))

    def test_no_oem_strings_with_tuning_none(self):
        guest = nova_guest()
        designer.apply(guest, build(rt__guest_tuning='none'))
        self.assertIsNone(xml(guest).find('sysinfo/oemStrings'))

    def test_direct_kernel_boot_cmdline(self):
        guest = nova_guest(kernel='/var/lib/nova/instances/x/kernel',
                           cmdline='root=/dev/vda console=tty0')
        designer.apply(guest, build(rt__guest_idle_poll='yes'))
        self.assertEqual(
            'root=/dev/vda console=tty0 isolcpus=managed_irq,domain,1-3 '
            'nohz=on nohz_full=1-3 rcu_nocbs=1-3 irqaffinity=0 skew_tick=1 '
            'tsc=reliable nosoftlockup idle=poll',
            xml(guest).find('os/cmdline').text)
        guest = nova_guest(kernel='/k', cmdline=None)
        designer.apply(guest, build())
        self.assertTrue(xml(guest).find('os/cmdline').text.startswith(
            'isolcpus='))


class ConfigClassesTest(testtools.TestCase):

    def test_round_trips(self):
        for obj, cls in [
            (libvirt_config.EmulatorSched('fifo', 7),
             libvirt_config.EmulatorSched),
            (libvirt_config.IOThreadSched({1, 2}, 'rr', 3),
             libvirt_config.IOThreadSched),
            (libvirt_config.CacheTune({1, 2, 3}, [
                libvirt_config.CacheTuneCache(0, 2048),
                libvirt_config.CacheTuneCache(1, 2048)]),
             libvirt_config.CacheTune),
            (libvirt_config.KvmFeature(hidden=True, hint_dedicated=True),
             libvirt_config.KvmFeature),
            (libvirt_config.TcgFeature(64), libvirt_config.TcgFeature),
            (libvirt_config.TcgFeature(), libvirt_config.TcgFeature),
            (self._sysinfo(), libvirt_config.SysinfoWithOEMStrings),
        ]:
            parsed = cls()
            parsed.parse_str(obj.to_xml())
            self.assertEqual(obj.to_xml(), parsed.to_xml())

    def test_tcg_cache_units(self):
        for text, mib in (("<tb-cache unit='GiB'>1</tb-cache>", 1024),
                          ("<tb-cache unit='KiB'>65536</tb-cache>", 64),
                          ('<tb-cache>32768</tb-cache>', 32),
                          ("<tb-cache unit='bytes'>67108864</tb-cache>",
                           64)):
            feature = libvirt_config.TcgFeature()
            feature.parse_str('<tcg>%s</tcg>' % text)
            self.assertEqual(mib, feature.tb_cache_mib, text)
        feature = libvirt_config.TcgFeature()
        self.assertRaises(ValueError, feature.parse_str,
                          "<tcg><tb-cache unit='pages'>1</tb-cache></tcg>")

    @staticmethod
    def _sysinfo():
        info = libvirt_config.SysinfoWithOEMStrings()
        info.system_manufacturer = 'OpenStack Foundation'
        info.system_serial = 'b5b5d4c3'
        info.oem_strings = ['io.systemd.stub.kernel-cmdline-extra=a b',
                            'org.openstack.nova-rt.version=1']
        return info

    def test_cache_units(self):
        cache = libvirt_config.CacheTuneCache()
        cache.parse_str("<cache id='1' level='3' type='both' size='2' "
                        "unit='MiB'/>")
        self.assertEqual(2048, cache.size_kib)

    def test_migration_rewrite(self):
        guest = nova_guest()
        request = build(rt__vcpu_scheduler='rr', rt__vcpu_priority='20',
                        rt__l3_cache_kib='1024', rt__emulator_scheduler='fifo',
                        rt__emulator_priority='2')
        designer.apply(guest, request, LAYOUT)
        # What Nova's migration code does: new pins, one fifo vcpusched.
        doc = xml(guest)
        for pin, cpu in zip(doc.findall('cputune/vcpupin'), (8, 9, 10, 11)):
            pin.set('cpuset', str(cpu))
        for e in doc.findall('cputune/vcpusched'):
            e.getparent().remove(e)
        etree.SubElement(doc.find('cputune'), 'vcpusched', vcpus='1-3',
                         scheduler='fifo', priority='20')
        out = etree.fromstring(designer.rewrite_migration_xml(
            etree.tostring(doc, encoding='unicode'), request,
            {0: {8}, 1: {9}, 2: {10}, 3: {11}}, {12}, LAYOUT))
        tune = out.find('cputune')
        self.assertEqual(
            [{'vcpus': '1-3', 'scheduler': 'rr', 'priority': '20'}],
            [dict(e.attrib) for e in tune.findall('vcpusched')])
        self.assertEqual(['1'], [c.get('id') for c in tune.iter('cache')])
        tags = [e.tag for e in tune]
        self.assertLess(tags.index('vcpusched'), tags.index('emulatorsched'))
        self.assertEqual('cachetune', tags[-1])

    def test_migration_rewrite_refuses_bad_destination(self):
        guest = nova_guest()
        request = build()
        designer.apply(guest, request)
        e = self.assertRaises(
            exception.RequestNotHonourable, designer.rewrite_migration_xml,
            guest.to_xml(), request, {0: {8}, 1: {9}, 2: {10}, 3: {11}},
            {10})
        self.assertIn('emulator threads would run on host CPU(s) 10', str(e))
