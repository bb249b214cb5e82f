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
"""realtime_base.PatientWaits: Nova's wait helpers tried again, a bounded
number of rounds, on the same condition."""

import testtools

from tests.functional import realtime_base


class _Helpers(object):
    """Stands for Nova's helpers: fails its round until poll ``ready``."""

    failureException = AssertionError

    def __init__(self):
        self.polls = 0

    def _wait_for_assert(self, ready, error=AssertionError):
        self.polls += 1
        if self.polls < ready:
            raise error('round %d found nothing' % self.polls)
        return self.polls


class _Waiter(realtime_base.PatientWaits, _Helpers):
    ROUNDS = 3


class PatientWaitsTest(testtools.TestCase):

    def test_a_later_round_finds_it(self):
        waiter = _Waiter()
        self.assertEqual(3, waiter._wait_for_assert(3))

    def test_the_last_rounds_failure_after_all_rounds(self):
        waiter = _Waiter()
        e = self.assertRaises(AssertionError, waiter._wait_for_assert, 4)
        self.assertEqual('round 3 found nothing', str(e))
        self.assertEqual(3, waiter.polls)

    def test_another_error_is_not_waited_out(self):
        waiter = _Waiter()
        self.assertRaises(ValueError, waiter._wait_for_assert, 2,
                          error=ValueError)
        self.assertEqual(1, waiter.polls)
