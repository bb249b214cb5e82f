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
"""The tier's checks on captured real output: no root, libvirt or QEMU.

``captured/`` holds what libvirt 9.0.0, QEMU 7.2 and the test guest
produced for the samples on the CI kind of machine (Debian 12): a console
log, a ``dumpxml``, QEMU command lines and a thread snapshot. Each test
feeds one to a check, whole and with one element broken.
"""

import copy
import json
import os
import unittest
import xml.etree.ElementTree as ET

from tests.real import bootxml
from tests.real import checks
from tests.real import guest
from tests.real import scenarios

HERE = os.path.dirname(os.path.abspath(__file__))


def captured(name):
    with open(os.path.join(HERE, 'captured', name)) as f:
        return f.read()


def sample(name):
    return scenarios.load(os.path.join(scenarios.SAMPLES_DIR, name + '.xml'),
                          'samples')


def snapshot(name):
    raw = json.loads(captured(name))
    return {
        'pid': raw['pid'],
        'vcpus': {int(k): v for k, v in raw['vcpus'].items()},
        'iothreads': {int(k): v for k, v in raw['iothreads'].items()},
        'threads': {int(k): dict(v, affinity=checks.cpus(v['affinity'], k))
                    for k, v in raw['threads'].items()},
    }


class Named(unittest.TestCase):
    def assertNamed(self, problems, element):
        self.assertTrue(any(element in p for p in problems),
                        'no problem names %r:\n%s' % (element, problems))


class TestExpectations(Named):
    def test_samples_pass(self):
        found, errors = scenarios.discover(scenarios.SAMPLES_DIR, 'samples')
        self.assertEqual([], errors)
        self.assertGreaterEqual(len(found), 3)
        for s in found:
            self.assertEqual([], checks.check_expectations(s.root(),
                                                           s.expect), s.name)

    def test_wrong_priority(self):
        s = sample('small-disk')
        root = s.root()
        root.find('cputune/vcpusched').set('priority', '11')
        self.assertEqual(
            ['cputune/vcpusched[vcpu=1] priority: expected 10, the XML has '
             '11'], checks.check_expectations(root, s.expect))

    def test_emulator_on_realtime_cpu(self):
        s = sample('small-disk')
        root = s.root()
        root.find('cputune/emulatorpin').set('cpuset', '0-1')
        problems = checks.check_expectations(root, s.expect)
        self.assertIn('cputune/emulatorpin: the emulator thread may run on '
                      'host CPU 1 of real-time vCPU 1', problems)

    def test_lost_oem_string(self):
        s = sample('small-disk')
        root = s.root()
        oem = root.find('sysinfo/oemStrings')
        oem.remove(oem.findall('entry')[0])
        problems = checks.check_expectations(root, s.expect)
        self.assertNamed(problems, 'sysinfo/oemStrings: entry '
                         "'io.systemd.stub.kernel-cmdline-extra=")
        self.assertNamed(problems, 'sysinfo/oemStrings: no '
                         'io.systemd.stub.kernel-cmdline-extra= entry')

    def test_smbios_mode_missing(self):
        s = sample('small-disk')
        root = s.root()
        os_el = root.find('os')
        os_el.remove(os_el.find('smbios'))
        self.assertNamed(checks.check_expectations(root, s.expect),
                         'os/smbios')

    def test_housekeeping_vcpu_with_realtime_class(self):
        s = sample('small-disk')
        root = s.root()
        root.find('cputune/vcpusched').set('vcpus', '0-1')
        self.assertNamed(checks.check_expectations(root, s.expect),
                         'cputune/vcpusched[vcpu=0]: housekeeping vCPU 0')

    def test_cachetune_size(self):
        s = sample('big-cachetune')
        root = s.root()
        root.find('cputune/cachetune/cache').set('size', '2')
        self.assertNamed(checks.check_expectations(root, s.expect),
                         'cputune/cachetune[vcpus=1-7]/cache[id=0,level=3,'
                         'type=both] size: expected 4096 KiB')

    def test_emulatorsched_missing(self):
        s = sample('small-dkb')
        root = s.root()
        tune = root.find('cputune')
        tune.remove(tune.find('emulatorsched'))
        self.assertEqual(['cputune/emulatorsched: missing (expected fifo 5)'],
                         checks.check_expectations(root, s.expect))

    def test_bad_expectations_reported_first(self):
        s = sample('small-disk')
        expect = dict(s.expect, housekeeping_vcpus='')
        self.assertNamed(checks.check_expectations(s.root(), expect),
                         'expectations: realtime_vcpus 1 and '
                         'housekeeping_vcpus (none)')


class TestRoundtrip(Named):
    def test_libvirt_splits_vcpusched_ranges(self):
        # libvirt 9.0 dumps vcpus='1-7' as seven elements: not a loss.
        s = sample('big-cachetune')
        dumped = ET.fromstring(captured('big-cachetune.dumpxml.xml'))
        self.assertEqual(7, len(dumped.findall('cputune/vcpusched')))
        defined = bootxml.for_define(s.root(), 'nrt-big-cachetune')
        self.assertEqual([], checks.check_roundtrip(defined, dumped))

    def test_dropped_element_is_named(self):
        s = sample('big-cachetune')
        dumped = ET.fromstring(captured('big-cachetune.dumpxml.xml'))
        tune = dumped.find('cputune')
        tune.remove(tune.findall('vcpusched')[2])
        tune.remove(tune.find('cachetune'))
        backing = dumped.find('memoryBacking')
        backing.remove(backing.find('locked'))
        problems = checks.check_roundtrip(s.root(), dumped)
        self.assertNamed(problems, 'cputune/vcpusched[vcpu=3]: dropped')
        self.assertNamed(problems, 'cputune/cachetune[vcpus=1-7]/cache')
        self.assertNamed(problems, 'memoryBacking/locked: dropped')

    def test_changed_element_is_named(self):
        s = sample('big-cachetune')
        dumped = ET.fromstring(captured('big-cachetune.dumpxml.xml'))
        dumped.find('cputune/emulatorpin').set('cpuset', '17')
        self.assertEqual(['cputune/emulatorpin: libvirt changed it at define '
                          'from 18 to 17'],
                         checks.check_roundtrip(s.root(), dumped))


class TestQemuArgv(Named):
    def test_option_syntax(self):
        self.assertEqual([('type', '11'), ('value', 'a,b c'),
                          ('value', 'd=e')],
                         checks.split_qemu_option('type=11,value=a,,b c,'
                                                  'value=d=e'))

    def test_captured_argv_passes(self):
        for name in ('small-disk', 'small-dkb'):
            self.assertEqual([], checks.check_qemu_argv(
                captured(name + '.qemu-argv.txt'), sample(name).expect), name)

    def test_lost_settings_are_named(self):
        s = sample('small-disk')
        argv = captured('small-disk.qemu-argv.txt')
        argv = argv.replace('pmu=off', 'pmu=on').replace(
            'kvm-hint-dedicated=on,', '').replace('mem-lock=on',
                                                   'mem-lock=off')
        argv = argv.replace(',value=org.openstack.nova-rt.realtime-vcpus=1',
                            '')
        problems = checks.check_qemu_argv(argv, s.expect)
        for element in ('features/pmu', 'features/kvm/hint-dedicated',
                        'memoryBacking/locked',
                        "sysinfo/oemStrings: entry 'org.openstack.nova-rt."
                        "realtime-vcpus=1' is missing"):
            self.assertNamed(problems, element)

    def test_lost_append_is_named(self):
        s = sample('small-dkb')
        argv = captured('small-dkb.qemu-argv.txt').replace(
            'mitigations=off', '')
        self.assertNamed(checks.check_qemu_argv(argv, s.expect),
                         'os/cmdline: QEMU -append lacks')


class TestGuest(Named):
    def test_captured_console_passes(self):
        s = sample('small-dkb')
        console = checks.parse_console(captured('small-dkb.console.log'))
        self.assertTrue(console['ready'])
        self.assertEqual('1', console['isolated'])
        self.assertEqual(s.expect['oem_strings'], console['oem'])
        self.assertEqual([], checks.check_guest(console, s.expect))

    def test_partial_console_is_not_decoded(self):
        text = captured('small-dkb.console.log')
        cut = text[:text.index('NRT-OEMHEX') + 20]
        console = checks.parse_console(cut)
        self.assertFalse(console['ready'])
        self.assertEqual([], console['oem'])

    def test_wrong_isolation_is_named(self):
        s = sample('small-dkb')
        text = captured('small-dkb.console.log').replace(
            'NRT-ISOLATED:1', 'NRT-ISOLATED:').replace('NRT-NOHZFULL:1',
                                                       'NRT-NOHZFULL:(null)')
        problems = checks.check_guest(checks.parse_console(text), s.expect)
        self.assertNamed(problems, 'guest /sys/devices/system/cpu/isolated')
        self.assertNamed(problems, 'guest /sys/devices/system/cpu/nohz_full')

    def test_oem_readback_differs(self):
        s = sample('small-dkb')
        console = checks.parse_console(captured('small-dkb.console.log'))
        expect = dict(s.expect, oem_strings=s.expect['oem_strings'] + ['x=y'])
        self.assertEqual(["sysinfo/oemStrings: entry 'x=y' is missing (the "
                          "guest read back 3 entries)"],
                         checks.check_guest(console, expect))

    def test_decode_dmi_type11(self):
        raw = bytes([11, 5, 0x2a, 0, 2]) + b'a=b,c\0d\0\0'
        self.assertEqual(['a=b,c', 'd'], checks.decode_dmi_type11(raw))
        with self.assertRaises(ValueError):
            checks.decode_dmi_type11(b'\x01\x05')


class TestThreads(Named):
    def test_captured_snapshot_passes(self):
        self.assertEqual([], checks.check_threads(
            snapshot('small-dkb.threads.json'), sample('small-dkb').expect))

    def test_wrong_class_priority_and_pins(self):
        snap = snapshot('small-dkb.threads.json')
        rt = snap['threads'][snap['vcpus'][1]]
        rt.update(policy='fifo', priority=19)
        hk = snap['threads'][snap['vcpus'][0]]
        hk['affinity'] = frozenset({0, 1})
        main = snap['threads'][snap['pid']]
        main.update(affinity=frozenset({1}), policy='other', priority=0)
        problems = checks.check_threads(snap, sample('small-dkb').expect)
        for element in (
                'cputune/vcpusched[vcpu=1] scheduler: host: real-time vCPU 1',
                'cputune/vcpusched[vcpu=1] priority: host: real-time vCPU 1',
                'cputune/vcpupin[vcpu=0]: host: housekeeping vCPU 0',
                'cputune/emulatorpin: host: the emulator thread',
                'cputune/emulatorsched scheduler: host: the emulator'):
            self.assertNamed(problems, element)
        self.assertNamed(problems, 'host CPU 1 of real-time vCPU 1')

    def test_stray_qemu_thread_on_realtime_cpu(self):
        snap = snapshot('small-dkb.threads.json')
        other = [t for t in snap['threads']
                 if t not in snap['vcpus'].values() and t != snap['pid'] and
                 t not in snap['iothreads'].values()][0]
        snap['threads'][other]['affinity'] = frozenset({0, 1})
        self.assertNamed(checks.check_threads(snap,
                                              sample('small-dkb').expect),
                         'cputune/emulatorpin: host: QEMU thread %d' % other)


class TestBootVariant(unittest.TestCase):
    def test_cputune_and_sysinfo_untouched(self):
        for name in ('small-disk', 'small-dkb', 'big-cachetune'):
            s = sample(name)
            root, changes = bootxml.for_boot(s.root(), 'nrt-x', s.expect,
                                             '/k', '/i', '/log')
            before = {k: v for k, v in checks.summarize(s.root()).items()
                      if k.startswith(('cputune/', 'sysinfo/', 'features/'))
                      and not k.startswith('cputune/cachetune')}
            after = checks.summarize(root)
            self.assertEqual(before, {k: after.get(k) for k in before}, name)
            self.assertEqual('qemu', root.get('type'))
            self.assertIsNone(root.find('devices/disk'))
            self.assertIsNone(root.find('memoryBacking/locked'))

    def test_cmdline(self):
        s = sample('small-dkb')
        root, _ = bootxml.for_boot(s.root(), 'nrt-x', s.expect, '/k', '/i',
                                   '/log')
        cmdline = root.find('os/cmdline').text
        self.assertTrue(checks.contains_tokens(cmdline,
                                               s.expect['guest_kernel_args']))
        self.assertTrue(cmdline.endswith(bootxml.GUEST_CONSOLE_ARGS))
        s = sample('small-disk')
        root, _ = bootxml.for_boot(s.root(), 'nrt-x', s.expect, '/k', '/i',
                                   '/log')
        self.assertEqual(bootxml.GUEST_CONSOLE_ARGS,
                         root.find('os/cmdline').text)

    def test_input_not_changed(self):
        s = sample('small-disk')
        root = s.root()
        before = ET.tostring(root)
        bootxml.for_boot(root, 'nrt-x', s.expect, '/k', '/i', '/log')
        bootxml.for_argv(root, 'nrt-x')
        self.assertEqual(before, ET.tostring(root))


class TestGuestImage(unittest.TestCase):
    def test_cpio_newc(self):
        data = guest._cpio_newc([('init', 0o100755, b'#!/bin/sh\n', 0, 0),
                                 ('dev/console', 0o020600, b'', 5, 1)])
        self.assertTrue(data.startswith(b'070701'))
        self.assertIn(b'TRAILER!!!\0', data)
        self.assertEqual(0, len(data) % 4)
        # the console node: c 5 1
        idx = data.index(b'dev/console') - 110
        header = data[idx:idx + 110]
        self.assertEqual('00000005', header[78:86].decode())
        self.assertEqual('00000001', header[86:94].decode())

    def test_static_busybox_detection(self):
        if not os.path.exists(guest.BUSYBOX):
            self.skipTest('%s not installed' % guest.BUSYBOX)
        self.assertIsInstance(guest.is_static_elf(guest.BUSYBOX), bool)

    def test_init_prints_every_marker(self):
        for marker in ('NRT-CMDLINE:', 'NRT-ISOLATED:', 'NRT-NOHZFULL:',
                       'NRT-OEMHEX:', 'NRT-READY:'):
            self.assertIn(marker, guest.INIT)


class TestScenarioFiles(unittest.TestCase):
    def test_bad_json_is_reported_by_name(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            s = sample('small-disk')
            with open(os.path.join(d, 'x.xml'), 'w') as f:
                f.write(s.xml)
            expect = copy.deepcopy(s.expect)
            del expect['vcpus']
            expect['pmu'] = 'no'
            with open(os.path.join(d, 'x.json'), 'w') as f:
                json.dump(expect, f)
            found, errors = scenarios.discover(d, 'domains')
            self.assertEqual([], found)
            self.assertEqual(1, len(errors))
            self.assertIn('vcpus missing', errors[0])
            self.assertIn("pmu is 'no'", errors[0])


if __name__ == '__main__':
    unittest.main()
