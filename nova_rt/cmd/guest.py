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
``nova_rt.guest_args``, and makes the arguments persistent in the guest's
boot loader, idempotently, replacing what nova-rt set before.

Exit codes: 0 success, 1 nothing to apply (not a nova-rt real-time guest),
2 an error (a bad OEM string, a boot loader tool that failed). Every error
is one line naming what failed; never a traceback.
"""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys

from nova_rt.cmd import args as cmd_args
from nova_rt.cmd import latency
from nova_rt import cpuset
from nova_rt import exception
from nova_rt import guest_args

EXIT_OK, EXIT_NOTHING, EXIT_ERROR = 0, 1, 2

# Paths relative to --root (which stands for '/').
DMI_ENTRIES = 'sys/firmware/dmi/entries'
PROC_CMDLINE = 'proc/cmdline'
PROC_OSRELEASE = 'proc/sys/kernel/osrelease'
STATE_FILE = 'etc/nova-rt/guest-args'
GRUB_DEFAULT = 'etc/default/grub'
GRUB_D_FILE = 'etc/default/grub.d/90-nova-rt.cfg'
KERNEL_CMDLINE = 'etc/kernel/cmdline'
KERNEL_CMDLINE_DEFAULT = 'usr/lib/kernel/cmdline'

SMBIOS_OEM_STRINGS = 11
KERNEL_ARGS_KEY = guest_args.OEM_PREFIX + 'kernel-args'
VERSION_KEY = guest_args.OEM_PREFIX + 'version'

METHODS = ('grubby', 'grub.d', 'kernel-install')

# The kernel splits its command line at whitespace outside double quotes
# (lib/cmdline.c next_arg); admin tokens such as foo="a b" stay whole.
_CMDLINE_TOKEN = re.compile(r'(?:[^\s"]|"[^"]*"?)+')
_VCPU_SCHEDULER = re.compile(r'[a-z]+(:[0-9]{1,2})?')
_OSRELEASE = re.compile(r'[A-Za-z0-9._+~-]+')
_ENTRY = re.compile(r'11-([0-9]+)')
_TOOL_TIMEOUT = 900  # seconds; kernel-install may rebuild an initramfs


class GuestError(exception.NovaRTError):
    """Anything that stops nova-rt-guest; exit code 2."""

    msg_fmt = '%(reason)s'


@dataclasses.dataclass(frozen=True)
class Delivery:
    """What the host delivered in the OEM strings, validated."""

    kernel_args: tuple
    kernel_args_key: str
    version: str = None
    realtime_vcpus: str = None
    housekeeping_vcpus: str = None
    vcpu_scheduler: str = None
    sources: tuple = ()


@dataclasses.dataclass(frozen=True)
class Result:
    method: str
    args: tuple
    changed: bool
    reboot_needed: bool
    dry_run: bool = False


# --- reading the OEM strings -------------------------------------------------

def parse_oem_entry(raw, name):
    """The strings of one raw SMBIOS type 11 structure.

    Layout (SMBIOS 3.x, 7.12): type byte (11), length byte of the formatted
    part, 2-byte handle, count byte at offset 4; the strings section starts
    at offset ``length``: NUL-terminated strings, ended by one more NUL
    (two NULs when there are none).

    :param raw: the bytes of ``/sys/firmware/dmi/entries/11-N/raw``
    :param name: the file, for messages
    :returns: a tuple of str
    :raises: GuestError naming the file when it is truncated or corrupt
    """
    if len(raw) < 5:
        raise GuestError(reason='%s: truncated: %d bytes, a type 11 header '
                         'needs 5' % (name, len(raw)))
    if raw[0] != SMBIOS_OEM_STRINGS:
        raise GuestError(reason='%s: structure type %d, not %d (OEM strings)'
                         % (name, raw[0], SMBIOS_OEM_STRINGS))
    length, count = raw[1], raw[4]
    if length < 5:
        raise GuestError(reason='%s: corrupt: header length %d < 5'
                         % (name, length))
    strings = []
    pos = length
    while True:
        end = raw.find(b'\0', pos)
        if end < 0:
            raise GuestError(reason='%s: truncated: the strings section has '
                             'no terminating NUL' % name)
        if end == pos:
            break
        strings.append(raw[pos:end])
        pos = end + 1
    if not strings and raw[pos + 1:pos + 2] != b'\0':
        raise GuestError(reason='%s: truncated: an empty strings section '
                         'needs two NULs' % name)
    if len(strings) != count:
        raise GuestError(reason='%s: corrupt: the count byte says %d strings, '
                         'the section holds %d' % (name, count, len(strings)))
    # Strings we do not own may hold anything; ours are checked later with
    # the grammar, which only allows ASCII.
    return tuple(s.decode('utf-8', 'backslashreplace') for s in strings)


def read_oem_strings(root):
    """Every OEM string of every type 11 entry, in entry order.

    :returns: a list of (raw file, string); empty without DMI entries
    """
    entries = os.path.join(root, DMI_ENTRIES)
    try:
        names = os.listdir(entries)
    except FileNotFoundError:
        return []
    except OSError as e:
        raise GuestError(reason='cannot list %s: %s' % (entries, e.strerror))
    numbered = sorted((int(m.group(1)), n) for n in names
                      for m in [_ENTRY.fullmatch(n)] if m)
    found = []
    for _, entry in numbered:
        raw_file = os.path.join(entries, entry, 'raw')
        try:
            with open(raw_file, 'rb') as f:
                raw = f.read()
        except OSError as e:
            raise GuestError(reason='cannot read %s: %s (run as root)'
                             % (raw_file, e.strerror))
        found.extend((raw_file, s) for s in parse_oem_entry(raw, raw_file))
    return found


def parse_args(value, what):
    """Kernel arguments from an untrusted string, with nova-rt's grammar.

    Only ``key`` or ``key=value`` tokens of ``[A-Za-z0-9_.,=:/+-]``, a key
    never starting with ``-``, single spaces: nothing a boot loader
    configuration, a shell or ``--`` could give a second meaning to.

    :raises: GuestError naming ``what``
    """
    try:
        tokens = guest_args.split_tokens(value, guest_args.MAX_TOTAL_LENGTH)
    except ValueError as e:
        raise GuestError(reason='%s: refused: %s' % (what, e))
    for key in guest_args.DERIVED_KEYS:
        if len([t for t in tokens if _key(t) == key]) > 1:
            raise GuestError(reason='%s: refused: %r given twice'
                             % (what, key))
    return tokens


def parse_delivery(oem_strings):
    """The nova-rt delivery among the OEM strings, or None without one.

    ``org.openstack.nova-rt.kernel-args`` wins; the systemd-stub string is
    the fallback. A key given twice with different values is an error.
    """
    values, sources = {}, {}
    for source, string in oem_strings:
        key, sep, value = string.partition('=')
        if not sep or not (key.startswith(guest_args.OEM_PREFIX)
                           or key == guest_args.SYSTEMD_CMDLINE_EXTRA):
            continue
        if key in values and values[key] != value:
            raise GuestError(reason='%s given twice with different values '
                             '(%s, %s)' % (key, sources[key], source))
        values[key] = value
        sources[key] = source
    if VERSION_KEY in values and values[VERSION_KEY] != guest_args.OEM_VERSION:
        raise GuestError(reason='%s=%r: this nova-rt-guest understands '
                         'version %s only' % (VERSION_KEY, values[VERSION_KEY],
                                              guest_args.OEM_VERSION))
    for key in (KERNEL_ARGS_KEY, guest_args.SYSTEMD_CMDLINE_EXTRA):
        if key in values:
            args_key = key
            break
    else:
        return None
    fields = {}
    for name in ('realtime-vcpus', 'housekeeping-vcpus'):
        value = values.get(guest_args.OEM_PREFIX + name)
        if value is not None:
            cpus = cpuset.parse(value, guest_args.OEM_PREFIX + name)
            value = cpuset.format(cpus)
        fields[name.replace('-', '_')] = value
    scheduler = values.get(guest_args.OEM_PREFIX + 'vcpu-scheduler')
    if scheduler is not None and not _VCPU_SCHEDULER.fullmatch(scheduler):
        raise GuestError(reason='%svcpu-scheduler: refused: %r'
                         % (guest_args.OEM_PREFIX, scheduler))
    return Delivery(
        kernel_args=parse_args(values[args_key],
                               '%s (%s)' % (args_key, sources[args_key])),
        kernel_args_key=args_key,
        version=values.get(VERSION_KEY),
        vcpu_scheduler=scheduler,
        sources=tuple(sorted(set(sources.values()))),
        **fields)


# --- small helpers -----------------------------------------------------------

def _key(token):
    return token.split('=', 1)[0]


def _read_text(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path, encoding='utf-8', errors='surrogateescape') as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise GuestError(reason='cannot read %s: %s' % (path, e.strerror))


def _write_text(path, text):
    """Replace the file atomically (0644), creating its directory."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + '.nova-rt-tmp'
        with open(tmp, 'w', encoding='utf-8', errors='surrogateescape') as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        raise GuestError(reason='cannot write %s: %s' % (path, e.strerror))


def _restore(path, text):
    """Put back what _read_text returned (None: remove the file)."""
    try:
        if text is None:
            os.unlink(path)
        else:
            _write_text(path, text)
    except (OSError, GuestError):
        pass  # the tool's failure is the error to report


def _checked(tokens):
    """Defence in depth: nothing reaches a file or an argv unchecked."""
    for token in tokens:
        if not guest_args._TOKEN.fullmatch(token):
            raise GuestError(reason='refused: %r is not key or key=value'
                             % token)
    return tokens


def split_cmdline(text):
    return _CMDLINE_TOKEN.findall(text or '')


def _run(argv):
    """Run a boot loader tool (an argv list, never a shell)."""
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              errors='replace', timeout=_TOOL_TIMEOUT,
                              check=False)
    except (OSError, subprocess.SubprocessError) as e:
        raise GuestError(reason='%s failed: %s' % (argv[0], e))
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        raise GuestError(reason='%s failed with exit code %d%s' % (
            ' '.join(argv[:2]), proc.returncode,
            ': %s' % detail[-1] if detail else ''))
    return proc.stdout


def reboot_needed(wanted, running):
    """Whether the running kernel lacks the wanted arguments.

    True when a wanted token is missing from the running command line, or
    when it also carries another value for one of the wanted keys (a resize
    changed the real-time vCPUs).
    """
    keys = {_key(t) for t in wanted}
    return {t for t in running if _key(t) in keys} != set(wanted)


def _replace_managed(tokens, wanted, managed_keys):
    """tokens without the managed keys, then the wanted arguments."""
    kept = [t for t in tokens if _key(t) not in managed_keys]
    return kept + list(wanted)


# --- the boot loader methods -------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Context:
    root: str
    wanted: tuple
    managed_keys: frozenset
    dry_run: bool
    search_path: str

    def path(self, rel):
        return os.path.join(self.root, rel)

    def tool(self, name):
        return shutil.which(name, path=self.search_path)


def _apply_grubby(ctx):
    """grubby --update-kernel=ALL: every installed kernel gets the args.

    The managed keys are removed first (``--remove-args`` takes keys), then
    the wanted arguments are added; nothing runs when every kernel already
    has exactly the wanted values for the managed keys.
    """
    grubby = ctx.tool('grubby')
    if grubby is None:
        raise GuestError(reason='grubby is not on PATH')
    info = _run([grubby, '--info=ALL'])
    kernels = [line.partition('=')[2].strip().strip('"')
               for line in info.splitlines() if line.startswith('args=')]
    if not kernels:
        raise GuestError(reason='grubby --info=ALL lists no kernel')
    want = sorted(ctx.wanted)
    if all(sorted(t for t in split_cmdline(args)
                  if _key(t) in ctx.managed_keys) == want
           for args in kernels):
        return False
    if not ctx.dry_run:
        remove = ' '.join(sorted(ctx.managed_keys))
        _run([grubby, '--update-kernel=ALL', '--remove-args=%s' % remove])
        _run([grubby, '--update-kernel=ALL',
              '--args=%s' % ' '.join(_checked(ctx.wanted))])
    return True


def _grub_mkconfig_argv(ctx):
    if ctx.tool('update-grub'):
        return [ctx.tool('update-grub')]
    if ctx.tool('grub-mkconfig'):
        return [ctx.tool('grub-mkconfig'), '-o',
                ctx.path('boot/grub/grub.cfg')]
    if ctx.tool('grub2-mkconfig'):
        return [ctx.tool('grub2-mkconfig'), '-o',
                ctx.path('boot/grub2/grub.cfg')]
    raise GuestError(reason='none of update-grub, grub-mkconfig, '
                     'grub2-mkconfig is on PATH')


def grub_d_text(wanted):
    return ('# Written by nova-rt-guest apply; rewritten on every change.\n'
            '# The real-time kernel arguments the host delivered in the\n'
            '# SMBIOS OEM string %s.\n'
            'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} %s"\n'
            % (KERNEL_ARGS_KEY, ' '.join(_checked(wanted))))


def _apply_grub_d(ctx):
    """/etc/default/grub.d/90-nova-rt.cfg, then regenerate grub.cfg.

    The file is nova-rt's alone, so rewriting it replaces the previous
    arguments. When the regeneration fails the previous file is put back,
    so the next run tries again.
    """
    argv = _grub_mkconfig_argv(ctx)
    path = ctx.path(GRUB_D_FILE)
    old, new = _read_text(path), grub_d_text(ctx.wanted)
    if old == new:
        return False
    if not ctx.dry_run:
        _write_text(path, new)
        try:
            _run(argv)
        except GuestError:
            _restore(path, old)
            raise
    return True


def _running_kernel_image(ctx):
    release = (_read_text(ctx.path(PROC_OSRELEASE)) or '').strip()
    if not _OSRELEASE.fullmatch(release):
        raise GuestError(reason='cannot tell the running kernel from %s'
                         % ctx.path(PROC_OSRELEASE))
    for rel in ('usr/lib/modules/%s/vmlinuz' % release,
                'lib/modules/%s/vmlinuz' % release,
                'boot/vmlinuz-%s' % release):
        if os.path.isfile(ctx.path(rel)):
            return release, ctx.path(rel)
    raise GuestError(reason='no image of the running kernel %s in '
                     '/usr/lib/modules, /lib/modules or /boot' % release)


def _apply_kernel_install(ctx):
    """/etc/kernel/cmdline (a whole command line), then kernel-install add.

    Starts from the file, else from /usr/lib/kernel/cmdline, else from the
    running command line as kernel-install does; the managed keys are
    replaced, the others kept. ``kernel-install add`` for the running
    kernel then rewrites its boot entry.
    """
    tool = ctx.tool('kernel-install')
    if tool is None:
        raise GuestError(reason='kernel-install is not on PATH')
    path = ctx.path(KERNEL_CMDLINE)
    old = _read_text(path)
    if old is not None:
        base = split_cmdline(old)
    else:
        base = split_cmdline(_read_text(ctx.path(KERNEL_CMDLINE_DEFAULT)))
        if not base:
            base = [t for t in
                    split_cmdline(_read_text(ctx.path(PROC_CMDLINE)))
                    if not t.startswith(('BOOT_IMAGE=', 'initrd='))]
    new = ' '.join(_replace_managed(base, _checked(ctx.wanted),
                                    ctx.managed_keys)) + '\n'
    if old == new:
        return False
    release, image = _running_kernel_image(ctx)
    if not ctx.dry_run:
        _write_text(path, new)
        try:
            _run([tool, 'add', release, image])
        except GuestError:
            _restore(path, old)
            raise
    return True


_APPLY = {
    'grubby': _apply_grubby,
    'grub.d': _apply_grub_d,
    'kernel-install': _apply_kernel_install,
}


def choose_method(root, search_path):
    """auto: grubby, else GRUB with /etc/default/grub, else kernel-install."""
    if shutil.which('grubby', path=search_path):
        return 'grubby'
    if os.path.isfile(os.path.join(root, GRUB_DEFAULT)):
        return 'grub.d'
    if shutil.which('kernel-install', path=search_path):
        return 'kernel-install'
    raise GuestError(reason='no supported boot loader: no grubby on PATH, '
                     'no /etc/default/grub, no kernel-install on PATH')


# --- apply -------------------------------------------------------------------

def read_state(root):
    """The arguments nova-rt-guest applied last (empty the first time)."""
    path = os.path.join(root, STATE_FILE)
    text = _read_text(path)
    if text is None:
        return ()
    lines = [line for line in text.splitlines()
             if line.strip() and not line.startswith('#')]
    if not lines:
        return ()
    return parse_args(' '.join(lines), path)


def state_text(wanted):
    return ('# The kernel arguments nova-rt-guest apply last made '
            'persistent;\n'
            '# their keys are replaced on the next change. Do not edit.\n'
            '%s\n' % ' '.join(_checked(wanted)))


def apply(root, method, dry_run, delivery, search_path):
    """Make the delivered arguments persistent in the boot loader.

    :returns: Result
    :raises: GuestError
    """
    wanted = delivery.kernel_args
    if method == 'auto':
        method = choose_method(root, search_path)
    previous = read_state(root)
    managed = frozenset(guest_args.DERIVED_KEYS) | {
        _key(t) for t in previous + wanted}
    ctx = _Context(root=root, wanted=wanted, managed_keys=managed,
                   dry_run=dry_run, search_path=search_path)
    changed = _APPLY[method](ctx)
    if not dry_run:
        state = os.path.join(root, STATE_FILE)
        if _read_text(state) != state_text(wanted):
            _write_text(state, state_text(wanted))
    running = split_cmdline(_read_text(os.path.join(root, PROC_CMDLINE)))
    return Result(method=method, args=wanted, changed=changed,
                  reboot_needed=reboot_needed(wanted, running),
                  dry_run=dry_run)


# --- the command line --------------------------------------------------------

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
               % (KERNEL_ARGS_KEY, guest_args.SYSTEMD_CMDLINE_EXTRA,
                  os.path.join(root, DMI_ENTRIES)))
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
    return EXIT_NOTHING


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
                             choices=('auto',) + METHODS,
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
    return parse_delivery(read_oem_strings(root))


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == 'latency':
            return args.func(args)
        delivery = read_delivery(args.root)
        if delivery is None:
            return _nothing(args.command, args.root, args.format)
        if args.command == 'show':
            _print_show(delivery, args.format)
            return EXIT_OK
        result = apply(args.root, args.method, args.dry_run, delivery,
                       os.environ.get('PATH', os.defpath))
        _print_apply(result, args.format)
        return EXIT_OK
    except exception.NovaRTError as e:
        sys.stderr.write('nova-rt-guest: error: %s\n' % e)
        return EXIT_ERROR
    except Exception as e:
        # Last resort: one line, never a traceback.
        sys.stderr.write('nova-rt-guest: internal error: %s: %s\n'
                         % (type(e).__name__, e))
        return EXIT_ERROR


if __name__ == '__main__':
    sys.exit(main())
