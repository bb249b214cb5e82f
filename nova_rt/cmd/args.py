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
"""What ``nova-rt`` and ``nova-rt-guest`` share: argument parsing, the exit
codes and the last-resort error handler.

Standard library only: ``nova-rt-guest`` runs inside guests that have
nothing else.
"""

import argparse
import sys

from nova_rt.core import exception

# 0: success (a valid flavor, a ready host, arguments applied); 1: a
# negative answer (an invalid flavor, a host that is not ready, nothing to
# apply); 2: a usage or internal error (argparse's own status for usage).
EXIT_OK, EXIT_NEGATIVE, EXIT_ERROR = 0, 1, 2
EXIT_USAGE = EXIT_ERROR


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit 2."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, '%s: error: %s\n' % (self.prog, message))


def positive_int(text):
    """argparse type: an integer of at least 1."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not an integer' % text)
    if value < 1:
        raise argparse.ArgumentTypeError('%d is not a positive count' % value)
    return value


def run_guarded(prog, func, on_internal_error=None):
    """``func()``'s exit code; any error becomes one line and exit 2.

    nova-rt errors are expected and say what failed; anything else is a
    bug, reported as an internal error, still never as a traceback.

    :param on_internal_error: called inside the handler of an unexpected
        exception (``nova-rt --debug`` logs the trace there)
    """
    try:
        return func()
    except exception.NovaRTError as e:
        sys.stderr.write('%s: error: %s\n' % (prog, e))
        return EXIT_ERROR
    except Exception as e:
        if on_internal_error is not None:
            on_internal_error()
        sys.stderr.write('%s: internal error: %s: %s\n'
                         % (prog, type(e).__name__, e))
        return EXIT_ERROR
