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
"""``nova-rt flavor explain``: what nova-rt makes of a flavor."""

import argparse
import json
import sys

from nova_rt.cmd import args as cmd_args
from nova_rt.cmd import common
from nova_rt.core import exception
from nova_rt.core import request as rt_request
from nova_rt.scheduler import prefilter


def _key_value(text):
    key, sep, value = text.partition('=')
    if not sep or not key:
        raise argparse.ArgumentTypeError('%r is not KEY=VALUE' % text)
    return key, value


def register(commands):
    parser = commands.add_parser(
        'flavor', help='explain flavors')
    actions = parser.add_subparsers(dest='action', metavar='ACTION')
    actions.required = True
    explain = actions.add_parser(
        'explain',
        help='show what nova-rt makes of a flavor, or why it is invalid')
    explain.add_argument('--vcpus', type=cmd_args.positive_int,
                         required=True,
                         help="the flavor's vCPU count")
    explain.add_argument('--property', type=_key_value, action='append',
                         default=[], metavar='KEY=VALUE',
                         help='a flavor extra spec (repeatable)')
    explain.add_argument('--image-property', type=_key_value,
                         action='append', default=[], metavar='KEY=VALUE',
                         help='an image property, e.g. '
                              'hw_cpu_realtime_mask=^0 (repeatable)')
    explain.add_argument('--format', choices=('text', 'json'),
                         default='text')
    common.add_config_file_argument(explain)
    explain.set_defaults(func=explain_flavor)


def explain(vcpus, extra_specs, image_properties, policy):
    """What nova-rt makes of a flavor: ``(RealtimeRequest or None, its
    JSON view)``; shared with ``openstack realtime flavor explain``.

    :raises: InvalidRealtimeRequest naming the keys at fault
    """
    request = rt_request.build_request(vcpus, extra_specs, image_properties,
                                       policy)
    result = {'valid': True, 'realtime': request is not None}
    if request is not None:
        result.update(request.to_dict())
    return request, result


def explain_flavor(args, out=None):
    out = out or sys.stdout
    conf = common.load_conf(args)
    policy = rt_request.RequestPolicy.from_conf(conf)
    try:
        request, result = explain(args.vcpus, dict(args.property),
                                  dict(args.image_property), policy)
    except exception.InvalidRealtimeRequest as e:
        if args.format == 'json':
            json.dump({'valid': False, 'keys': list(e.keys),
                       'error': e.message}, out, indent=2)
            out.write('\n')
        else:
            out.write('invalid flavor: %s\n' % e.message)
        return cmd_args.EXIT_NEGATIVE
    cut = None
    if request is not None:
        cut = prefilter.placement_cut(dict(args.property),
                                      conf.nova_rt.lab_mode)
        result['placement'] = cut.to_dict()
    if args.format == 'json':
        json.dump(result, out, indent=2)
        out.write('\n')
    else:
        out.write(render_text(args.vcpus, request, cut))
    return cmd_args.EXIT_OK


def _emulator_placement(request):
    if request.emulator_threads_policy == 'isolate':
        return 'a host CPU of their own (hw:emulator_threads_policy=isolate)'
    if request.emulator_threads_policy == 'share':
        return "the host's [compute] cpu_shared_set"
    return 'the host CPUs of the housekeeping vCPUs'


def _placement(cut):
    if cut.state == prefilter.ASKED:
        return cut.message
    if cut.state == prefilter.MISSING:
        return 'not asked: %s' % cut.message
    return 'WRONG: %s' % cut.message


def render_text(vcpus, request, cut=None):
    if request is None:
        return ('%d vCPUs, not real-time: nova-rt leaves this flavor to '
                'Nova.\n' % vcpus)
    d = request.to_dict()
    rows = [
        ('flavor', '%d vCPUs, real-time' % vcpus),
        ('real-time vCPUs', '%s  (%s)' % (d['realtime_vcpus'],
                                          _thread(request.vcpu_thread))),
        ('housekeeping vCPUs', (d['housekeeping_vcpus'] or '(none)') + (
            "  (shared: float on the host's [compute] cpu_shared_set)"
            if request.cpu_policy == 'mixed' else '')),
        ('emulator, I/O threads', '%s, on %s' % (
            _thread(request.emulator_thread), _emulator_placement(request))),
        ('host CPUs pinned', '%d%s' % (request.pcpus, (
            '  (%d vCPUs + 1 emulator)' % len(request.dedicated_vcpus)
            if request.emulator_pcpus else ''))),
        ('SMT siblings', {'isolate': 'whole cores, siblings left idle',
                          'require': 'siblings required',
                          'prefer': 'siblings preferred',
                          None: "Nova's default (prefer)"}[
                              request.cpu_thread_policy]),
        ('guest NUMA nodes', str(request.numa_nodes)),
        ('host kernel', {'preempt_rt': 'PREEMPT_RT required',
                         'any': 'any'}[request.host_kernel]),
        ('L3 cache (CAT)', ('%d KiB for the real-time vCPUs'
                            % request.l3_cache_kib)
         if request.l3_cache_kib else 'not reserved'),
        ('max latency', ('%d us (certified hosts only)'
                         % request.max_latency_us)
         if request.max_latency_us else 'no bound'),
        ('vPMU', 'on' if request.pmu else 'off'),
        ('memory', 'locked, not shared%s' % (
            ', %s pages' % request.mem_page_size
            if request.mem_page_size else '')),
    ]
    if request.guest_tuning == 'none':
        rows.append(('guest kernel args', 'none (rt:guest_tuning=none)'))
    else:
        rows.append(('guest kernel args', ' '.join(d['guest_kernel_args'])))
        rows.append(('delivered as', 'SMBIOS type 11 OEM strings; '
                     '<os><cmdline> for direct kernel boot'))
    if cut is not None:
        rows.append(('placement', _placement(cut)))
    width = max(len(label) for label, _ in rows)
    return ''.join('%-*s  %s\n' % (width + 1, label + ':', value)
                   for label, value in rows)


def _thread(thread_class):
    if not thread_class.realtime:
        return 'SCHED_OTHER'
    return 'SCHED_%s priority %d' % (thread_class.scheduler.upper(),
                                     thread_class.priority)
