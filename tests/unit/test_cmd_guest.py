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
"""nova-rt-guest on fake guest roots with fake boot loader tools.

The fake tools are small Python scripts on a temporary PATH; each records
its argv as one JSON line in ``calls`` next to it, so a test sees exactly
what would have run.
"""

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from unittest import mock

import testtools

from nova_rt.cmd import guest
from nova_rt.core import guest_args
from nova_rt.core import kernel_args
from nova_rt.core import request as rt
from nova_rt import guest as guest_pkg
from nova_rt.guest import bootloader
from nova_rt.guest import delivery as guest_delivery
from nova_rt.guest import oem as guest_oem

RT_ARGS = ('isolcpus=managed_irq,domain,1-3 nohz=on nohz_full=1-3 '
           'rcu_nocbs=1-3 irqaffinity=0 skew_tick=1 tsc=reliable '
           'nosoftlockup')
RESIZED = RT_ARGS.replace('1-3', '2-7').replace('irqaffinity=0',
                                                 'irqaffinity=0-1')
RELEASE = '6.1.0-18-amd64'


def raw_entry(strings, handle=0x2a, count=None):
    """A raw SMBIOS type 11 structure as the kernel exposes it."""
    encoded = [s.encode() if isinstance(s, str) else s for s in strings]
    head = bytes([11, 5, handle & 0xff, handle >> 8,
                  len(encoded) if count is None else count])
    if not encoded:
        return head + b'\0\0'
    return head + b''.join(s + b'\0' for s in encoded) + b'\0'


def oem(args=RT_ARGS, key=guest_delivery.KERNEL_ARGS_KEY):
    return ['%s=%s' % (guest_args.SYSTEMD_CMDLINE_EXTRA, args),
            'org.openstack.nova-rt.version=1',
            '%s=%s' % (key, args),
            'org.openstack.nova-rt.realtime-vcpus=1-3',
            'org.openstack.nova-rt.housekeeping-vcpus=0',
            'org.openstack.nova-rt.vcpu-scheduler=fifo:10']


FAKE_TOOL = '''\
#!%(python)s
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
name = os.path.basename(sys.argv[0])
with open(os.path.join(here, 'calls'), 'a') as f:
    f.write(json.dumps([name] + sys.argv[1:]) + '\\n')
if os.path.exists(os.path.join(here, 'fail-' + name)):
    sys.stderr.write(name + ': simulated failure\\n')
    sys.exit(3)
# fail-at: fail the Nth call of any tool (before it changes anything).
counter = os.path.join(here, 'count')
count = 1
if os.path.exists(counter):
    with open(counter) as f:
        count = int(f.read()) + 1
with open(counter, 'w') as f:
    f.write(str(count))
if os.path.exists(os.path.join(here, 'fail-at')):
    with open(os.path.join(here, 'fail-at')) as f:
        if int(f.read()) == count:
            sys.stderr.write(name + ': simulated failure of call %%d\\n'
                             %% count)
            sys.exit(4)
'''

# grubby's own model: a list of kernels, each with its args.
FAKE_GRUBBY = FAKE_TOOL + '''\
state = os.path.join(here, 'grubby.json')
with open(state) as f:
    kernels = json.load(f)
def key(t):
    return t.split('=', 1)[0]
opts = dict(a.split('=', 1) for a in sys.argv[1:] if '=' in a)
if '--info' in opts:
    for i, args in enumerate(kernels):
        print('index=%%d' %% i)
        print('kernel="/boot/vmlinuz-%%d"' %% i)
        print('args="%%s"' %% args)
    sys.exit(0)
target = opts.get('--update-kernel')
assert target, sys.argv
new = []
for i, args in enumerate(kernels):
    if target not in ('ALL', '/boot/vmlinuz-%%d' %% i):
        new.append(args)
        continue
    tokens = args.split()
    if '--remove-args' in opts:
        gone = set(opts['--remove-args'].split())
        tokens = [t for t in tokens if key(t) not in gone]
    for add in opts.get('--args', '').split():
        tokens = [t for t in tokens if key(t) != key(add)] + [add]
    new.append(' '.join(tokens))
with open(state, 'w') as f:
    json.dump(new, f)
'''


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = guest.main(list(argv))
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


class GuestBase(testtools.TestCase):
    """A fake guest root and an empty PATH of fake tools."""

    def setUp(self):
        super().setUp()
        self.fresh_root()

    def fresh_root(self):
        """A new, empty fake root and bin (a test may start over)."""
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root = os.path.join(tmp.name, 'root')
        self.bin = os.path.join(tmp.name, 'bin')
        os.makedirs(self.bin)
        patcher = mock.patch.dict(os.environ, {'PATH': self.bin})
        patcher.start()
        self.addCleanup(patcher.stop)
        self.write('proc/cmdline',
                   'BOOT_IMAGE=/boot/vmlinuz root=/dev/vda1 ro quiet\n')
        self.write('proc/sys/kernel/osrelease', RELEASE + '\n')

    # --- the fake root ---
    def path(self, rel):
        return os.path.join(self.root, rel)

    def write(self, rel, content):
        path = self.path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = 'wb' if isinstance(content, bytes) else 'w'
        with open(path, mode) as f:
            f.write(content)

    def read(self, rel):
        with open(self.path(rel)) as f:
            return f.read()

    def exists(self, rel):
        return os.path.exists(self.path(rel))

    def entries(self, *lists):
        for n, strings in enumerate(lists):
            self.write('sys/firmware/dmi/entries/11-%d/raw' % n,
                       raw_entry(strings))

    def snapshot(self):
        """Every file under the root and bin (but the call log)."""
        files = {}
        for top in (self.root, self.bin):
            for dirpath, _, names in os.walk(top):
                for name in names:
                    path = os.path.join(dirpath, name)
                    if path in (os.path.join(self.bin, 'calls'),
                                os.path.join(self.bin, 'count'),
                                os.path.join(self.bin, 'fail-at')):
                        continue
                    with open(path, 'rb') as f:
                        files[path] = f.read()
        return files

    # --- the fake tools ---
    def tool(self, name, script=FAKE_TOOL):
        path = os.path.join(self.bin, name)
        with open(path, 'w') as f:
            f.write(script % {'python': sys.executable})
        os.chmod(path, 0o755)

    def grubby(self, *kernels):
        self.tool('grubby', FAKE_GRUBBY)
        with open(os.path.join(self.bin, 'grubby.json'), 'w') as f:
            json.dump(list(kernels), f)

    def grubby_kernels(self):
        with open(os.path.join(self.bin, 'grubby.json')) as f:
            return json.load(f)

    def fail(self, name):
        open(os.path.join(self.bin, 'fail-' + name), 'w').close()

    def calls(self, skip_info=True):
        try:
            with open(os.path.join(self.bin, 'calls')) as f:
                calls = [json.loads(line) for line in f]
        except FileNotFoundError:
            return []
        return [c for c in calls
                if not (skip_info and '--info=ALL' in c)]

    def apply(self, *extra):
        return run('apply', '--root', self.root, '--format', 'json', *extra)


class ParseEntryTest(testtools.TestCase):

    def test_strings(self):
        self.assertEqual(('a=1', 'b'),
                         guest_oem.parse_oem_entry(raw_entry(['a=1', 'b']),
                                                   'x'))

    def test_empty(self):
        self.assertEqual((), guest_oem.parse_oem_entry(raw_entry([]), 'x'))

    def test_longer_formatted_part(self):
        # A future SMBIOS could lengthen the formatted part: the strings
        # start at offset `length`, not at 5.
        raw = bytes([11, 7, 0, 0, 1, 0xff, 0xff]) + b'k=v\0\0'
        self.assertEqual(('k=v',), guest_oem.parse_oem_entry(raw, 'x'))

    def test_trailing_bytes_after_the_terminator(self):
        raw = raw_entry(['k=v']) + b'junk'
        self.assertEqual(('k=v',), guest_oem.parse_oem_entry(raw, 'x'))

    def assertRefused(self, raw, words):
        e = self.assertRaises(guest_pkg.GuestError,
                              guest_oem.parse_oem_entry, raw, 'the-file')
        self.assertIn('the-file', str(e))
        self.assertIn(words, str(e))

    def test_truncated_header(self):
        self.assertRefused(b'\x0b\x05\x00', 'truncated')

    def test_truncated_strings(self):
        self.assertRefused(raw_entry(['a=1', 'b=2'])[:-4], 'truncated')

    def test_missing_final_nul(self):
        # One NUL after the last string, not two: the count still finds
        # them all but the section never ends.
        self.assertRefused(raw_entry(['a=1'])[:-1], 'truncated')

    def test_empty_section_needs_two_nuls(self):
        self.assertRefused(raw_entry([])[:-1], 'truncated')

    def test_wrong_type(self):
        raw = bytearray(raw_entry(['a=1']))
        raw[0] = 1
        self.assertRefused(bytes(raw), 'type 1')

    def test_bad_length(self):
        raw = bytearray(raw_entry(['a=1']))
        raw[1] = 2
        self.assertRefused(bytes(raw), 'header length 2')

    def test_count_mismatch(self):
        self.assertRefused(raw_entry(['a=1', 'b=2'], count=3),
                           'count byte says 3')

    def test_foreign_bytes_do_not_break_parsing(self):
        self.assertEqual(('k=\\xff',),
                         guest_oem.parse_oem_entry(raw_entry([b'k=\xff']),
                                                   'x'))


class ParseArgsTest(testtools.TestCase):

    def test_product_arguments(self):
        self.assertEqual(tuple(RT_ARGS.split()),
                         guest_delivery.parse_args(RT_ARGS, 'w'))

    def test_hostile(self):
        for value in ('quiet"; rm -rf /', "a='b'", 'quiet\ninit=/bin/sh',
                      'quiet -- init=/bin/sh', 'quiet --', '-x', 'a=$(id)',
                      'a=`id`', 'a\tb', 'a=b\\', 'quiet\n', 'a=b;c',
                      'isolcpus=1 isolcpus=2', '', '   ',
                      'x' * (guest_args.MAX_TOTAL_LENGTH + 1)):
            self.assertRaises(guest_pkg.GuestError,
                              guest_delivery.parse_args, value, 'w')


class HostContractTest(GuestBase):
    """The host's own OEM strings, parsed back by the guest."""

    def test_round_trip_with_the_host(self):
        request = rt.build_request(8, {
            'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
            'hw:cpu_realtime_mask': '^0-1', 'rt:guest_idle_poll': 'yes',
            'rt:guest_kernel_args': 'quiet a.b=1'})
        self.entries(['unrelated=1'], list(guest_args.oem_strings(request)))
        code, out, err = run('show', '--root', self.root, '--format', 'json')
        self.assertEqual(0, code, err)
        doc = json.loads(out)
        self.assertEqual(list(guest_args.derive(request)), doc['kernel_args'])
        self.assertEqual(guest_delivery.KERNEL_ARGS_KEY,
                         doc['kernel_args_key'])
        self.assertEqual('2-7', doc['realtime_vcpus'])
        self.assertEqual('0-1', doc['housekeeping_vcpus'])
        self.assertEqual('1', doc['version'])


class ShowTest(GuestBase):

    def test_text(self):
        self.entries(oem())
        code, out, err = run('show', '--root', self.root)
        self.assertEqual(0, code, err)
        self.assertIn('kernel-args:        ' + RT_ARGS, out)
        self.assertIn('realtime-vcpus:     1-3', out)
        self.assertIn('vcpu-scheduler:     fifo:10', out)
        self.assertIn('11-0/raw', out)

    def test_multiple_entries(self):
        # QEMU makes one structure per -smbios type=11 option.
        strings = oem()
        self.entries(['io.systemd.credential:x=y'], strings[:2],
                     strings[2:4], [], strings[4:])
        code, out, err = run('show', '--root', self.root, '--format', 'json')
        self.assertEqual(0, code, err)
        doc = json.loads(out)
        self.assertEqual(RT_ARGS.split(), doc['kernel_args'])
        self.assertEqual('fifo:10', doc['vcpu_scheduler'])
        # The entries holding nova-rt strings.
        self.assertEqual(3, len(doc['sources']))

    def test_entries_in_numeric_order(self):
        # 11-10 after 11-2; a repeated key must agree anyway.
        self.write('sys/firmware/dmi/entries/11-10/raw',
                   raw_entry(oem()[2:3]))
        self.write('sys/firmware/dmi/entries/11-2/raw', raw_entry(oem()))
        self.write('sys/firmware/dmi/entries/1-0/raw', b'\x01garbage')
        code, out, err = run('show', '--root', self.root)
        self.assertEqual(0, code, err)

    def test_conflicting_values(self):
        self.entries(oem(), oem(RESIZED)[2:3])
        code, _, err = run('show', '--root', self.root)
        self.assertEqual(2, code)
        self.assertIn('given twice with different values', err)

    def test_systemd_fallback(self):
        self.entries(oem()[:1])
        code, out, err = run('show', '--root', self.root, '--format', 'json')
        self.assertEqual(0, code, err)
        doc = json.loads(out)
        self.assertEqual(guest_args.SYSTEMD_CMDLINE_EXTRA,
                         doc['kernel_args_key'])
        self.assertIsNone(doc['version'])

    def test_nova_rt_string_wins(self):
        strings = oem()
        strings[0] = '%s=quiet' % guest_args.SYSTEMD_CMDLINE_EXTRA
        self.entries(strings)
        code, out, _ = run('show', '--root', self.root, '--format', 'json')
        self.assertEqual(0, code)
        self.assertEqual(RT_ARGS.split(), json.loads(out)['kernel_args'])

    def test_unknown_version(self):
        self.entries(['org.openstack.nova-rt.version=2'] + oem()[2:3])
        code, _, err = run('show', '--root', self.root)
        self.assertEqual(2, code)
        self.assertIn('version 1 only', err)

    def test_bad_cpuset(self):
        self.entries(oem() + ['org.openstack.nova-rt.realtime-vcpus=1-x'])
        code, _, err = run('show', '--root', self.root)
        self.assertEqual(2, code)
        self.assertIn('realtime-vcpus', err)

    def test_nothing(self):
        code, out, _ = run('show', '--root', self.root)
        self.assertEqual(1, code)
        self.assertIn('not a nova-rt real-time guest', out)


class RefusedTest(GuestBase):
    """Hostile or corrupt input: exit 2 naming it, nothing written or run."""

    def setUp(self):
        super().setUp()
        self.grubby('root=/dev/vda1 ro')
        self.write('etc/default/grub', 'GRUB_CMDLINE_LINUX=""\n')

    def assertRefused(self, words):
        before = self.snapshot()
        code, out, err = self.apply()
        self.assertEqual(2, code, out)
        self.assertIn(words, err)
        self.assertNotIn('Traceback', err)
        self.assertEqual('', out)
        self.assertEqual(before, self.snapshot())

    def test_hostile_strings(self):
        for args in ('quiet" GRUB_DISABLE_RECOVERY="true',
                     'quiet\nGRUB_CMDLINE_LINUX=init=/bin/sh',
                     'quiet -- init=/bin/sh', "quiet 'x'", 'quiet $(reboot)',
                     '--args=init=/bin/sh', 'quiet;reboot'):
            self.entries(oem(args))
            self.assertRefused(guest_delivery.KERNEL_ARGS_KEY)

    def test_hostile_systemd_fallback(self):
        self.entries(['%s=quiet "x"' % guest_args.SYSTEMD_CMDLINE_EXTRA])
        self.assertRefused(guest_args.SYSTEMD_CMDLINE_EXTRA)

    def test_truncated_raw(self):
        self.entries(oem())
        self.write('sys/firmware/dmi/entries/11-1/raw',
                   raw_entry(oem())[:20])
        self.assertRefused('11-1/raw: truncated')

    def test_empty_raw_file(self):
        self.write('sys/firmware/dmi/entries/11-0/raw', b'')
        self.assertRefused('truncated')

    def test_missing_raw_file(self):
        os.makedirs(self.path('sys/firmware/dmi/entries/11-0'))
        self.assertRefused('cannot read')

    def test_tampered_state_file(self):
        self.entries(oem())
        self.write(bootloader.STATE_FILE, 'quiet "x"\n')
        self.assertRefused(bootloader.STATE_FILE)


class NothingToApplyTest(GuestBase):

    def test_no_dmi(self):
        code, out, _ = run('apply', '--root', self.root)
        self.assertEqual(1, code)
        self.assertIn('not a nova-rt real-time guest', out)

    def test_only_foreign_strings(self):
        self.grubby('ro')
        self.entries([], ['io.systemd.credential:a=b', 'vendor=1'])
        before = self.snapshot()
        code, out, _ = self.apply()
        self.assertEqual(1, code)
        self.assertEqual({'method': None, 'args': [], 'changed': False,
                          'reboot_needed': False}, json.loads(out))
        self.assertEqual([], self.calls(skip_info=False))
        self.assertEqual(before, self.snapshot())

    def test_version_without_args(self):
        self.entries(['org.openstack.nova-rt.version=1'])
        self.assertEqual(1, self.apply()[0])


class GrubbyTest(GuestBase):

    def setUp(self):
        super().setUp()
        self.grubby('root=/dev/vda1 ro isolcpus=5 quiet',
                    'root=/dev/vda1 ro single')
        self.write('etc/default/grub', 'GRUB_CMDLINE_LINUX=""\n')  # ignored
        self.entries(oem())

    def test_apply(self):
        code, out, err = self.apply()
        self.assertEqual(0, code, err)
        self.assertEqual({'method': 'grubby', 'args': RT_ARGS.split(),
                          'changed': True, 'reboot_needed': True},
                         json.loads(out))
        remove = ' '.join(sorted(set(kernel_args.DERIVED_KEYS) | {
            'skew_tick', 'tsc', 'nosoftlockup'}))
        # One call: no moment with the keys removed but not yet added.
        self.assertEqual(
            [['grubby', '--update-kernel=ALL', '--remove-args=' + remove,
              '--args=' + RT_ARGS]],
            self.calls())
        # The admin's isolcpus=5 is replaced, the rest kept.
        self.assertEqual(['root=/dev/vda1 ro quiet ' + RT_ARGS,
                          'root=/dev/vda1 ro single ' + RT_ARGS],
                         self.grubby_kernels())
        self.assertEqual(
            RT_ARGS, self.read(bootloader.STATE_FILE).splitlines()[-1])
        self.assertNotIn('.nova-rt-tmp', str(os.listdir(
            self.path('etc/nova-rt'))))

    def test_idempotent(self):
        self.assertEqual(0, self.apply()[0])
        before, calls = self.snapshot(), self.calls()
        code, out, _ = self.apply()
        self.assertEqual(0, code)
        self.assertFalse(json.loads(out)['changed'])
        self.assertEqual(calls, self.calls())
        self.assertEqual(before, self.snapshot())

    def test_text(self):
        code, out, _ = run('apply', '--root', self.root)
        self.assertEqual(0, code)
        self.assertIn('method: grubby', out)
        self.assertIn('changed, reboot needed', out)
        code, out, _ = run('apply', '--root', self.root)
        self.assertIn('already in place, reboot needed', out)
        self.write('proc/cmdline', 'BOOT_IMAGE=x ro %s quiet\n' % RT_ARGS)
        code, out, _ = run('apply', '--root', self.root)
        self.assertEqual('already in place', out.splitlines()[-1])

    def test_replaced_after_resize(self):
        self.entries(oem(RT_ARGS + ' idle=poll'))
        self.assertEqual(0, self.apply()[0])
        self.entries(oem(RESIZED))
        code, out, _ = self.apply()
        self.assertEqual(0, code)
        self.assertTrue(json.loads(out)['changed'])
        self.assertIn('idle', self.calls()[-2][2])  # removed: managed before
        self.assertEqual(['root=/dev/vda1 ro quiet ' + RESIZED,
                          'root=/dev/vda1 ro single ' + RESIZED],
                         self.grubby_kernels())

    def test_admin_keys_left_alone(self):
        self.grubby('ro quiet mitigations=off')
        self.assertEqual(0, self.apply()[0])
        self.assertEqual(['ro quiet mitigations=off ' + RT_ARGS],
                         self.grubby_kernels())
        self.assertNotIn('mitigations', self.calls()[0][2])

    def test_dry_run(self):
        before = self.snapshot()
        code, out, _ = self.apply('--dry-run')
        self.assertEqual(0, code)
        self.assertTrue(json.loads(out)['changed'])
        self.assertEqual([], self.calls())
        self.assertEqual(before, self.snapshot())
        code, out, _ = run('apply', '--root', self.root, '--dry-run')
        self.assertIn('dry run: would change, reboot needed', out)

    def test_tool_failure(self):
        self.fail('grubby')
        code, out, err = self.apply()
        self.assertEqual(2, code)
        self.assertIn('grubby --info=ALL failed with exit code 3: '
                      'grubby: simulated failure', err)
        self.assertFalse(self.exists(bootloader.STATE_FILE))

    def test_no_kernels(self):
        self.grubby()
        code, _, err = self.apply()
        self.assertEqual(2, code)
        self.assertIn('lists no kernel', err)

    def test_forced_but_missing(self):
        os.unlink(os.path.join(self.bin, 'grubby'))
        code, _, err = self.apply('--method', 'grubby')
        self.assertEqual(2, code)
        self.assertIn('grubby is not on PATH', err)


class GrubDTest(GuestBase):

    def setUp(self):
        super().setUp()
        self.write('etc/default/grub',
                   'GRUB_CMDLINE_LINUX="console=ttyS0 isolcpus=9"\n')
        self.tool('update-grub')
        self.tool('kernel-install')  # ignored: /etc/default/grub wins
        self.entries(oem())

    def test_apply(self):
        code, out, err = self.apply()
        self.assertEqual(0, code, err)
        self.assertEqual('grub.d', json.loads(out)['method'])
        self.assertTrue(json.loads(out)['changed'])
        text = self.read(bootloader.GRUB_D_FILE)
        self.assertIn('\nGRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} %s"\n'
                      % RT_ARGS, text)
        self.assertEqual([['update-grub']], self.calls())
        # The admin's file is never touched.
        self.assertEqual('GRUB_CMDLINE_LINUX="console=ttyS0 isolcpus=9"\n',
                         self.read('etc/default/grub'))

    def test_the_file_sources_in_sh(self):
        self.assertEqual(0, self.apply()[0])
        out = subprocess.run(
            ['/bin/sh', '-c',
             '. "$1"; . "$2"; printf %s "$GRUB_CMDLINE_LINUX"',
             'sh', self.path('etc/default/grub'),
             self.path(bootloader.GRUB_D_FILE)],
            capture_output=True, text=True, check=True).stdout
        self.assertEqual('console=ttyS0 isolcpus=9 ' + RT_ARGS, out)

    def test_idempotent_and_replaced(self):
        self.assertEqual(0, self.apply()[0])
        before = self.snapshot()
        code, out, _ = self.apply()
        self.assertFalse(json.loads(out)['changed'])
        self.assertEqual(before, self.snapshot())
        self.entries(oem(RESIZED))
        code, out, _ = self.apply()
        self.assertTrue(json.loads(out)['changed'])
        self.assertIn(RESIZED, self.read(bootloader.GRUB_D_FILE))
        self.assertNotIn('1-3', self.read(bootloader.GRUB_D_FILE))
        self.assertEqual([['update-grub']] * 2, self.calls())

    def test_grub_mkconfig(self):
        os.unlink(os.path.join(self.bin, 'update-grub'))
        self.tool('grub2-mkconfig')
        self.assertEqual(0, self.apply()[0])
        self.assertEqual(
            [['grub2-mkconfig', '-o', self.path('boot/grub2/grub.cfg')]],
            self.calls())
        self.tool('grub-mkconfig')
        self.entries(oem(RESIZED))
        self.assertEqual(0, self.apply()[0])
        self.assertEqual(
            ['grub-mkconfig', '-o', self.path('boot/grub/grub.cfg')],
            self.calls()[-1])

    def test_no_mkconfig(self):
        os.unlink(os.path.join(self.bin, 'update-grub'))
        code, _, err = self.apply()
        self.assertEqual(2, code)
        self.assertIn('update-grub, grub-mkconfig, grub2-mkconfig', err)
        self.assertFalse(self.exists(bootloader.GRUB_D_FILE))

    def test_failure_puts_the_file_back(self):
        self.assertEqual(0, self.apply()[0])
        before = self.read(bootloader.GRUB_D_FILE)
        self.fail('update-grub')
        self.entries(oem(RESIZED))
        code, _, err = self.apply()
        self.assertEqual(2, code)
        self.assertIn('update-grub failed with exit code 3', err)
        self.assertEqual(before, self.read(bootloader.GRUB_D_FILE))
        self.assertIn(RT_ARGS, self.read(bootloader.STATE_FILE))

    def test_failure_first_time_leaves_no_file(self):
        self.fail('update-grub')
        self.assertEqual(2, self.apply()[0])
        self.assertFalse(self.exists(bootloader.GRUB_D_FILE))
        self.assertFalse(self.exists(bootloader.STATE_FILE))
        os.unlink(os.path.join(self.bin, 'fail-update-grub'))
        code, out, _ = self.apply()  # the next run retries
        self.assertTrue(json.loads(out)['changed'])

    def test_dry_run(self):
        before = self.snapshot()
        code, out, _ = self.apply('--dry-run')
        self.assertEqual(0, code)
        self.assertTrue(json.loads(out)['changed'])
        self.assertEqual(before, self.snapshot())

    def test_reboot_not_needed(self):
        self.write('proc/cmdline', 'ro %s\n' % RT_ARGS)
        code, out, _ = self.apply()
        self.assertEqual({'method': 'grub.d', 'args': RT_ARGS.split(),
                          'changed': True, 'reboot_needed': False},
                         json.loads(out))


class KernelInstallTest(GuestBase):

    def setUp(self):
        super().setUp()
        self.tool('kernel-install')
        self.write('usr/lib/modules/%s/vmlinuz' % RELEASE, b'')
        self.entries(oem())

    def test_from_proc_cmdline(self):
        code, out, err = self.apply()
        self.assertEqual(0, code, err)
        self.assertEqual('kernel-install', json.loads(out)['method'])
        self.assertEqual('root=/dev/vda1 ro quiet %s\n' % RT_ARGS,
                         self.read(bootloader.KERNEL_CMDLINE))
        self.assertEqual(
            [['kernel-install', 'add', RELEASE,
              self.path('usr/lib/modules/%s/vmlinuz' % RELEASE)]],
            self.calls())

    def test_rewrites_only_the_managed_keys(self):
        self.write(bootloader.KERNEL_CMDLINE,
                   'root=UUID=1 rw isolcpus=4 acpi_osi="Windows 2020" '
                   'nosoftlockup\n')
        self.entries(oem(RT_ARGS + ' idle=poll'))
        self.assertEqual(0, self.apply()[0])
        self.assertEqual(
            'root=UUID=1 rw acpi_osi="Windows 2020" %s idle=poll\n' % RT_ARGS,
            self.read(bootloader.KERNEL_CMDLINE))
        before = self.snapshot()
        self.assertFalse(json.loads(self.apply()[1])['changed'])
        self.assertEqual(before, self.snapshot())
        self.entries(oem(RESIZED))
        self.assertTrue(json.loads(self.apply()[1])['changed'])
        self.assertEqual(
            'root=UUID=1 rw acpi_osi="Windows 2020" %s\n' % RESIZED,
            self.read(bootloader.KERNEL_CMDLINE))
        self.assertEqual(2, len(self.calls()))

    def test_failure_puts_the_file_back(self):
        self.fail('kernel-install')
        code, _, err = self.apply()
        self.assertEqual(2, code)
        self.assertIn('kernel-install add failed with exit code 3', err)
        self.assertFalse(self.exists(bootloader.KERNEL_CMDLINE))

    def test_no_kernel_image(self):
        os.unlink(self.path('usr/lib/modules/%s/vmlinuz' % RELEASE))
        code, _, err = self.apply()
        self.assertEqual(2, code)
        self.assertIn('no image of the running kernel %s' % RELEASE, err)

    def test_no_boot_loader(self):
        os.unlink(os.path.join(self.bin, 'kernel-install'))
        code, _, err = self.apply()
        self.assertEqual(2, code)
        self.assertIn('no supported boot loader', err)


class RebootNeededTest(testtools.TestCase):

    def test_compare(self):
        wanted = ('nohz_full=1-3', 'nosoftlockup')
        self.assertFalse(bootloader.reboot_needed(
            wanted, ['ro', 'nosoftlockup', 'nohz_full=1-3']))
        self.assertTrue(
            bootloader.reboot_needed(wanted, ['ro', 'nosoftlockup']))
        self.assertTrue(bootloader.reboot_needed(
            wanted, ['nohz_full=2-3', 'nosoftlockup']))
        self.assertTrue(bootloader.reboot_needed(
            wanted, ['nohz_full=2-3', 'nohz_full=1-3', 'nosoftlockup']))


class UsageTest(GuestBase):

    def test_bad_method(self):
        code, _, err = run('apply', '--method', 'lilo')
        self.assertEqual(2, code)
        self.assertIn('invalid choice', err)

    def test_no_command(self):
        self.assertEqual(2, run()[0])

    def test_unexpected_error_is_one_line(self):
        self.entries(oem())
        with mock.patch.object(bootloader, 'apply',
                               side_effect=ValueError('x')):
            code, _, err = run('apply', '--root', self.root)
        self.assertEqual(2, code)
        self.assertEqual('nova-rt-guest: internal error: ValueError: x\n', err)


class StandardLibraryOnlyTest(testtools.TestCase):
    """The guest image has Python, not oslo nor Nova."""

    def test_imports(self):
        code = textwrap.dedent('''
            import sys
            before = set(sys.modules)
            import nova_rt.cmd.guest
            new = sorted(set(sys.modules) - before)
            stdlib = sys.stdlib_module_names
            print('\\n'.join(m for m in new
                            if m.split('.')[0] not in stdlib
                            and m.split('.')[0] != 'nova_rt'))
            ''')
        # -I: no user site, no PYTHON* variables; the source tree is put
        # on sys.path by hand, so only what guest.py imports gets loaded.
        top = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(guest.__file__))))
        proc = subprocess.run(
            [sys.executable, '-I', '-c',
             'import sys; sys.path.insert(0, %r); exec(%r)' % (top, code)],
            capture_output=True, text=True, check=False)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual('', proc.stdout.strip())

    def test_runs_without_site_packages(self):
        top = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(guest.__file__))))
        proc = subprocess.run(
            [sys.executable, '-I', '-S', '-c',
             'import sys; sys.path.insert(0, %r); '
             'from nova_rt.cmd import guest; '
             'sys.exit(guest.main(["show", "--root", "/nonexistent"]))'
             % top],
            capture_output=True, text=True, check=False)
        self.assertEqual(1, proc.returncode, proc.stderr)
        self.assertIn('not a nova-rt real-time guest', proc.stdout)
