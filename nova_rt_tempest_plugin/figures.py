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
"""A run's figures: what the tests, the tiers and the cloud measured, from
the file each wrote to the one file the docs are rendered from.

- ``record(directory, source, figures)``: a producer (a tempest test, a
  tier of ``tools/run-tests.sh``, ``tools/cloud``) adds its figures to
  ``DIRECTORY/SOURCE.json``, a flat ``{key: number or text}``.
- ``collect(directory, run, commit, machine)``: every source of a run in
  one document, stamped with the run's name, date, commit and machine.
- ``render(template, document)``: a docs figure block, its ``{key}`` and
  ``{key:.1f}`` fields filled from the document; a key the run did not
  record is an error, never an empty figure.

Standard library only: ``tools/figures.py``, the docs' Sphinx extension and
the tempest plugin (in the cloud's own virtualenv) import it alike.
"""

import json
import os
import re
import string
import subprocess
import time

# A key: dotted words ("load.p95_realtime_s", "tier.faults.passed").
KEY = re.compile(r'^[a-z0-9_]+(\.[a-z0-9_-]+)+$')


class FiguresError(Exception):
    pass


def check_key(key):
    if not KEY.match(key):
        raise FiguresError('figure key %r is not dotted lowercase words '
                           '(like load.p95_realtime_s)' % key)
    return key


def read_source(path):
    try:
        with open(path) as f:
            figures = json.load(f)
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise FiguresError('%s: not JSON: %s' % (path, e))
    if not isinstance(figures, dict):
        raise FiguresError('%s: not a JSON object of figures' % path)
    return figures


def record(directory, source, figures):
    """Add ``figures`` ({key: number or text}) to DIRECTORY/SOURCE.json;
    a key recorded again takes the newer value. The file is replaced
    whole, never left half written.
    """
    if not re.match(r'^[a-z0-9_.-]+$', source):
        raise FiguresError('figure source %r is not a plain file name'
                           % source)
    for key, value in figures.items():
        check_key(key)
        if not isinstance(value, (int, float, str)) or \
                isinstance(value, bool):
            raise FiguresError('figure %s = %r is not a number or a text'
                               % (key, value))
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, source + '.json')
    merged = read_source(path)
    merged.update(figures)
    tmp = '%s.%d.tmp' % (path, os.getpid())
    with open(tmp, 'w') as f:
        json.dump(merged, f, indent=1, sort_keys=True)
        f.write('\n')
    os.replace(tmp, path)
    return path


# A test's line in stestr's output:
# "{0} package.module.Class.test [12.3s] ... ok".
_TEST_LINE = re.compile(r'^\{\d+\} (?:[\w.]+\.)?(\w+)\.\w+\.(\w+) '
                        r'\[([0-9.]+)s\] \.\.\. ok\s*$')


def test_times(text):
    """{"test.MODULE.TEST_s": seconds} of each passed test in stestr's
    output (a failed or skipped test has no duration worth a figure).
    """
    times = {}
    for line in text.splitlines():
        match = _TEST_LINE.match(line)
        if match:
            module, test, seconds = match.groups()
            times['test.%s.%s_s' % (module.lower(), test.lower())] = round(
                float(seconds), 1)
    return times


def collect(directory, run, commit, machine, now=None):
    """One document of every source in ``directory``: {run, date, commit,
    machine, figures}. Two sources recording one key is an error: each
    figure has one producer.
    """
    figures, owner = {}, {}
    names = sorted(n for n in os.listdir(directory) if n.endswith('.json'))
    if not names:
        raise FiguresError('%s: no figures recorded' % directory)
    for name in names:
        for key, value in read_source(os.path.join(directory,
                                                   name)).items():
            if key in owner:
                raise FiguresError('figure %s recorded by both %s and %s'
                                   % (key, owner[key], name))
            owner[key] = name
            figures[key] = value
    return document(run, commit, machine, figures, now)


def document(run, commit, machine, figures, now=None):
    """A run's figures, stamped: what a docs block is rendered from."""
    for key in figures:
        check_key(key)
    return {'run': run,
            'date': time.strftime('%Y-%m-%d %H:%M UTC',
                                  time.gmtime(now)),
            'commit': commit, 'machine': machine,
            'figures': dict(sorted(figures.items()))}


def slug(text):
    """A figure's name as a key word: "RealtimeFilter cold, 1000" ->
    "realtimefilter_cold_1000".
    """
    return re.sub(r'[^a-z0-9]+', '_', text.lower()).strip('_')


def commit_of(top):
    """The checkout's commit, "+dirty" when tracked files differ from it:
    figures measured on uncommitted code say so.
    """
    def git(*args):
        return subprocess.run(['git', '-C', top] + list(args),
                              capture_output=True, text=True)
    head = git('rev-parse', '--short', 'HEAD').stdout.strip()
    if not head:
        return 'unknown'
    dirty = git('status', '--porcelain', '--untracked-files=no').stdout
    return head + ('+dirty' if dirty.strip() else '')


def load(path):
    """A collected document, checked for its stamp."""
    try:
        with open(path) as f:
            document = json.load(f)
    except FileNotFoundError:
        raise FiguresError('%s: no such figures file' % path)
    except ValueError as e:
        raise FiguresError('%s: not JSON: %s' % (path, e))
    missing = [k for k in ('run', 'date', 'commit', 'machine', 'figures')
               if k not in (document if isinstance(document, dict) else {})]
    if missing:
        raise FiguresError('%s: not a collected figures file (no %s)'
                           % (path, ', '.join(missing)))
    return document


class _Formatter(string.Formatter):
    """``{load.p50_s}`` is the key "load.p50_s", not attribute access."""

    def __init__(self, figures):
        self.figures = figures

    def get_field(self, field_name, args, kwargs):
        try:
            return self.figures[field_name], field_name
        except KeyError:
            raise FiguresError('no figure %s in this run' % field_name)


def render(template, document):
    """The template with its fields filled. A text figure of several
    lines (a table) keeps the indentation of the line it is on.
    """
    formatter = _Formatter(document['figures'])
    lines = []
    for line in template.split('\n'):
        indent = line[:len(line) - len(line.lstrip())]
        try:
            text = formatter.vformat(line, (), {})
        except (ValueError, TypeError) as e:
            raise FiguresError('figure block: %s' % e)
        lines.append(text.replace('\n', '\n' + indent))
    return '\n'.join(lines)


def stamp(document):
    """The line under a rendered block: which run the figures come from."""
    return 'Figures of run %s (%s, commit %s; %s).' % (
        document['run'], document['date'], document['commit'],
        document['machine'])


def machine():
    """This machine, as a reader comparing figures needs it: CPUs, model,
    memory, and whether it is itself a virtual machine.
    """
    model, virtual = 'unknown CPU', False
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name') and model == 'unknown CPU':
                    model = ' '.join(line.split(':', 1)[1].split())
                elif line.startswith('flags'):
                    virtual = virtual or 'hypervisor' in line.split()
    except OSError:
        pass
    memory = ''
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemTotal:'):
                    memory = ', %.0f GiB' % (int(line.split()[1]) / 2 ** 20)
    except OSError:
        pass
    return '%d CPUs (%s)%s%s' % (os.cpu_count() or 0, model, memory,
                                 ', a virtual machine' if virtual else '')
