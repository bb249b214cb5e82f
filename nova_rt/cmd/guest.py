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
"""The guest side: ``nova-rt-guest apply``, ``show`` and ``latency``.

Runs as root inside a real-time guest, with the standard library only (a
guest image has no oslo nor Nova): it reads the SMBIOS type 11 OEM strings
the host delivered, re-validates every kernel argument with the grammar of
``nova_rt.core.guest_args``, and makes the arguments persistent in the guest's
boot loader, idempotently, replacing what nova-rt set before.

Exit codes: 0 success, 1 nothing to apply (not a nova-rt real-time guest),
2 an error (a bad OEM string, a boot loader tool that failed). Every error
is one line naming what failed; never a traceback.
"""

import json
import os
import sys

from nova_rt.cmd import args as cmd_args
from nova_rt.cmd import latency
from nova_rt.core import guest_args
from nova_rt.guest import bootloader
from nova_rt.guest import delivery as guest_delivery
from nova_rt.guest import oem


def _verdict(result):
    if result.changed:
        text = 'would change' if result.dry_run else 'changed'
        if result.reboot_needed:
            return text + ', reboot needed'
        return text + ', no reboot needed (the running kernel has them)'
    if result.reboot_needed:
        return ('already in place, reboot needed (the running kernel does '
                'not have them yet)')
    return 'already in place'


def _print_apply(result, fmt):
    if fmt == 'json':
        print(json.dumps({'method': result.method,
                          'args': list(result.args),
                          'changed': result.changed,
                          'reboot_needed': result.reboot_needed},
                         sort_keys=True))
        return
    print('method: %s' % result.method)
    print('args: %s' % ' '.join(result.args))
    print(('dry run: ' if result.dry_run else '') + _verdict(result))


def _print_show(delivery, fmt):
    fields = [('version', delivery.version),
              ('kernel_args', list(delivery.kernel_args)),
              ('kernel_args_key', delivery.kernel_args_key),
              ('realtime_vcpus', delivery.realtime_vcpus),
              ('housekeeping_vcpus', delivery.housekeeping_vcpus),
              ('vcpu_scheduler', delivery.vcpu_scheduler),
              ('sources', list(delivery.sources))]
    if fmt == 'json':
        print(json.dumps(dict(fields), sort_keys=True))
        return
    for name, value in fields:
        if isinstance(value, list):
            value = ' '.join(value)
        print('%-19s %s' % (name.replace('_', '-') + ':',
                            '-' if value is None else value))


def _nothing(command, root, fmt):
    message = ('no nova-rt OEM strings (%s or %s) in %s: not a nova-rt '
               'real-time guest, nothing to apply'
               % (guest_delivery.KERNEL_ARGS_KEY,
                  guest_args.SYSTEMD_CMDLINE_EXTRA,
                  os.path.join(root, oem.DMI_ENTRIES)))
    if fmt == 'json':
        if command == 'apply':
            doc = {'method': None, 'args': [], 'changed': False,
                   'reboot_needed': False}
        else:
            doc = {'kernel_args': [], 'sources': []}
        print(json.dumps(doc, sort_keys=True))
        sys.stderr.write('nova-rt-guest: %s\n' % message)
    else:
        print(message)
    return cmd_args.EXIT_NEGATIVE


def build_parser():
    parser = cmd_args.Parser(
        prog='nova-rt-guest',
        description='Inside a nova-rt real-time guest: make the kernel '
                    'arguments the host delivered (SMBIOS OEM strings) '
                    'persistent in the boot loader.')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND',
                                     parser_class=cmd_args.Parser)
    commands.required = True
    for name, help_text in (
            ('apply', 'make the delivered kernel arguments persistent'),
            ('show', 'print what the host delivered')):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument('--root', default='/', metavar='DIR',
                         help='directory standing for / (/sys, /proc, /etc, '
                              '/boot, /usr/lib); default /')
        sub.add_argument('--format', choices=('text', 'json'),
                         default='text')
        if name == 'apply':
            sub.add_argument('--method', default='auto',
                             choices=('auto',) + bootloader.METHODS,
                             help='boot loader to configure (default auto: '
                                  'grubby, else /etc/default/grub.d, else '
                                  'kernel-install)')
            sub.add_argument('--dry-run', action='store_true',
                             help='say what would change; write nothing')
    # --- nova-rt-guest latency (nova_rt/cmd/latency.py) ---
    latency.register_guest(commands, read_delivery)
    return parser


def read_delivery(root):
    """The delivery in the OEM strings under ``root``, or None."""
    return guest_delivery.parse_delivery(oem.read_oem_strings(root))


def run(args):
    if args.command == 'latency':
        return args.func(args)
    delivery = read_delivery(args.root)
    if delivery is None:
        return _nothing(args.command, args.root, args.format)
    if args.command == 'show':
        _print_show(delivery, args.format)
        return cmd_args.EXIT_OK
    result = bootloader.apply(args.root, args.method, args.dry_run, delivery,
                              os.environ.get('PATH', os.defpath))
    _print_apply(result, args.format)
    return cmd_args.EXIT_OK


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return cmd_args.run_guarded('nova-rt-guest', lambda: run(args))


if __name__ == '__main__':
    sys.exit(main())
