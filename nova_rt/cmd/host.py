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
"""``nova-rt host check`` and ``nova-rt host plan``.

``check`` audits the host (or the tree given by ``--root``) and exits 0
when it is ready for real-time guests, 1 when it is not; ``plan`` prints
how to partition it. Errors are raised as nova-rt errors, which
``nova_rt.cmd.main`` turns into exit code 2.
"""

import argparse
import json
import shutil
import sys
import time

from nova_rt.cmd import args as cmd_args
from nova_rt.cmd import common
from nova_rt import conf as nova_rt_conf
from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.host import checks
from nova_rt.host import facts as host_facts
from nova_rt.host import metrics
from nova_rt.host import pinning
from nova_rt.host import plan as host_plan
from nova_rt.host import profile as host_profile
from nova_rt.watch import guests


DEFAULT_SMI_INTERVAL = 0.25
DEFAULT_LIBVIRT_URI = 'qemu:///system'

_ORDER = {checks.FAIL: 0, checks.WARN: 1, checks.UNKNOWN: 2, checks.PASS: 3}
_COLOURS = {checks.FAIL: '\033[31m', checks.WARN: '\033[33m',
            checks.UNKNOWN: '\033[36m', checks.PASS: '\033[32m'}
_RESET = '\033[0m'


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not a number' % text)
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError('%s is not between 0 and 10' % text)
    return value


def register(commands):
    parser = commands.add_parser(
        'host', help='audit and plan this compute host')
    actions = parser.add_subparsers(dest='action', metavar='ACTION')
    actions.required = True

    check = actions.add_parser(
        'check', help='audit this host for real-time guests (exit 0 ready, '
                      '1 not ready)')
    common.add_root_argument(check)
    common.add_config_file_argument(check)
    check.add_argument('--format', choices=('table', 'json', 'prometheus'),
                       default='table',
                       help='prometheus: the metrics nova-compute writes to '
                            '[nova_rt] metrics_file')
    check.add_argument('--output', metavar='FILE',
                       help='with --format prometheus: replace FILE (a '
                            'name ending in .prom) atomically instead of '
                            'printing, for node_exporter\'s textfile '
                            'collector')
    check.add_argument('--libvirt-uri', default=DEFAULT_LIBVIRT_URI,
                       metavar='URI',
                       help='with --format prometheus: libvirt to count the '
                            'PCPUs of the defined domains in, read-only '
                            '(default %(default)s)')
    check.add_argument('--smi-interval', type=_seconds,
                       default=DEFAULT_SMI_INTERVAL, metavar='SECONDS',
                       help='how long to count SMIs (0 skips; default '
                            '%(default)s)')
    check.set_defaults(func=check_host)

    plan = actions.add_parser(
        'plan', help='kernel arguments, tuned, kvm and nova.conf settings '
                     'for this host\'s topology')
    common.add_root_argument(plan)
    common.add_config_file_argument(plan)
    plan.add_argument('--format', choices=('text', 'json'), default='text')
    plan.add_argument('--housekeeping-per-node', type=cmd_args.positive_int,
                      default=1,
                      metavar='N',
                      help='cores kept for the host on each NUMA node '
                           '(default %(default)s)')
    plan.set_defaults(func=plan_host)


def check_host(args, out=None):
    out = out or sys.stdout
    if args.output and args.format != 'prometheus':
        raise exception.NovaRTError('--output needs --format prometheus')
    conf = common.load_conf(
        args, register=nova_rt_conf.register_migration_opts)
    root = common.host_root(args, conf)
    dedicated, shared = nova_rt_conf.compute_cpu_sets(conf)
    migration = nova_rt_conf.migration_settings(conf)
    profile = host_profile.read_profile(root, smi_interval=args.smi_interval)
    report = checks.audit(profile, dedicated_cpus=dedicated,
                          shared_cpus=shared,
                          vcpu_priority=conf.nova_rt.default_vcpu_priority,
                          migration=migration)
    # The certified latency is shown, not judged: it never makes a host
    # ready or not ready.
    latency = host_facts.latency_verdict(
        root, conf.nova_rt.latency_certificate,
        conf.nova_rt.latency_max_age_days, conf.nova_rt.latency_min_duration)
    if args.format == 'prometheus':
        _write_metrics(args, conf, root, profile, report, latency,
                       dedicated, out)
    elif args.format == 'json':
        doc = report.to_dict()
        doc['latency'] = latency.to_dict()
        json.dump(doc, out, indent=2)
        out.write('\n')
    else:
        out.write(render_table(report, colour=out.isatty()))
        out.write('\nlatency: %s\n' % latency.reason)
    return cmd_args.EXIT_OK if report.ready else cmd_args.EXIT_NEGATIVE


def _write_metrics(args, conf, root, profile, report, latency, dedicated,
                   out):
    """The metrics nova-compute writes (``nova_rt.host.metrics``), from
    this audit and libvirt's domains.
    """
    lab = host_facts.facts_from_report(
        profile, report, latency.max_latency_us,
        lab=conf.nova_rt.lab_mode).lab
    usage, problem = pinning.count(dedicated,
                                   _libvirt_domains(args.libvirt_uri))
    reports, guests_problem = guests.reports_or_problem(root)
    text = metrics.render(metrics.Snapshot(
        report=report, lab=lab, latency=latency, audited_at=time.time(),
        pcpus=usage, pcpus_problem=problem, guests=reports,
        guests_problem=guests_problem))
    if args.output:
        metrics.write_textfile(args.output, text)
    else:
        out.write(text)


def _libvirt_domains(uri):
    """A reader of the XML of every domain libvirt at ``uri`` defines,
    read-only; libvirt-python is imported when called (nova-compute's
    environment has it, an operator's laptop may not).
    """
    def read():
        import libvirt
        # Errors are raised and reported once, not printed by libvirt too.
        libvirt.registerErrorHandler(lambda *_: None, None)
        conn = libvirt.openReadOnly(uri)
        try:
            return [dom.XMLDesc(0) for dom in conn.listAllDomains()]
        finally:
            conn.close()
    return read


def _headline(report):
    if report.ready:
        return 'READY for real-time guests'
    head = 'NOT READY for real-time guests'
    if report.blocking:
        head += ': %s' % ', '.join(f.check for f in report.blocking)
    return head


def _finding_line(f, name_width, colour, width):
    line = '%-7s %s %-*s  %s' % (f.status.upper(),
                                 '*' if f.critical else ' ',
                                 name_width, f.check, f.observed)
    if width and len(line) > width:
        line = line[:width - 1] + '~'
    if colour:
        line = _COLOURS[f.status] + line[:7] + _RESET + line[7:]
    return line


def render_table(report, colour=False, width=None):
    """One line a check, failures first; remedies below the table."""
    if width is None and colour:
        width = shutil.get_terminal_size().columns
    lines = [_headline(report), 'kernel %s, isolated CPUs %s' % (
        report.kernel, cpuset.format(report.isolated_cpus) or 'none'), '']
    order = [f for _, f in sorted(
        enumerate(report.findings), key=lambda item: (
            _ORDER[item[1].status], not item[1].critical, item[0]))]
    name_width = max(len(f.check) for f in report.findings)
    lines += [_finding_line(f, name_width, colour, width) for f in order]
    remedies = [f for f in order
                if f.status in (checks.FAIL, checks.WARN) and f.remediation]
    if remedies:
        lines += ['', 'Remedies (* = critical for readiness):']
        lines += ['  %s: %s' % (f.check, f.remediation) for f in remedies]
    return '\n'.join(lines) + '\n'


def plan_host(args, out=None):
    out = out or sys.stdout
    conf = common.load_conf(args)
    root = common.host_root(args, conf)
    profile = host_profile.read_profile(root)
    result = host_plan.plan(
        profile, housekeeping_per_node=args.housekeeping_per_node,
        max_vcpu_priority=conf.nova_rt.max_vcpu_priority)
    if args.format == 'json':
        json.dump(result.to_dict(), out, indent=2)
        out.write('\n')
    else:
        out.write(host_plan.render_text(result))
    return cmd_args.EXIT_OK
