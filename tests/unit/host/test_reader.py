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
"""The one reader: typed errors, never "" for missing."""

import errno
import os
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from nova_rt.host import reader as host_reader
from tests.unit.host import base


class TestHostReader(base.TestCase):

    def setUp(self):
        super().setUp()
        self.root = base._tmpdir()
        os.makedirs(os.path.join(self.root, 'proc/sys/kernel'))
        with open(os.path.join(self.root, 'proc/sys/kernel/x'), 'w') as f:
            f.write('950000\nsecond\n')
        self.r = host_reader.HostReader(self.root)

    def test_reads_under_root(self):
        self.assertEqual('950000', self.r.read_line('/proc/sys/kernel/x'))
        self.assertEqual(950000, self.r.read_int('proc/sys/kernel/x'))
        self.assertEqual('second', self.r.find_line('proc/sys/kernel/x',
                                                    'sec'))
        self.assertIsNone(self.r.find_line('proc/sys/kernel/x', 'nope'))

    def test_large_files_whole_and_bounded(self):
        # Read in chunks: a file of several chunks comes back whole, one
        # byte over the limit is refused, and the root's trailing slash
        # makes no difference to the paths.
        big = os.path.join(self.root, 'proc/interrupts')
        content = b''.join(b'%06d\n' % i for i in range(40000))
        with open(big, 'wb') as f:
            f.write(content)
        self.assertGreater(len(content), 3 * (64 << 10))
        self.assertEqual(content, self.r.read_bytes('proc/interrupts'))
        self.assertEqual(content, host_reader.HostReader(
            self.root + '/').read_bytes('/proc/interrupts'))
        self.assertEqual(os.path.join(self.root, 'proc/interrupts'),
                         self.r.path('/proc/interrupts'))
        with open(big, 'wb') as f:
            f.write(b'x' * (host_reader.MAX_FILE_BYTES + 1))
        self.assertRaises(host_reader.HostFileInvalid, self.r.read_bytes,
                          'proc/interrupts')
        with open(big, 'wb') as f:
            f.write(b'x' * host_reader.MAX_FILE_BYTES)
        self.assertEqual(host_reader.MAX_FILE_BYTES,
                         len(self.r.read_bytes('proc/interrupts')))

    def test_missing(self):
        e = self.assertRaises(host_reader.HostFileMissing, self.r.read,
                              'sys/kernel/realtime')
        self.assertEqual('/sys/kernel/realtime', e.path)
        self.assertEqual(errno.ENOENT, e.errno)
        self.assertIn('missing', str(e))
        # a file where a directory is expected: ENOTDIR, also missing
        self.assertRaises(host_reader.HostFileMissing, self.r.read,
                          'proc/sys/kernel/x/y')

    def test_denied(self):
        with mock.patch('builtins.open', side_effect=PermissionError(
                errno.EACCES, 'Permission denied')):
            e = self.assertRaises(host_reader.HostFileDenied, self.r.read,
                                  'proc/sys/kernel/x')
        self.assertEqual(errno.EACCES, e.errno)
        self.assertNotIsInstance(e, host_reader.HostFileMissing)

    def test_other_errors(self):
        with mock.patch('os.pread', side_effect=OSError(errno.EIO,
                                                        'I/O error')):
            e = self.assertRaises(host_reader.HostFileError, self.r.read_at,
                                  'proc/sys/kernel/x', 0x34, 8)
        self.assertEqual(errno.EIO, e.errno)
        self.assertNotIsInstance(e, (host_reader.HostFileMissing,
                                     host_reader.HostFileDenied))

    def test_invalid_integer_and_short_read(self):
        with open(os.path.join(self.root, 'proc/sys/kernel/y'), 'w') as f:
            f.write('abc\n')
        self.assertRaises(host_reader.HostFileInvalid, self.r.read_int,
                          'proc/sys/kernel/y')
        self.assertRaises(host_reader.HostFileInvalid, self.r.read_at,
                          'proc/sys/kernel/y', 0x34, 8)

    def test_trace(self):
        trace = set()
        r = host_reader.HostReader(self.root, trace=trace)
        r.read('proc/sys/kernel/x')
        self.assertRaises(host_reader.HostFileMissing, r.read, 'nope')
        self.assertEqual({'proc/sys/kernel/x'}, trace)


class TestMasks(base.TestCase):

    def test_kernel_format(self):
        self.assertEqual(frozenset({0, 1, 32}),
                         host_reader.parse_mask('00000001,00000003\n'))
        self.assertEqual(frozenset(), host_reader.parse_mask('0'))
        self.assertRaises(host_reader.HostFileInvalid,
                          host_reader.parse_mask, 'xyz')

    @given(st.frozensets(st.integers(0, 1023)))
    def test_round_trip(self, cpus):
        self.assertEqual(cpus, host_reader.parse_mask(
            host_reader.format_mask(cpus)))
