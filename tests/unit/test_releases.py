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
"""The supported Nova releases: the table, the tree's constraints for each,
the requirement nova-rt states, and the probes.
"""

import importlib.metadata
import os
import re
import subprocess
import sys
import types

import fixtures
from packaging import requirements
import testtools

from nova_rt import releases

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONSTRAINTS = os.path.join(TOP, 'tools', 'releases')


def _nova_version(found):
    real = importlib.metadata.version

    def version(name):
        if name != 'nova':
            return real(name)
        if found is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return found
    return fixtures.MonkeyPatch('importlib.metadata.version', version)


class ReleaseTableTest(testtools.TestCase):

    def test_consecutive_releases_oldest_first(self):
        novas = [r.nova for r in releases.RELEASES]
        self.assertEqual(list(range(novas[0], novas[0] + len(novas))), novas)
        placements = [r.placement for r in releases.RELEASES]
        self.assertEqual(list(range(placements[0],
                                    placements[0] + len(placements))),
                         placements)
        names = [r.name for r in releases.RELEASES]
        self.assertEqual(sorted(names), names)
        self.assertTrue(set(releases.SLURP) <= set(names))

    def test_release_of(self):
        self.assertEqual('2024.1', releases.release_of('29.0.0').name)
        self.assertEqual('2025.1', releases.release_of('31.3.1').name)
        self.assertEqual('2026.2', releases.release_of('34.0.0rc1').name)
        self.assertIsNone(releases.release_of('28.3.1'))
        self.assertIsNone(releases.release_of('35.0.0'))

    def test_supported_range_names_both_ends(self):
        self.assertEqual('nova 29 (2024.1) to 34 (2026.2)',
                         releases.supported_range())

    def test_requirements_state_the_table(self):
        with open(os.path.join(TOP, 'requirements.txt')) as f:
            lines = [line.strip() for line in f
                     if line.startswith('nova') and '>' in line]
        self.assertEqual([releases.NOVA_REQUIREMENT], lines)

    def test_installed_nova_is_supported(self):
        # Whatever release this run is on (tools/run-tests.sh --release).
        release = releases.require_supported_nova()
        self.assertIn(release, releases.RELEASES)

    def test_outside_the_range_is_refused_naming_it(self):
        for found, said in (('28.3.1', 'this environment has nova 28.3.1'),
                            ('35.0.0', 'this environment has nova 35.0.0'),
                            (None, 'this environment has no nova '
                                   'installed')):
            with _nova_version(found):
                e = self.assertRaises(releases.UnsupportedNova,
                                      releases.require_supported_nova)
            self.assertEqual('nova-rt supports nova 29 (2024.1) to 34 '
                             '(2026.2); ' + said, str(e))

    def test_driver_refuses_to_load_outside_the_range(self):
        # Nova loads compute_driver by import: an ImportError is its
        # "Unable to load the virtualization driver".
        code = (
            'import importlib.metadata as m\n'
            'real = m.version\n'
            'm.version = lambda n: "35.0.0" if n == "nova" else real(n)\n'
            'from nova_rt import releases\n'
            'releases.monkey_patch_eventlet()\n'
            'try:\n'
            '    import nova_rt.virt.driver\n'
            'except ImportError as e:\n'
            '    print(e)\n')
        out = subprocess.run([sys.executable, '-c', code], cwd=TOP,
                             capture_output=True, text=True, check=True)
        self.assertEqual('nova-rt: nova-rt supports nova 29 (2024.1) to 34 '
                         '(2026.2); this environment has nova 35.0.0\n',
                         out.stdout)


class ConstraintsTest(testtools.TestCase):
    """tools/releases/RELEASE.txt: each release's upper-constraints."""

    def read(self, release):
        with open(os.path.join(CONSTRAINTS, release.name + '.txt')) as f:
            return f.read()

    def test_one_file_per_release(self):
        self.assertEqual(
            sorted(r.name + '.txt' for r in releases.RELEASES),
            sorted(n for n in os.listdir(CONSTRAINTS) if n.endswith('.txt')))

    def test_each_says_where_it_came_from(self):
        for release in releases.RELEASES:
            text = self.read(release)
            self.assertIn('# source: https://opendev.org/openstack/'
                          'requirements', text, release.name)
            self.assertRegex(text, r'# branch: \S+', release.name)
            self.assertRegex(text, r'# commit: [0-9a-f]{40} \(\d{4}-\d\d-'
                                   r'\d\d\)', release.name)

    def test_each_caps_its_release_services(self):
        for release in releases.RELEASES:
            specs = {}
            for line in self.read(release).splitlines():
                line = line.split(' #')[0].strip()
                if line and not line.startswith('#'):
                    req = requirements.Requirement(line)
                    specs[req.name] = req.specifier
            for name, major in (('nova', release.nova),
                                ('openstack-placement', release.placement)):
                self.assertIn('%d.0.0' % major, specs[name], release.name)
                self.assertIn('%d.99.99' % major, specs[name], release.name)
                self.assertNotIn('%d.0.0' % (major + 1), specs[name])
                self.assertNotIn('%d.99.99' % (major - 1), specs[name])

    def test_every_change_to_the_original_is_marked(self):
        # Beyond the appended section, a changed line carries "nova-rt:".
        for release in releases.RELEASES:
            body = self.read(release).split('\n# nova-rt: the release')[0]
            for line in body.splitlines():
                if '#' in line and not line.startswith('#'):
                    self.assertRegex(line, r'^\S+===\S+  # nova-rt: was ',
                                     release.name)


class ProbeTest(testtools.TestCase):

    def test_iothread_pins_absent_before_2026_1(self):
        self.assertEqual([], releases.iothread_pins(types.SimpleNamespace()))
        self.assertEqual([], releases.iothread_pins(
            types.SimpleNamespace(iothreadpin=None)))
        pin = types.SimpleNamespace(iothread=0, cpuset={1})
        self.assertEqual([pin], releases.iothread_pins(
            types.SimpleNamespace(iothreadpin=[pin])))

    def test_signature_ranges_name_supported_releases(self):
        names = [r.name for r in releases.RELEASES]
        for method, known in releases.DRIVER_SIGNATURES.items():
            covered = []
            for rels in known.values():
                first, _, last = rels.partition('-')
                covered += names[names.index(first):
                                 names.index(last or first) + 1]
            # Every release has exactly one signature of every method.
            self.assertEqual(names, sorted(covered), method)
            for sig in known:
                self.assertTrue(re.match(r'^\(self\b.*\)$', sig), sig)


def _domain(iothreadpin=False):
    from lxml import etree
    doc = etree.fromstring(releases._IOTHREADLESS_DOMAIN)
    if iothreadpin:
        etree.SubElement(doc.find('cputune'), 'iothreadpin',
                         iothread='1', cpuset='5')
    return doc


def _nova_33_numa_update(xml_doc, migrate_data):
    """Nova 33.0.2's NUMA rewrite, as far as the IOThread: it re-pins the
    ``<iothreadpin>`` with the emulator threads, assuming there is one.
    """
    info = migrate_data.dst_numa_info
    xml_doc.find('./cputune/emulatorpin').set(
        'cpuset', ','.join(map(str, sorted(info.emulator_pins))))
    xml_doc.find('./cputune/iothreadpin').set(
        'cpuset', ','.join(map(str, sorted(info.emulator_pins))))
    return xml_doc


def _nova_34_numa_update(xml_doc, migrate_data):
    pin = xml_doc.find('./cputune/iothreadpin')
    if pin is not None:
        pin.set('cpuset', '0')
    return xml_doc


class IOThreadlessMigrationTest(testtools.TestCase):
    """A pinned guest started before 2026.1 has no IOThread; Nova 33's
    live migration assumed one (``live_migration_fails_without_iothread``).
    """

    def setUp(self):
        super().setUp()
        from nova import objects
        from nova.virt.libvirt import migration
        objects.register_all()
        self.migration = migration
        self.data = objects.LibvirtLiveMigrateData(
            dst_numa_info=objects.LibvirtLiveMigrateNUMAInfo(
                cpu_pins={'0': {3}}, cell_pins={'0': {0}},
                emulator_pins={2}))

    def use(self, numa_update):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.migration._update_numa_xml', numa_update))

    def test_nova_33_mended(self):
        self.use(_nova_33_numa_update)
        self.assertTrue(releases.live_migration_fails_without_iothread())
        self.assertTrue(releases.mend_live_migration_without_iothread())
        mended = self.migration._update_numa_xml
        self.assertIsNot(_nova_33_numa_update, mended)
        # No IOThread: Nova's rewrite runs, and none is made up.
        doc = mended(_domain(), self.data)
        self.assertEqual('2', doc.find('cputune/emulatorpin').get('cpuset'))
        self.assertIsNone(doc.find('cputune/iothreadpin'))
        # An IOThread: re-pinned with the emulator threads, as before.
        doc = mended(_domain(iothreadpin=True), self.data)
        self.assertEqual('2', doc.find('cputune/iothreadpin').get('cpuset'))
        self.assertEqual(1, len(doc.findall('cputune/iothreadpin')))
        # Once: a second call wraps nothing again.
        self.assertTrue(releases.mend_live_migration_without_iothread())
        self.assertIs(mended, self.migration._update_numa_xml)

    def test_a_failure_in_nova_propagates_and_leaves_no_stand_in(self):
        failing = []

        def numa_update(xml_doc, migrate_data):
            _nova_33_numa_update(xml_doc, migrate_data)
            if failing:
                raise RuntimeError('libvirt said no')
            return xml_doc

        self.use(numa_update)
        self.assertTrue(releases.mend_live_migration_without_iothread())
        failing.append(True)
        doc = _domain()
        e = self.assertRaises(RuntimeError,
                              self.migration._update_numa_xml, doc,
                              self.data)
        self.assertEqual('libvirt said no', str(e))
        self.assertIsNone(doc.find('cputune/iothreadpin'))

    def test_nova_34_left_alone(self):
        self.use(_nova_34_numa_update)
        self.assertFalse(releases.live_migration_fails_without_iothread())
        self.assertFalse(releases.mend_live_migration_without_iothread())
        self.assertIs(_nova_34_numa_update, self.migration._update_numa_xml)

    def test_the_installed_nova_migrates_an_iothreadless_guest_mended(self):
        # Whichever release is installed (the matrix runs them all).
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.migration._update_numa_xml',
            self.migration._update_numa_xml))
        releases.mend_live_migration_without_iothread()
        doc = self.migration._update_numa_xml(_domain(), self.data)
        self.assertEqual('3', doc.find('cputune/vcpupin').get('cpuset'))
        self.assertIsNone(doc.find('cputune/iothreadpin'))
        self.assertFalse(releases.live_migration_fails_without_iothread())
