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

import testtools

from nova_rt.core import cpuset
from nova_rt.core import exception


class ParseTest(testtools.TestCase):

    def test_forms(self):
        for spec, cpus in [
            ('', set()),
            ('  ', set()),
            ('0', {0}),
            ('0-3', {0, 1, 2, 3}),
            ('0-3,8', {0, 1, 2, 3, 8}),
            ('0-3,^2', {0, 1, 3}),
            ('^2,0-3', {0, 1, 3}),
            ('0-7,^2-5', {0, 1, 6, 7}),
            (' 1 , 2 ,,3', {1, 2, 3}),
            ('5-5', {5}),
            ('8191', {8191}),
        ]:
            with self.subTest(spec=spec):
                self.assertEqual(frozenset(cpus), cpuset.parse(spec))

    def test_errors_name_the_source_and_item(self):
        for spec, fragment in [
            ('a', "'a' is not N, N-M or ^N"),
            ('3-1', "range '3-1' runs backwards"),
            ('-1', "'-1' is not N, N-M or ^N"),
            ('1-', "'1-' is not N, N-M or ^N"),
            ('^', "'^' is not N, N-M or ^N"),
            ('1-2-3', "'1-2-3' is not"),
            ('8192', 'CPU 8192 is above the limit of 8191'),
            ('0-99999999999', 'above the limit'),
            ('1 2', "'1 2' is not"),
        ]:
            with self.subTest(spec=spec):
                e = self.assertRaises(exception.InvalidCPUSet,
                                      cpuset.parse, spec, what='hw:x')
                self.assertIn('hw:x', str(e))
                self.assertIn(fragment, str(e))

    def test_cached_results_and_errors(self):
        # Parsed strings are remembered; errors are raised every time, and
        # name the source each time.
        self.assertIs(cpuset.parse('0-3,^2'), cpuset.parse('0-3,^2'))
        for what in ('a', 'b'):
            e = self.assertRaises(exception.InvalidCPUSet, cpuset.parse,
                                  '0-x', what)
            self.assertIn(what, str(e))
        long_spec = ','.join(str(i) for i in range(0, 2000, 2))
        self.assertEqual(1000, len(cpuset.parse(long_spec)))
        self.assertEqual('0-3', cpuset.format(frozenset({0, 1, 2, 3})))
        self.assertEqual('0-3', cpuset.format([3, 2, 1, 0]))

    def test_not_a_string(self):
        self.assertRaises(exception.InvalidCPUSet, cpuset.parse, 3)
        self.assertRaises(exception.InvalidCPUSet, cpuset.parse, None)


class FormatTest(testtools.TestCase):

    def test_canonical(self):
        for cpus, text in [
            (set(), ''),
            ({0}, '0'),
            ({0, 1}, '0-1'),
            ({3, 0, 1, 2, 5}, '0-3,5'),
            ({1, 3, 5}, '1,3,5'),
            (range(64), '0-63'),
        ]:
            with self.subTest(cpus=cpus):
                self.assertEqual(text, cpuset.format(cpus))

    def test_round_trip(self):
        for cpus in [{0}, {0, 2, 3, 4, 9, 10}, set(range(0, 256, 2))]:
            self.assertEqual(frozenset(cpus),
                             cpuset.parse(cpuset.format(cpus)))
