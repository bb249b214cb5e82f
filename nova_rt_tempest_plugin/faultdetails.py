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
"""What a server fault's ``details`` (the traceback Nova records for an
unexpected error) say about where the error came from.

No tempest imports: unit-tested on a captured fault.
"""

import re

_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+, in (\S+)')


def raising_frames(details):
    """The frame each exception of the recorded chain was raised in, as
    (file, function), oldest first.

    nova-rt's driver overrides ``spawn`` and calls Nova's, so a failure
    deep in Nova passes through a nova-rt frame: only the innermost frame
    of each traceback says whose code raised.
    """
    raised, last = [], None
    for line in (details or '').splitlines():
        if line.startswith('Traceback (most recent call last):'):
            if last:
                raised.append(last)
            last = None
            continue
        match = _FRAME.match(line)
        if match:
            last = (match.group(1), match.group(2))
    if last:
        raised.append(last)
    return raised


def raised_in_nova_rt(details):
    """The frames of ``details`` where nova-rt's own code raised."""
    return [frame for frame in raising_frames(details)
            if '/nova_rt/' in frame[0]]
