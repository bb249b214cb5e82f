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
"""Shared helpers of the latency unit tests.

``captured/`` holds cyclictest 2.40 ``--json`` output captured on a
2-CPU Debian 12 VM (kernel 6.18, not PREEMPT_RT), as run by hand:

one-cpu.json              -a 1 -t 1 -h 400 -D 3: 8 samples beyond 400 us
one-cpu-no-overflow.json  -a 1 -t 1 -h 10000 -D 5: none beyond
two-cpus.json             -a 0,1 -t 2 -i 500 -h 2000 -D 5: 1 beyond each
two-cpus-overflow.json    -a 0,1 -t 2 -h 30 -D 3: most samples beyond
no-histogram.json         -a 1 -t 1 -D 2, no -h: no histogram at all
sigint.json               -h 400 -D 30, SIGINT after 2 s: cut short
"""

import os

CAPTURED = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'captured')


def captured(name):
    return os.path.join(CAPTURED, name)


def text(name):
    with open(captured(name), encoding='utf-8') as f:
        return f.read()
