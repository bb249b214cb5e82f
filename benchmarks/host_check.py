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
"""Benchmark: read_profile + audit over the recorded 256-CPU, 8-node tree.

Not a timed test: it prints the median of several runs and the target.
SMI sampling is excluded (smi_interval=0): its interval is a sleep.

    python benchmarks/host_check.py [RUNS]
"""

import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from nova_rt.host import checks  # noqa: E402
from nova_rt.host import profile  # noqa: E402
from tests.host_trees import build  # noqa: E402

TARGET_SECONDS = 0.3


def main(argv):
    runs = int(argv[1]) if len(argv) > 1 else 15
    desc = build.load('big-256')
    conf = desc['nova_conf']
    dedicated = build.cpuset.parse(conf['cpu_dedicated_set'])
    shared = build.cpuset.parse(conf['cpu_shared_set'])
    with tempfile.TemporaryDirectory(prefix='nova-rt-bench-') as root:
        build.build(desc, root)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            p = profile.read_profile(root, smi_interval=0)
            report = checks.audit(p, dedicated, shared)
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print('host check, 256 CPUs / 8 nodes, %d runs: median %.3f s, '
          'min %.3f s, max %.3f s (target < %.1f s): %s; ready=%s'
          % (runs, median, min(times), max(times), TARGET_SECONDS,
             'OK' if median < TARGET_SECONDS else 'SLOW', report.ready))
    return 0 if median < TARGET_SECONDS else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
