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
"""Every benchmark in one run: one table, the same as JSON.

Run from the repository root (``tox -e bench`` runs it)::

    python benchmarks/run.py [--quick] [--json FILE] [--only PART,...]

Each part runs in a process of its own (its heap, garbage collector and
Nova's monkey patching do not weigh on the next), its log in
``.artifacts/bench-logs/PART.log``. The table has one row per figure:
figure, goal, measured, the ratio with its 95 % interval, and the verdict
(PASS and FAIL only when the whole interval is on one side of the goal,
UNSURE when noise straddles it; INFO for a figure without a goal of its
own; SKIPPED for the cloud when none is up). The JSON (default
``.artifacts/bench.json``) holds the same rows and the machine's load.

Exit status 1 when a figure FAILs (or a part could not run), else 0.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

if __name__ == '__main__' and __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from nova_rt_tempest_plugin import figures as run_figures  # noqa: E402

from benchmarks import table  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# (part, environment, time limit in seconds). The host audit runs as
# nova-compute (threading mode) and the CLI do: without eventlet.
PARTS = (
    ('host_check', {'OS_NOVA_DISABLE_EVENTLET_PATCHING': 'true'}, 300),
    ('guest_watch', {'OS_NOVA_DISABLE_EVENTLET_PATCHING': 'true'}, 300),
    ('scheduler', {}, 900),
    ('fleet', {}, 900),
    ('driver', {}, 600),
    ('cloud', {}, 1800),
)


def run_part(name, env, limit, quick, log_dir):
    """-> the part's rows, or one failed row saying why it has none."""
    fd, out = tempfile.mkstemp(prefix='nova-rt-bench-', suffix='.json')
    os.close(fd)
    argv = [sys.executable, '-m', 'benchmarks.%s' % name, '--json', out]
    if quick:
        argv.append('--quick')
    log_path = os.path.join(log_dir, '%s.log' % name)
    try:
        with open(log_path, 'w') as log:
            subprocess.run(argv, cwd=TOP, env=dict(os.environ, **env),
                           stdout=log, stderr=subprocess.STDOUT,
                           timeout=limit, check=False)
        with open(out) as f:
            text = f.read()
        if not text:
            return [table.error_row(name, '-', 'no figures; see %s'
                                    % log_path)]
        return table.from_json(json.loads(text))
    except subprocess.TimeoutExpired:
        return [table.error_row(name, '-', 'over its %d s limit; see %s'
                                % (limit, log_path))]
    finally:
        os.unlink(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='smaller sizes, fewer rounds: a smoke run')
    parser.add_argument('--json', metavar='FILE',
                        default=os.path.join(TOP, '.artifacts',
                                             'bench.json'))
    parser.add_argument('--only', metavar='PART,...',
                        help='run only these parts (%s)'
                             % ', '.join(p for p, _, _ in PARTS))
    args = parser.parse_args(argv)
    names = [p for p, _, _ in PARTS]
    only = args.only.split(',') if args.only else names
    unknown = sorted(set(only) - set(names))
    if unknown:
        parser.error('unknown part(s): %s' % ', '.join(unknown))
    log_dir = os.path.join(os.path.dirname(os.path.abspath(args.json)),
                           'bench-logs')
    os.makedirs(log_dir, exist_ok=True)
    started = time.time()
    load_before = os.getloadavg()
    rows = []
    for name, env, limit in PARTS:
        if name not in only:
            continue
        part_start = time.monotonic()
        rows += run_part(name, env, limit, args.quick, log_dir)
        sys.stderr.write('%s: %.0f s\n' % (name,
                                           time.monotonic() - part_start))
    seconds = time.time() - started
    sys.stdout.write(table.render(rows))
    sys.stdout.write('%d figures in %.0f s; load average %.1f before, '
                     '%.1f after (%d CPUs)\n' % (
                         len(rows), seconds, load_before[0],
                         os.getloadavg()[0], os.cpu_count() or 0))
    document = {'started': time.strftime('%Y-%m-%dT%H:%M:%SZ',
                                         time.gmtime(started)),
                'seconds': round(seconds, 1), 'quick': args.quick,
                'load_average': {'before': load_before[0],
                                 'after': os.getloadavg()[0]},
                'cpus': os.cpu_count(), 'rows': table.to_json(rows)}
    with open(args.json, 'w') as f:
        json.dump(document, f, indent=2)
    sys.stdout.write('JSON: %s\n' % args.json)
    # The same rows as a run's figures, for performance.rst's figure
    # block (copied to doc/source/figures/RUN.json).
    measured = table.figures(rows)
    measured.update({'bench.minutes': round(seconds / 60, 1),
                     'bench.load_before': round(load_before[0], 1),
                     'bench.load_after': round(os.getloadavg()[0], 1)})
    stamped = run_figures.document(
        time.strftime('bench-%Y-%m-%d-%H%M', time.gmtime(started)),
        run_figures.commit_of(TOP), run_figures.machine(), measured)
    out = os.path.join(os.path.dirname(os.path.abspath(args.json)),
                       'bench-figures.json')
    with open(out, 'w') as f:
        json.dump(stamped, f, indent=1)
        f.write('\n')
    sys.stdout.write('figures: %s\n' % out)
    return table.worst(rows)


if __name__ == '__main__':
    sys.exit(main())
