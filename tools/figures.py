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
"""A run's figures (nova_rt_tempest_plugin/figures.py says what they are).

  tools/figures.py record SOURCE KEY=VALUE...   # a producer's figures
  tools/figures.py tests SOURCE LOG             # each passed test's time
  tools/figures.py collect --run NAME [--out FILE]
  tools/figures.py show FILE                    # a collected file's figures

The figures directory is $NOVA_RT_FIGURES_DIR, else .artifacts/figures.
The docs' figure blocks are rendered from a collected file copied to
doc/source/figures/ (doc/source/_exts/run_figures.py).
"""

import argparse
import json
import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOP)

from nova_rt_tempest_plugin import figures  # noqa: E402


def value_of(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dir', default=os.environ.get(
        'NOVA_RT_FIGURES_DIR', os.path.join(TOP, '.artifacts', 'figures')))
    sub = parser.add_subparsers(dest='command', required=True)
    rec = sub.add_parser('record')
    rec.add_argument('source')
    rec.add_argument('pairs', nargs='+', metavar='KEY=VALUE')
    tests = sub.add_parser('tests')
    tests.add_argument('source')
    tests.add_argument('log')
    col = sub.add_parser('collect')
    col.add_argument('--run', required=True)
    col.add_argument('--out',
                     default=os.path.join(TOP, '.artifacts', 'figures.json'))
    show = sub.add_parser('show')
    show.add_argument('file')
    args = parser.parse_args(argv)
    try:
        if args.command == 'record':
            pairs = {}
            for pair in args.pairs:
                key, sep, value = pair.partition('=')
                if not sep:
                    raise figures.FiguresError('%r is not KEY=VALUE' % pair)
                pairs[key] = value_of(value)
            figures.record(args.dir, args.source, pairs)
        elif args.command == 'tests':
            with open(args.log, errors='replace') as f:
                times = figures.test_times(f.read())
            if times:
                figures.record(args.dir, args.source, times)
        elif args.command == 'collect':
            document = figures.collect(args.dir, args.run,
                                       figures.commit_of(TOP),
                                       figures.machine())
            with open(args.out, 'w') as f:
                json.dump(document, f, indent=1)
                f.write('\n')
            print('figures: %d of run %s in %s' % (
                len(document['figures']), args.run, args.out))
        else:
            document = figures.load(args.file)
            print(figures.stamp(document))
            for key, value in document['figures'].items():
                print('%s = %s' % (key, value))
    except (figures.FiguresError, OSError) as e:
        print('figures: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
