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
"""The real libvirt and QEMU tier: every scenario, every step.

For each scenario (``tests/real/samples`` always, the driver's scenarios in
``NOVA_RT_DOMAIN_DIR`` when present) one test per step:

``expectations``  the XML against nova-rt's independently derived
                  expectations (no host needed);
``schema``        ``virt-xml-validate``;
``define``        ``virsh define`` + ``dumpxml``: nothing dropped;
``argv``          ``virsh domxml-to-native qemu-argv``;
``boot``          the TCG variant booted, checked inside and outside.

Without root or the packages the host steps skip with the reason; with
``CI=true`` (or ``NOVA_RT_REAL_REQUIRE=1``) they fail instead. Run it with
one test process (``stestr run --serial``): the tier owns one libvirtd.
"""

import os
import shutil
import sys
import tempfile
import unittest

from tests.real import checks
from tests.real import guest
from tests.real import host as host_mod
from tests.real import scenarios as scenarios_mod
from tests.real import tier as tier_mod

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
STEPS = ('expectations', 'schema', 'define', 'argv', 'boot')


def domain_dir():
    return os.environ.get('NOVA_RT_DOMAIN_DIR',
                          os.path.join(REPO, '.artifacts', 'domains'))


def artifacts_dir():
    return os.environ.get('NOVA_RT_REAL_ARTIFACTS',
                          os.path.join(REPO, '.artifacts', 'real'))


def cache_dir():
    return os.environ.get('NOVA_RT_REAL_CACHE', '/var/cache/nova-rt-real')


def required():
    return (os.environ.get('CI', '').lower() == 'true' or
            os.environ.get('NOVA_RT_REAL_REQUIRE', '') not in ('', '0'))


def _say(msg):
    sys.stderr.write('%s\n' % msg)
    sys.stderr.flush()


class _State:
    host = None
    tier = None
    missing = ()          # reasons the host steps cannot run here
    host_error = None     # the host was there but failed to start
    guest_error = None    # no test guest: only the boot step suffers
    run_dir = None


_STATE = _State()


def setUpModule():
    _STATE.missing = host_mod.missing_requirements()
    if _STATE.missing:
        _say('=' * 72 + '\nREAL TIER: host steps %s: %s\n' % (
            'FAIL (required)' if required() else 'SKIPPED',
            '; '.join(_STATE.missing)) + '=' * 72)
        return
    artifacts = artifacts_dir()
    os.makedirs(artifacts, exist_ok=True)
    host = host_mod.Host(artifacts, log=_say)
    _STATE.host = host
    try:
        host.start()
    except Exception as e:   # reported by every host step, never lost
        _STATE.host_error = '%s: %s' % (type(e).__name__, e)
        _say('REAL TIER: cannot start libvirt: %s' % _STATE.host_error)
        return
    kernel = initrd = None
    try:
        kernel, initrd = guest.build(cache_dir(), log=_say)
    except Exception as e:   # only the boot steps need the guest
        _STATE.guest_error = '%s: %s' % (type(e).__name__, e)
        _say('REAL TIER: cannot build the test guest: %s'
             % _STATE.guest_error)
    # QEMU (as libvirt-qemu) writes nothing here, virtlogd (root) writes the
    # serial logs; the folder only needs to be reachable.
    _STATE.run_dir = tempfile.mkdtemp(prefix='nova-rt-real-',
                                      dir='/var/tmp')
    os.chmod(_STATE.run_dir, 0o755)
    _STATE.tier = tier_mod.Tier(host, artifacts, kernel, initrd,
                                _STATE.run_dir)
    with open(os.path.join(artifacts, 'host-notes.txt'), 'w') as f:
        f.write('\n'.join(host.notes) + '\n')


def tearDownModule():
    try:
        if _STATE.host is not None:
            _STATE.host.stop()
    finally:
        _STATE.host = None
        if _STATE.run_dir:
            shutil.rmtree(_STATE.run_dir, ignore_errors=True)
            _STATE.run_dir = None


class RealTestCase(unittest.TestCase):
    maxDiff = None

    def need(self, reasons):
        """Skip loudly, or fail when the tier is required."""
        if not reasons:
            return
        msg = 'real tier: ' + '; '.join(reasons)
        if required():
            self.fail('REQUIRED (CI=true or NOVA_RT_REAL_REQUIRE=1) but '
                      'cannot run: ' + msg)
        self.skipTest('SKIPPED ' + msg)

    def tier(self, boot=False):
        self.need(list(_STATE.missing))
        if _STATE.host_error:
            self.fail('real tier: libvirt did not start: %s'
                      % _STATE.host_error)
        if _STATE.tier is None:
            self.fail('real tier: not set up (setUpModule did not run?)')
        if boot and _STATE.guest_error:
            self.fail('real tier: no test guest: %s' % _STATE.guest_error)
        return _STATE.tier

    def assertNoProblems(self, problems, what):
        if problems:
            logs = ''
            if _STATE.host is not None:
                path = os.path.join(artifacts_dir(), 'libvirtd.log')
                logs = '\n--- tail of %s (known noise left out) ---\n%s' % (
                    path, host_mod.tail(path, 8, skip=host_mod.LOG_NOISE))
            self.fail('%s: %d problem(s):\n  - %s\nartifacts: %s%s' % (
                what, len(problems), '\n  - '.join(problems),
                artifacts_dir(), logs))


class ScenarioTest(RealTestCase):
    """One step of one scenario."""

    def __init__(self, scenario, step):
        super().__init__('run_step')
        self.scenario = scenario
        self.step = step

    def id(self):
        return '%s.%s.%s.%s' % (__name__, self.scenario.origin,
                                self.scenario.name, self.step)

    def __str__(self):
        return self.id()

    def shortDescription(self):
        return None

    def run_step(self):
        s = self.scenario
        what = '%s scenario %s, step %s' % (s.origin, s.name, self.step)
        if self.step == 'expectations':
            self.assertNoProblems(checks.check_expectations(s.root(),
                                                            s.expect), what)
            return
        if self.step == 'boot':
            self._boot_possible()
        tier = self.tier(boot=self.step == 'boot')
        self.assertNoProblems(getattr(tier, self.step)(s), what)

    def _boot_possible(self):
        used = checks.Plan(self.scenario.expect).used_host_cpus()
        if not self.scenario.expect['bootable']:
            # Not a missing requirement: a skip even under CI.
            self.skipTest('not bootable by its expectations (uses host CPUs '
                          '%s; the CI machine has 2): schema, define and '
                          'argv cover it' % checks.fmt(used))
        online = os.sched_getaffinity(0)
        if not used <= online:
            self.need(['scenario %s is marked bootable but uses host CPUs '
                       '%s and this machine offers %s'
                       % (self.scenario.name, checks.fmt(used),
                          checks.fmt(frozenset(online)))])


class ScenarioFilesTest(RealTestCase):
    """The scenario directory itself: present, non-empty and readable."""

    def __init__(self, directory, errors, count):
        super().__init__('run_step')
        self.directory = directory
        self.errors = errors
        self.count = count

    def id(self):
        return '%s.domains.scenario_files' % __name__

    def __str__(self):
        return self.id()

    def run_step(self):
        self.assertNoProblems(self.errors,
                              'scenario files in %s' % self.directory)
        if not self.count:
            self.need(['no scenarios in %s (NOVA_RT_DOMAIN_DIR); the '
                       'functional tests of the driver write them'
                       % self.directory])


def load_tests(loader, standard_tests, pattern):
    suite = unittest.TestSuite()
    samples, errors = scenarios_mod.discover(scenarios_mod.SAMPLES_DIR,
                                             'samples')
    if errors:
        raise scenarios_mod.ScenarioError('; '.join(errors))
    directory = domain_dir()
    domains, errors = scenarios_mod.discover(directory, 'domains')
    suite.addTest(ScenarioFilesTest(directory, errors, len(domains)))
    for scenario in samples + domains:
        for step in STEPS:
            suite.addTest(ScenarioTest(scenario, step))
    suite.addTests(standard_tests)
    return suite


def _sample(name):
    return scenarios_mod.load(os.path.join(scenarios_mod.SAMPLES_DIR,
                                           name + '.xml'), 'selftest')


class SelfTest(RealTestCase):
    """Break one element of a good scenario: the tier must name it.

    Each mutation is checked at the cheapest step that must catch it and,
    for what only a running guest can prove, by booting: the boot checks
    get the original expectations and the broken XML, so they cannot lean
    on the static comparison.
    """

    def mutate(self, name, change):
        scenario = _sample(name)
        root = scenario.root()
        change(root)
        return scenario, root

    def assertNamed(self, problems, element, step):
        self.assertTrue(
            any(element in p for p in problems),
            'step %s should report a problem naming %r, got:\n  - %s'
            % (step, element, '\n  - '.join(problems) or '(none)'))

    def _check_static(self, scenario, root, element):
        problems = checks.check_expectations(root, scenario.expect)
        self.assertNamed(problems, element, 'expectations')

    # -- a wrong priority ----------------------------------------------------
    def test_wrong_vcpu_priority(self):
        def change(root):
            root.find('cputune/vcpusched').set('priority', '11')
        scenario, root = self.mutate('small-disk', change)
        self._check_static(scenario, root,
                           'cputune/vcpusched[vcpu=1] priority')
        tier = self.tier(boot=True)
        self.assertNamed(tier.boot(scenario, root, 'wrong-priority'),
                         'cputune/vcpusched[vcpu=1] priority', 'boot')

    # -- the emulator pinned onto a real-time vCPU's CPU ----------------------
    def test_emulator_pinned_on_realtime_cpu(self):
        def change(root):
            root.find('cputune/emulatorpin').set('cpuset', '1')
        scenario, root = self.mutate('small-disk', change)
        self._check_static(scenario, root, 'cputune/emulatorpin')
        tier = self.tier(boot=True)
        problems = tier.boot(scenario, root, 'emulator-on-rt-cpu')
        self.assertNamed(problems, 'cputune/emulatorpin', 'boot')
        self.assertNamed(problems, 'host CPU 1 of real-time vCPU 1', 'boot')

    # -- a lost OEM string ----------------------------------------------------
    def test_lost_oem_string(self):
        def change(root):
            oem = root.find('sysinfo/oemStrings')
            oem.remove(oem.findall('entry')[-1])
        scenario, root = self.mutate('small-disk', change)
        self._check_static(scenario, root, 'sysinfo/oemStrings')
        tier = self.tier(boot=True)
        self.assertNamed(tier.argv(scenario, root, 'lost-oem-string'),
                         'sysinfo/oemStrings', 'argv')
        problems = tier.boot(scenario, root, 'lost-oem-string')
        self.assertNamed(problems, 'sysinfo/oemStrings', 'boot')
        self.assertNamed(problems, 'org.openstack.nova-rt.realtime-vcpus=1',
                         'boot')

    # -- the derived arguments lost from a direct-kernel-boot cmdline ---------
    def test_lost_cmdline_arguments(self):
        def change(root):
            root.find('os/cmdline').text = 'root=/dev/vda console=ttyS0'
        scenario, root = self.mutate('small-dkb', change)
        self._check_static(scenario, root, 'os/cmdline')
        tier = self.tier(boot=True)
        self.assertNamed(tier.argv(scenario, root, 'lost-cmdline'),
                         'os/cmdline', 'argv')
        problems = tier.boot(scenario, root, 'lost-cmdline')
        self.assertNamed(problems, 'guest /proc/cmdline', 'boot')
        self.assertNamed(problems, 'guest /sys/devices/system/cpu/isolated',
                         'boot')

    # -- what libvirt drops silently at define --------------------------------
    def test_vcpupin_for_missing_vcpu_is_dropped(self):
        def change(root):
            pin = root.find('cputune/vcpupin')
            extra = type(pin)('vcpupin', {'vcpu': '5', 'cpuset': '0'})
            root.find('cputune').insert(0, extra)
        scenario, root = self.mutate('small-disk', change)
        tier = self.tier()
        self.assertEqual([], tier.schema(scenario, root, 'missing-vcpu'))
        self.assertNamed(tier.define(scenario, root, 'missing-vcpu'),
                         'cputune/vcpupin[vcpu=5]: dropped by libvirt',
                         'define')

    # -- the PMU left on ------------------------------------------------------
    def test_pmu_left_on(self):
        def change(root):
            features = root.find('features')
            features.remove(features.find('pmu'))
        scenario, root = self.mutate('small-disk', change)
        self._check_static(scenario, root, 'features/pmu')
        self.assertNamed(self.tier().argv(scenario, root, 'pmu-on'),
                         'features/pmu', 'argv')

    # -- a priority libvirt accepts and the kernel refuses --------------------
    def test_priority_out_of_range_fails_at_start(self):
        def change(root):
            root.find('cputune/vcpusched').set('priority', '150')
        scenario, root = self.mutate('small-disk', change)
        tier = self.tier(boot=True)
        self.assertEqual([], tier.schema(scenario, root, 'priority-150'))
        problems = tier.boot(scenario, root, 'priority-150')
        self.assertNamed(problems, 'boot: virsh start failed', 'boot')
