#!/usr/bin/env python3
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
"""The skips a cloud tier may have, and the check that it had no other.

    skips.py check ALLOWED LOG   # each skip in LOG not in ALLOWED, exit 1

LOG is a tier's subunit-trace output (``{0} TEST [T] ... SKIPPED: why``;
a class skipped whole shows as ``setUpClass (MODULE.CLASS)``). ALLOWED
(tools/cloudlib/allowed-skips.txt) holds one entry per test or class that
may skip, each three lines and a blank one::

    test: REGEX       matched against the whole test or class id
    why: ...          why it skips on the test cloud
    runs when: ...    what would let it run

A skip that no entry allows is a failure under ``CI=true``: a test that
cannot run must say so in the tree, not pass unseen.
"""

import re
import sys

FIELDS = ('test', 'why', 'runs when')
SKIP = re.compile(r'^\{\d+\} (?P<id>.+?)(?: \[[^\]]*\])? \.\.\. '
                  r'SKIPPED:?\s*(?P<why>.*)$')
CLASS = re.compile(r'^setUpClass \((?P<id>[^)]+)\)$')


class AllowListError(Exception):
    pass


def parse_allowed(text, where='allow-list'):
    """[(compiled regex, why, runs when)] from the allow-list's text."""
    entries, entry, first = [], {}, None
    for number, line in enumerate(text.splitlines() + [''], 1):
        if line.startswith('#'):
            continue
        if not line.strip():
            if entry:
                missing = [f for f in FIELDS if not entry.get(f)]
                if missing:
                    raise AllowListError('%s:%d: entry without %s' % (
                        where, first, ', '.join(missing)))
                try:
                    pattern = re.compile(entry['test'])
                except re.error as e:
                    raise AllowListError('%s:%d: test %r: %s' % (
                        where, first, entry['test'], e))
                entries.append((pattern, entry['why'], entry['runs when']))
                entry = {}
            continue
        key, sep, value = line.partition(':')
        if not sep or key not in FIELDS:
            raise AllowListError('%s:%d: expected one of %s, not %r' % (
                where, number, ', '.join(f + ':' for f in FIELDS), line))
        if key in entry:
            raise AllowListError('%s:%d: %s given twice' % (where, number,
                                                            key))
        first = first if entry else number
        entry[key] = value.strip()
    return entries


def skipped(log):
    """[(test or class id, why)] of the skips in a subunit-trace log."""
    found = []
    for line in log.splitlines():
        match = SKIP.match(line.rstrip())
        if match:
            test = match.group('id')
            whole = CLASS.match(test)
            found.append((whole.group('id') if whole else test,
                          match.group('why')))
    return found


def unexpected(allowed, log):
    """The skips of ``log`` that no entry of ``allowed`` matches."""
    return [(test, why) for test, why in skipped(log)
            if not any(p.fullmatch(test) for p, _, _ in allowed)]


def main(argv):
    if len(argv) != 4 or argv[1] != 'check':
        sys.stderr.write(__doc__)
        return 2
    try:
        with open(argv[2]) as f:
            allowed = parse_allowed(f.read(), argv[2])
        with open(argv[3], errors='replace') as f:
            log = f.read()
    except (OSError, AllowListError) as e:
        print('skips: %s' % e)
        return 2
    bad = unexpected(allowed, log)
    for test, why in bad:
        print('unexpected skip: %s: %s' % (test, why))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
