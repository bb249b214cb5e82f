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
"""Which of the hosts that fit a real-time request packs the fleet best.

RealtimeWeigher's raw value for a host. Two rules, measured against the
offline optimum by ``benchmarks/scheduler.py`` (doc/source/performance.rst):

* Best fit by host: the fewer free isolated CPUs, the better. Partly used
  hosts fill before empty ones open, which keeps whole hosts and NUMA
  cells free for the large flavors.
* Strand no CPU: a host cell left with exactly one free isolated CPU is
  lost to nearly every real-time flavor (they need a housekeeping vCPU
  besides the real-time ones, and on an SMT host a lone thread shares its
  core with a pinned vCPU). Each cell the request would leave so costs
  ``STRANDED_CELL_COST`` free CPUs' worth of best fit.

The cells are those Nova's own fitting would choose, as far as the CPU
counts tell: host cells ordered by free CPUs, the fullest first with
``[compute] packing_host_numa_cells_allocation_strategy`` (pack), the
roomiest first without it (Nova's default), and left in their order when
the guest takes them all.
"""

import itertools

from nova_rt.core import fitting

# Chosen with the packing benchmark on four flavor sequences (seeds 1, 4,
# 5, 7): from 40 to 70 it adds about a point over best fit alone, 60 the
# most on average (98.8 %, against 97.9 %); from about 90 it outweighs
# best fit once Nova normalises the weights, and packing falls back.
STRANDED_CELL_COST = 60


def remainders(frees, guest_cells, emulator_extra=0, pack_cells=False):
    """Free CPUs left in each host cell the guest's cells would take, in
    the order Nova tries them; None when the guest does not fit.

    :param frees: the host's free isolated CPUs per cell
        (``fitting.Capacity.frees``)
    :param guest_cells: dedicated vCPUs per guest NUMA cell; cell 0 also
        carries ``emulator_extra`` pCPUs
    """
    if len(frees) > len(guest_cells):
        frees = sorted(frees, reverse=not pack_cells)
    needs = (guest_cells[0] + emulator_extra,) + tuple(guest_cells[1:])
    for chosen in itertools.permutations(frees, len(needs)):
        if all(free >= need for free, need in zip(chosen, needs)):
            return tuple(free - need for free, need in zip(chosen, needs))
    return None


def score(request, facts, cap, pack_cells=False, guest_cells=None):
    """How well placing ``request`` on this host packs: higher is better.

    Minus the host's free isolated CPUs, minus ``STRANDED_CELL_COST`` for
    each cell the request would leave with one free CPU. None when it does
    not apply: a non-real-time request, or a host that is not ready.
    ``hw:cpu_thread_policy=isolate`` requests take whole cores and leave
    no lone thread to count: best fit alone ranks them. ``guest_cells``:
    the dedicated vCPUs per guest cell as Nova split them (the scheduler
    reads them once per request), else Nova's even split.
    """
    if (request is None or facts is None or not facts.ready or
            cap is None):
        return None
    value = -cap.free
    if request.cpu_thread_policy != 'isolate':
        if guest_cells is None:
            guest_cells = fitting.dedicated_split(request)
        left = remainders(cap.frees, guest_cells, request.emulator_pcpus,
                          pack_cells)
        if left:
            value -= STRANDED_CELL_COST * left.count(1)
    return value
