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
"""A cliff application around one command, for the command tests.

osc-lib's own test helpers (osc_lib.test) ship only from osc-lib 4.x,
newer than 2024.1-2025.2's constraints allow.
"""

import io
import logging
import sys
import types

import testtools


class ParserError(Exception):
    """The command's parser refused the arguments (argparse exits)."""


def fake_app(stdout, **clients):
    """What a cliff command uses of OSC's application: its streams, a log
    and the client manager holding ``clients``.
    """
    return types.SimpleNamespace(
        stdin=sys.stdin, stdout=stdout, stderr=sys.stderr,
        log=logging.getLogger('nova-rt-osc-tests'), api_version={},
        client_manager=types.SimpleNamespace(**clients))


class CommandTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.fake_stdout = io.StringIO()
        self.app = fake_app(self.fake_stdout)

    def check_parser(self, cmd, argv):
        try:
            return cmd.get_parser('check_parser').parse_args(argv)
        except SystemExit:
            raise ParserError(' '.join(argv))

    def printed(self):
        return self.fake_stdout.getvalue()
