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
"""``nova-rt latency run|report|certify`` and ``nova-rt-guest latency
run|report``.

Standard library only at import: ``nova-rt-guest`` uses this module inside
guests. The host commands read nova.conf through the loader ``nova-rt``
hands in (``register(commands, load_conf)``), the guest commands read the
OEM strings through the reader ``nova-rt-guest`` hands in.

Exit codes: 0 a complete run (within the gate when one is given), a
report within the gate, a certificate written; 1 an incomplete run, a
gate exceeded, a run ``certify`` refuses; 2 bad input or a run that could
not start (raised as nova-rt errors, which the callers' ``main`` prints as
one line).
"""

import argparse
import dataclasses
import datetime
import functools
import json
import os
import sys

from nova_rt.cmd import args as cmd_args
from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.latency import certificate
from nova_rt.latency import cyclictest
from nova_rt.latency import identity
from nova_rt.latency import LatencyError
from nova_rt.latency import plot as plot_mod
from nova_rt.latency import result as result_mod
from nova_rt.latency import runner

EXIT_OK, EXIT_NEGATIVE = 0, 1
DEFAULT_DURATION = '5m'
DEFAULT_INTERVAL_US = 1000
DEFAULT_HISTOGRAM_US = 10000
# Inside a guest nothing bounds the priority: rt-tests' customary 95.
GUEST_PRIORITY = 95


def duration(text):
    """argparse type: 30, 30s, 5m, 1h, 1d -> seconds (at least 1)."""
    try:
        seconds = cyclictest.parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))
    if seconds < 1:
        raise argparse.ArgumentTypeError('%r is shorter than a second'
                                         % text)
    return seconds


def cpu_set(text):
    try:
        cpus = cpuset.parse(text, '--cpus')
    except exception.InvalidCPUSet as e:
        raise argparse.ArgumentTypeError(str(e))
    if not cpus:
        raise argparse.ArgumentTypeError('--cpus names no CPU')
    return cpus


def priority(text):
    value = cmd_args.positive_int(text)
    if value > 99:
        raise argparse.ArgumentTypeError('%d is above 99' % value)
    return value


def _add_report_options(parser):
    parser.add_argument('--format', choices=('text', 'json'),
                        default='text')
    parser.add_argument('--max-latency-us', type=cmd_args.positive_int,
                        metavar='N',
                        help='a gate: exit 1 when the worst latency is '
                             'above N microseconds')
    parser.add_argument('--plot', metavar='DIR',
                        help='write histogram.png (and worst-per-slice.png '
                             'for sliced runs) into DIR; needs matplotlib')


def _add_run_options(parser, where):
    cpus_help = ('CPUs to measure, one pinned thread each (default: the '
                 'isolated CPUs' if where == 'host' else
                 'vCPUs to measure, one pinned thread each (default: the '
                 'real-time vCPUs the host delivered in the OEM strings')
    parser.add_argument('--cpus', type=cpu_set, metavar='CPUSET',
                        help=cpus_help + '; without any, every online CPU '
                                         'but the first)')
    parser.add_argument('--duration', type=duration,
                        default=duration(DEFAULT_DURATION), metavar='TIME',
                        help='how long: 30s, 5m, 2h, 1d (default %s)'
                             % DEFAULT_DURATION)
    parser.add_argument('--interval', type=cmd_args.positive_int,
                        default=DEFAULT_INTERVAL_US, metavar='US',
                        help='wake-up interval in microseconds (default '
                             '%(default)s)')
    parser.add_argument('--histogram-us', type=cmd_args.positive_int,
                        default=DEFAULT_HISTOGRAM_US, metavar='US',
                        help='histogram limit: latencies beyond it are '
                             'counted as overflows (default %(default)s)')
    parser.add_argument('--priority', type=priority, metavar='PRIO',
                        help='SCHED_FIFO priority of the measuring threads '
                             '(default: %s)' % (
                                 '[nova_rt] max_vcpu_priority, the highest '
                                 'a vCPU may get' if where == 'host'
                                 else GUEST_PRIORITY))
    parser.add_argument('--slice', type=cmd_args.positive_int, metavar='S',
                        help='seconds per cyclictest invocation (default: '
                             'about 60 slices, 1 to 60 s each)')
    parser.add_argument('--load', choices=runner.LOADS,
                        help='background load on the housekeeping CPUs '
                             'while measuring')
    parser.add_argument('--output', metavar='FILE',
                        help='the result file (default: '
                             'nova-rt-latency-%s-<UTC time>.json here); '
                             'cyclictest\'s own files go to FILE\'s name '
                             'with .cyclictest' % where)
    parser.add_argument('--root', default='/', metavar='DIR',
                        help='directory standing for / when reading the '
                             'kernel identity and SMI counter')
    _add_report_options(parser)


def _add_config_file(parser):
    # As nova_rt.cmd.common.add_config_file_argument, which imports oslo.
    parser.add_argument(
        '--config-file', action='append', default=[], metavar='FILE',
        help='nova.conf to read [nova_rt] from (repeatable; default: '
             '/etc/nova/nova.conf when it exists)')
    parser.add_argument(
        '--config-dir', action='append', default=[], metavar='DIR',
        help='directory of .conf files read after the config files '
             '(repeatable; default: /etc/nova/nova.conf.d when it exists)')


def _latency_parser(commands, latency_help, run_help):
    """The ``latency`` command with its required ACTION; the actions and
    the ``run`` action's parser.
    """
    parser = commands.add_parser('latency', help=latency_help)
    actions = parser.add_subparsers(dest='action', metavar='ACTION',
                                    parser_class=cmd_args.Parser)
    actions.required = True
    return actions, actions.add_parser('run', help=run_help)


def _add_report(actions):
    report = actions.add_parser(
        'report', help='summarise cyclictest --json output or a saved '
                       'result')
    report.add_argument('--input', required=True, metavar='FILE')
    _add_report_options(report)
    report.set_defaults(func=report_cmd)


def register(commands, load_conf):
    """``nova-rt latency``; ``load_conf(args)`` returns a ConfigOpts with
    the [nova_rt] options, read from ``args.config_file``/``config_dir``.
    """
    actions, run = _latency_parser(
        commands, 'measure, report and certify this host\'s latency',
        'run cyclictest on the isolated CPUs (as root)')
    _add_run_options(run, 'host')
    _add_config_file(run)
    run.set_defaults(func=functools.partial(run_host, load_conf=load_conf))
    _add_report(actions)
    cert = actions.add_parser(
        'certify', help='write the latency certificate the compute '
                        'publishes')
    cert.add_argument('--input', required=True, metavar='RESULT')
    cert.add_argument('--output', metavar='FILE',
                      help='where to write it (default: [nova_rt] '
                           'latency_certificate)')
    cert.add_argument('--root', metavar='DIR',
                      help='directory standing for / (default: [nova_rt] '
                           'host_root)')
    _add_config_file(cert)
    cert.set_defaults(func=functools.partial(certify_cmd,
                                             load_conf=load_conf))


def register_guest(commands, read_delivery):
    """``nova-rt-guest latency``; ``read_delivery(root)`` returns the
    OEM-string delivery (``realtime_vcpus``, ``housekeeping_vcpus``) or
    None.
    """
    actions, run = _latency_parser(
        commands, 'measure latency on the real-time vCPUs',
        'run cyclictest on the real-time vCPUs (as root)')
    _add_run_options(run, 'guest')
    run.set_defaults(func=functools.partial(run_guest,
                                            read_delivery=read_delivery))
    _add_report(actions)


# --- run ---------------------------------------------------------------------

def _default_cpus(online, preferred, what):
    if preferred:
        return frozenset(preferred), what
    if len(online) > 1:
        return frozenset(online) - {min(online)}, (
            'no %s: every online CPU but the first' % what)
    return frozenset(online), 'no %s: the only online CPU' % what


def plan_run(args, ident, preferred, what, default_priority):
    """The ``runner.Plan`` of the options; the CPUs' origin, for the log."""
    online = ident.online_cpus or frozenset(os.sched_getaffinity(0))
    if args.cpus:
        cpus, origin = args.cpus, '--cpus'
    else:
        cpus, origin = _default_cpus(online, preferred, what)
    outside = cpus - online
    if outside:
        raise LatencyError('CPUs %s are not online (online: %s)'
                           % (cpuset.format(outside), cpuset.format(online)))
    plan = runner.Plan(
        cpus=cpus, housekeeping=frozenset(online) - cpus,
        priority=args.priority or default_priority,
        interval_us=args.interval, histogram_us=args.histogram_us,
        duration_s=args.duration,
        slice_s=min(args.slice or runner.default_slice(args.duration),
                    args.duration),
        load=args.load)
    return plan, origin


def _output_paths(args, where, now=None):
    path = args.output
    if not path:
        now = now or datetime.datetime.now(datetime.timezone.utc)
        path = 'nova-rt-latency-%s-%s.json' % (where,
                                               now.strftime('%Y%m%dT%H%M%SZ'))
    stem = path[:-len('.json')] if path.endswith('.json') else path
    return path, stem + '.cyclictest'


def _say(text):
    sys.stderr.write('%s\n' % text)
    sys.stderr.flush()


def _need_root():
    if os.geteuid() != 0:
        raise LatencyError('latency run needs root (SCHED_FIFO and locked '
                           'memory)')


def _measure(args, where, ident, preferred, what, default_priority, out):
    plan, origin = plan_run(args, ident, preferred, what, default_priority)
    path, json_dir = _output_paths(args, where)
    _say('measuring CPUs %s (%s) for %d s at SCHED_FIFO %d, interval %d us, '
         'histogram up to %d us; housekeeping CPUs: %s; load: %s'
         % (cpuset.format(plan.cpus), origin, plan.duration_s,
            plan.priority, plan.interval_us, plan.histogram_us,
            cpuset.format(plan.housekeeping) or 'none (nova-rt shares the '
            'measured CPUs)', plan.load or 'none'))
    result = runner.measure(plan, json_dir, where, ident, root=args.root,
                            log=_say)
    out_dir = os.path.dirname(os.path.abspath(path))
    result = dataclasses.replace(
        result, cyclictest_json=tuple(
            os.path.relpath(f, out_dir) for f in result.cyclictest_json))
    if args.max_latency_us:
        result = result.with_gate(args.max_latency_us)
    result_mod.dump(result, path)
    code = _print_report(result, args, out)
    _say('result: %s (cyclictest output in %s)' % (path, json_dir))
    if not result.complete:
        return EXIT_NEGATIVE
    return code


def run_host(args, load_conf, out=None):
    _need_root()
    conf = load_conf(args)
    ident = identity.read(args.root)
    return _measure(args, 'host', ident, ident.isolated_cpus,
                    'isolated CPUs', conf.nova_rt.max_vcpu_priority,
                    out or sys.stdout)


def run_guest(args, read_delivery, out=None):
    _need_root()
    delivery = read_delivery(args.root)
    preferred = None
    if delivery is not None and delivery.realtime_vcpus:
        preferred = cpuset.parse(delivery.realtime_vcpus, 'realtime-vcpus')
    return _measure(args, 'guest', identity.read(args.root), preferred,
                    'real-time vCPUs in the OEM strings', GUEST_PRIORITY,
                    out or sys.stdout)


# --- report ------------------------------------------------------------------

def _print_report(result, args, out):
    if args.format == 'json':
        json.dump(result.to_dict(histograms=False), out, indent=2)
        out.write('\n')
    else:
        out.write(result_mod.render_text(result))
    if args.plot:
        if plot_mod.available():
            for path in plot_mod.plot(result, args.plot,
                                      bound_us=result.gate_max_us):
                _say('plot: %s' % path)
        else:
            _say('no plots: %s' % plot_mod.HINT)
    if result.gate_passed is False:
        return EXIT_NEGATIVE
    return EXIT_OK


def report_cmd(args, out=None):
    result = result_mod.load(args.input)
    if args.max_latency_us:
        result = result.with_gate(args.max_latency_us)
    return _print_report(result, args, out or sys.stdout)


# --- certify -----------------------------------------------------------------

def certify_cmd(args, load_conf, out=None):
    out = out or sys.stdout
    conf = load_conf(args)
    root = args.root or conf.nova_rt.host_root
    result = result_mod.load(args.input)
    ident = identity.read(root)
    try:
        doc = certificate.build(result, ident,
                                conf.nova_rt.latency_min_duration)
    except certificate.CertificateRefused as e:
        _say('nova-rt: %s' % e)
        return EXIT_NEGATIVE
    path = args.output or conf.nova_rt.latency_certificate
    certificate.write(doc, path)
    json.dump(doc, out, indent=2, sort_keys=True)
    out.write('\ncertificate: %s (max %d us, valid %d days while kernel, '
              'command line and isolated CPUs stay as they are)\n'
              % (path, doc['max_latency_us'],
                 conf.nova_rt.latency_max_age_days))
    return EXIT_OK
