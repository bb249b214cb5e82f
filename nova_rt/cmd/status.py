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
"""``nova-rt status upgrade check``: can this node run nova-rt safely?

Run it after installing a new nova (or nova-rt) and before restarting the
services, as ``nova-status upgrade check``, with the same exit codes: 0
every check passed, 1 a warning, 2 a failure, 255 a check that could not
run. nova-rt overrides private methods of nova's libvirt driver; a nova
upgrade that renames or reshapes one of them would otherwise break real-time
guests silently.
"""

import inspect
import json
import sys

from oslo_upgradecheck import upgradecheck
from oslo_utils import importutils

from nova_rt.cmd import common
from nova_rt import conf as nova_rt_conf
from nova_rt.core import migration as rt_migration
from nova_rt import releases

Code = upgradecheck.Code
Result = upgradecheck.Result

# The exit code of a check that raised, as nova-status's.
EXIT_CHECK_ERROR = 255

DRIVER_CLASS = 'nova.virt.libvirt.driver.LibvirtDriver'
FILTER = 'nova_rt.scheduler.filters.RealtimeFilter'
WEIGHER = 'nova_rt.scheduler.weights.RealtimeWeigher'


def check_nova_version(conf):
    found = releases.installed_nova()
    if found is None:
        return Result(Code.FAILURE, 'nova is not installed in this Python '
                      'environment (%s)' % sys.prefix)
    release = releases.release_of(found)
    if release is None:
        return Result(Code.FAILURE, 'nova %s is outside what nova-rt '
                      'supports (%s): install a supported nova, or the '
                      'nova-rt release made for this one'
                      % (found, releases.supported_range()))
    return Result(Code.SUCCESS, 'nova %s (%s), supported: %s' % (
        found, release.name, releases.supported_range()))


def check_driver_methods(conf, known=None):
    """Each method RealtimeLibvirtDriver overrides, as a supported release
    of Nova has it.
    """
    known = releases.DRIVER_SIGNATURES if known is None else known
    try:
        driver = importutils.import_class(DRIVER_CLASS)
    except ImportError as e:
        return Result(Code.FAILURE, 'cannot import %s: %s' % (DRIVER_CLASS, e))
    missing, unknown = [], []
    for name, signatures in sorted(known.items()):
        method = getattr(driver, name, None)
        if method is None:
            missing.append('LibvirtDriver.%s no longer exists' % name)
            continue
        found = str(inspect.signature(method))
        if found not in signatures:
            unknown.append('LibvirtDriver.%s%s (known: %s)' % (
                name, found, '; '.join(
                    '%s in %s' % (sig, rels)
                    for sig, rels in signatures.items())))
    if missing:
        # nova-rt's override would never be called: real-time guests
        # would silently lose what it adds.
        return Result(Code.FAILURE, '; '.join(missing + unknown) +
                      ': nova-rt\'s driver does not support this nova')
    if unknown:
        # The override passes on what it does not use, so a new argument
        # need not break it; nova-rt was not tested with this one.
        return Result(Code.WARNING, 'a signature no supported release '
                      'has: ' + '; '.join(unknown) + ': nova-rt was not '
                      'tested with it; run its tests against this nova')
    return Result(Code.SUCCESS, '%d methods as a supported release has '
                  'them: %s' % (len(known), ', '.join(sorted(known))))


def _short(class_path):
    return class_path.rpartition('.')[2]


def check_options(conf):
    """[nova_rt] and the scheduler options nova-rt needs agree."""
    rt = conf.nova_rt
    sched = conf.filter_scheduler
    failures, warnings = [], []
    if rt.default_vcpu_priority > rt.max_vcpu_priority:
        failures.append(
            '[nova_rt] default_vcpu_priority %d is above max_vcpu_priority '
            '%d: every real-time flavor without rt:vcpu_priority is refused'
            % (rt.default_vcpu_priority, rt.max_vcpu_priority))
    enabled = _short(FILTER) in sched.enabled_filters
    available = set(sched.available_filters)
    if enabled and FILTER not in available:
        failures.append(
            '[filter_scheduler] enabled_filters has %s but '
            'available_filters does not list %s: nova-scheduler will not '
            'start' % (_short(FILTER), FILTER))
    if rt.dedicate_hosts and not enabled:
        failures.append(
            '[nova_rt] dedicate_hosts is true but [filter_scheduler] '
            'enabled_filters lacks %s, which enforces it' % _short(FILTER))
    if enabled and WEIGHER not in sched.weight_classes:
        warnings.append(
            '[filter_scheduler] weight_classes lacks %s: real-time '
            'instances are spread by nova\'s weighers instead of packed'
            % WEIGHER)
    if failures:
        return Result(Code.FAILURE, '; '.join(failures + warnings))
    if warnings:
        return Result(Code.WARNING, '; '.join(warnings))
    return Result(Code.SUCCESS, None if enabled else
                  '%s is not enabled here (not a scheduler, or nova-rt not '
                  'used for scheduling)' % _short(FILTER))


def _is_realtime_compute(conf):
    return bool(conf.compute_driver) and 'nova_rt' in conf.compute_driver


def check_compute_driver(conf):
    """On a compute configured for nova-rt: the driver nova would load."""
    name = conf.compute_driver
    if not name:
        return Result(Code.SUCCESS, '[DEFAULT] compute_driver is not set: '
                      'not a compute host')
    if not _is_realtime_compute(conf):
        return Result(Code.SUCCESS, '[DEFAULT] compute_driver = %s: not a '
                      'nova-rt compute host' % name)
    # nova imports compute_driver as nova.virt.<value>, then as <value>
    # (nova.virt.driver.load_compute_driver); nova-rt's shim package
    # provides the former.
    try:
        driver = importutils.import_class('nova.virt.' + name)
    except ImportError as e:
        return Result(Code.FAILURE, 'compute_driver = %s: nova would import '
                      'nova.virt.%s, which fails: %s (is the nova-rt package '
                      'with its nova/virt/nova_rt shim installed in nova\'s '
                      'environment?)' % (name, name, e))
    realtime = importutils.import_class(
        'nova_rt.virt.driver.RealtimeLibvirtDriver')
    if not (isinstance(driver, type) and issubclass(driver, realtime)):
        return Result(Code.FAILURE, 'compute_driver = %s loads %r, not '
                      'nova-rt\'s RealtimeLibvirtDriver' % (name, driver))
    return Result(Code.SUCCESS, 'compute_driver = %s loads %s.%s' % (
        name, driver.__module__, driver.__name__))


def check_live_migration(conf):
    """On a nova-rt compute: the ``[libvirt]`` live migration settings
    real-time instances cannot live with (``nova_rt.core.migration``).
    """
    if not _is_realtime_compute(conf):
        return Result(Code.SUCCESS, 'not a nova-rt compute host: its '
                      '[libvirt] live migration settings do not apply')
    try:
        settings = nova_rt_conf.migration_settings(conf)
    except rt_migration.InvalidMigrationSettings as e:
        return Result(Code.FAILURE, str(e))
    hazards = rt_migration.hazards(settings)
    if not hazards:
        return Result(Code.SUCCESS, settings.describe())
    details = '; '.join(str(h) for h in hazards)
    if rt_migration.refusal(settings):
        details += ('. nova-rt refuses to live-migrate real-time instances '
                    'from this host while auto-converge or post-copy is '
                    'permitted')
    return Result(Code.WARNING, details)


class UpgradeChecks(upgradecheck.UpgradeCommands):
    """nova-rt's checks, over the configuration handed in."""

    display_title = 'nova-rt Upgrade Check Results'

    def __init__(self, conf):
        self.conf = conf

    def _nova_version(self):
        return check_nova_version(self.conf)

    def _driver_methods(self):
        return check_driver_methods(self.conf)

    def _options(self):
        return check_options(self.conf)

    def _compute_driver(self):
        return check_compute_driver(self.conf)

    def _live_migration(self):
        return check_live_migration(self.conf)

    _upgrade_checks = (
        ('nova version', _nova_version),
        ('LibvirtDriver methods nova-rt overrides', _driver_methods),
        ('nova-rt options', _options),
        ('compute driver', _compute_driver),
        ('live migration of real-time instances', _live_migration),
    )

    def results(self):
        """(name, Result) of every check, in order."""
        return [(name, func(self)) for name, func in self._upgrade_checks]


def _register_nova_opts(conf):
    # nova's own definitions of the options checked, so their defaults are
    # nova's.
    from nova.conf import compute as nova_compute_conf
    from nova.conf import scheduler as nova_scheduler_conf
    nova_scheduler_conf.register_opts(conf)
    conf.register_opts([o for o in nova_compute_conf.compute_opts
                        if o.name == 'compute_driver'])
    nova_rt_conf.register_migration_opts(conf)


def register(commands):
    parser = commands.add_parser(
        'status', help='check this node before restarting nova after an '
                       'upgrade')
    categories = parser.add_subparsers(dest='category', metavar='CATEGORY')
    categories.required = True
    upgrade = categories.add_parser('upgrade', help='upgrade readiness')
    actions = upgrade.add_subparsers(dest='action', metavar='ACTION')
    actions.required = True
    check = actions.add_parser(
        'check', help='run the checks (exit 0 success, 1 warning, '
                      '2 failure, 255 a check failed to run)')
    check.add_argument('--json', action='store_true',
                       help='print the results as JSON')
    common.add_config_file_argument(check)
    check.set_defaults(func=upgrade_check)


def upgrade_check(args):
    conf = common.load_conf(args, register=_register_nova_opts)
    checks = UpgradeChecks(conf)
    try:
        if not args.json:
            # oslo.upgradecheck's table, as nova-status prints it.
            return int(checks.check())
        results = checks.results()
    except Exception as e:
        # As nova-status: a check that cannot run is not a failure.
        sys.stderr.write('nova-rt: a check could not run: %s: %s\n'
                         % (type(e).__name__, e))
        return EXIT_CHECK_ERROR
    json.dump({'name': checks.display_title,
               'checks': [{'check': name, 'result': int(r.code),
                           'details': r.details}
                          for name, r in results]}, sys.stdout, indent=2)
    sys.stdout.write('\n')
    return int(max(r.code for _, r in results))
