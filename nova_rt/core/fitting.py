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
"""Does a real-time request fit a host? The scheduler's pure core.

Two steps, each a plain function over plain values, no Nova imports:

* ``capacity(facts, cells)``: the host's published facts plus its NUMA
  usage -> free isolated CPUs and whole free cores per NUMA cell;
* ``verdict(request, facts, capacity, ...)``: -> ``Verdict`` (passes, or the
  reason it does not).

Which of the hosts that fit is best is ``nova_rt.scheduler.packing``'s
question.

The CPU check is exact but only *necessary*: it rejects a host only when no
placement of the guest's NUMA cells can fit, counting CPUs and whole cores
the way ``nova.virt.hardware.numa_fit_instance_to_host`` does.
NUMATopologyFilter still computes the real pinning on the hosts that pass.
"""

import dataclasses

from nova_rt.core import cat
from nova_rt.core import priority as rt_priority

# Reason codes: one per rule, stable, used to group rejections in the log.
NOT_READY = 'not_ready'
INVALID_REQUEST = 'invalid_request'
KERNEL = 'kernel'
KTHREAD_PRIORITY = 'kthread_priority'
LATENCY = 'latency'
L3_CACHE = 'l3_cache'
RAM_OVERCOMMIT = 'ram_overcommit'
NUMA_CELLS = 'numa_cells'
ISOLATED_CPUS = 'isolated_cpus'
DEDICATED_HOST = 'dedicated_host'

REASONS = (NOT_READY, INVALID_REQUEST, KERNEL, KTHREAD_PRIORITY, LATENCY,
           L3_CACHE, RAM_OVERCOMMIT, NUMA_CELLS, ISOLATED_CPUS,
           DEDICATED_HOST)


class CellCapacity:
    """Free isolated CPUs of one host NUMA cell.

    ``free_cores`` counts cores whose every thread is free and isolated;
    ``threads`` is the cell's threads per core (1 without SMT). Built by
    ``cell_capacity``, it computes those two when first asked, from
    references to the cell's own sets: only ``hw:cpu_thread_policy=isolate``
    requests need them, and the scheduler builds a CellCapacity for every
    cell of every ready host (no new set kept per cell keeps the garbage
    collector out of that path).
    """

    __slots__ = ('cell_id', 'isolated', 'free', '_free_cores', '_threads',
                 '_isolated_cpus', '_pcpuset', '_pinned', '_siblings')

    def __init__(self, cell_id, isolated, free, free_cores=None,
                 threads=None, isolated_cpus=None, pcpuset=(), pinned=(),
                 siblings=()):
        self.cell_id = cell_id
        self.isolated = isolated
        self.free = free
        self._free_cores = free_cores
        self._threads = threads
        self._isolated_cpus = isolated_cpus
        self._pcpuset = pcpuset
        self._pinned = pinned
        self._siblings = siblings

    @property
    def threads(self):
        if self._threads is None:
            self._threads = max(map(len, self._siblings), default=1) or 1
        return self._threads

    @property
    def free_cores(self):
        if self._free_cores is None:
            threads = self.threads
            if threads == 1:
                self._free_cores = self.free
            else:
                free = self._isolated_cpus.intersection(
                    self._pcpuset).difference(self._pinned)
                self._free_cores = sum(
                    1 for sib in self._siblings
                    if len(sib) == threads and free.issuperset(sib))
        return self._free_cores

    def _key(self):
        return (self.cell_id, self.isolated, self.free, self.free_cores,
                self.threads)

    def __eq__(self, other):
        if not isinstance(other, CellCapacity):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return ('CellCapacity(cell_id=%r, isolated=%r, free=%r, '
                'free_cores=%r, threads=%r)' % self._key())


class Capacity:
    """Free isolated CPUs of one host, per NUMA cell.

    ``frees`` (one count per cell) is all the filter and the weigher need
    for a request that does not isolate threads, and the scheduler counts
    it for every ready host when its cache is cold. ``cells``
    (CellCapacity objects, with whole free cores) are built on first use:
    ``hw:cpu_thread_policy=isolate`` requests and the tools.
    """

    __slots__ = ('frees', '_cells', '_raw', '_isolated_cpus')

    def __init__(self, cells=None, frees=None, raw=(), isolated_cpus=None):
        """``Capacity(cells)``, or ``capacity()``'s counts and the cells'
        raw ``(id, pcpuset, pinned_cpus, siblings)`` to build them from.
        """
        if cells is not None:
            cells = tuple(cells)
            frees = tuple(c.free for c in cells)
        self.frees = frees
        self._cells = cells
        self._raw = raw
        self._isolated_cpus = isolated_cpus

    @property
    def cells(self):
        if self._cells is None:
            self._cells = tuple(
                cell_capacity(cid, pcpus, pinned, sibs, self._isolated_cpus)
                for cid, pcpus, pinned, sibs in self._raw)
        return self._cells

    @property
    def isolated(self):
        return sum(c.isolated for c in self.cells)

    @property
    def free(self):
        return sum(self.frees)

    def __eq__(self, other):
        if not isinstance(other, Capacity):
            return NotImplemented
        return self.cells == other.cells

    def __hash__(self):
        return hash(self.cells)

    def __repr__(self):
        return 'Capacity(cells=%r)' % (self.cells,)


class Verdict:
    """``reason`` is None when the host passes, else one of ``REASONS``.

    ``detail`` is ``detail % args`` when args are given, formatted when
    first read: the scheduler judges every candidate host for every
    request and reads the text only for the hosts it logs.
    """

    __slots__ = ('reason', '_detail', '_args')

    def __init__(self, reason=None, detail='', *args):
        self.reason = reason
        self._detail = detail
        self._args = args

    @property
    def detail(self):
        if self._args:
            self._detail = self._detail % self._args
            self._args = ()
        return self._detail

    def __bool__(self):
        return self.reason is None

    def __eq__(self, other):
        if not isinstance(other, Verdict):
            return NotImplemented
        return (self.reason, self.detail) == (other.reason, other.detail)

    def __hash__(self):
        return hash((self.reason, self.detail))

    def __repr__(self):
        return 'Verdict(reason=%r, detail=%r)' % (self.reason, self.detail)


PASS = Verdict()

_SETS = (set, frozenset)


def _counts(pcpuset, pinned_cpus, isolated_cpus):
    """(isolated, free) dedicated CPUs of one host cell."""
    if (isinstance(pcpuset, _SETS) and isolated_cpus.issuperset(pcpuset)
            and pcpuset.issuperset(pinned_cpus)):
        # A well-partitioned host: every dedicated CPU isolated. Counted
        # without a new set: the scheduler does this for every cell of
        # every ready host when its cache is cold.
        isolated = len(pcpuset)
        return isolated, isolated - len(pinned_cpus)
    usable = isolated_cpus.intersection(pcpuset)
    return len(usable), len(usable.difference(pinned_cpus))


def cell_capacity(cell_id, pcpuset, pinned_cpus, siblings, isolated_cpus):
    """One host NUMA cell -> CellCapacity.

    :param pcpuset: the cell's dedicated CPUs (``[compute]
        cpu_dedicated_set``), an iterable of ints
    :param pinned_cpus: those already pinned
    :param siblings: the cell's thread sibling sets (may be empty: no SMT)
    :param isolated_cpus: the host's isolated CPUs (frozenset)
    """
    isolated, free = _counts(pcpuset, pinned_cpus, isolated_cpus)
    return CellCapacity(cell_id, isolated, free,
                        isolated_cpus=isolated_cpus, pcpuset=pcpuset,
                        pinned=pinned_cpus, siblings=siblings)


def capacity(facts, cells):
    """Host facts + NUMA usage -> Capacity.

    :param facts: a ``nova_rt.host.facts.HostFacts``
    :param cells: iterable of ``(id, pcpuset, pinned_cpus, siblings)``
    """
    isolated = frozenset(facts.isolated_cpus)
    raw = tuple(cells)
    return Capacity(frees=tuple(_counts(pcpus, pinned, isolated)[1]
                                for _, pcpus, pinned, _ in raw),
                    raw=raw, isolated_cpus=isolated)


def even_split(vcpus, numa_nodes):
    """Nova's automatic split of vCPUs over guest NUMA nodes."""
    base, extra = divmod(vcpus, numa_nodes)
    return tuple(base + (1 if i < extra else 0) for i in range(numa_nodes))


def dedicated_split(request):
    """Dedicated vCPUs per guest NUMA cell under Nova's even split: all of
    them with ``dedicated``, the real-time ones with ``mixed``.
    """
    cells, first = [], 0
    for size in even_split(request.vcpus, request.numa_nodes):
        cells.append(len(request.dedicated_vcpus &
                         frozenset(range(first, first + size))))
        first += size
    return tuple(cells)


def _cell_fits(cell, vcpus, extra, isolate):
    """Can one host cell take ``vcpus`` pinned vCPUs plus ``extra`` pCPUs?

    With ``hw:cpu_thread_policy=isolate`` each vCPU takes a whole core and
    the emulator's pCPU is any free thread of another core, as Nova packs.
    """
    if not isolate:
        return cell.free >= vcpus + extra
    return (cell.free_cores >= vcpus and
            cell.free - vcpus * cell.threads >= extra)


def _placeable(units, first_fits, guest_cells):
    """Is there a host cell for guest cell 0 (``first_fits``) such that the
    other host cells' ``units`` cover the other guest cells?

    Guest cell 0 alone carries the emulator's pCPU, so once it is placed,
    pairing the largest needs with the roomiest cells decides the rest.
    """
    if len(guest_cells) > len(units):
        return False
    rest = sorted(guest_cells[1:], reverse=True)
    for i, fits in enumerate(first_fits):
        if not fits:
            continue
        if not rest:
            return True
        room = sorted((u for j, u in enumerate(units) if j != i),
                      reverse=True)
        if all(have >= need for have, need in zip(room, rest)):
            return True
    return False


def frees_fit(frees, guest_cells, emulator_extra=0):
    """``cpus_fit`` over the free CPUs per host cell, for a request that
    does not isolate threads.
    """
    first = guest_cells[0] + emulator_extra
    if len(guest_cells) == 1:
        return max(frees, default=0) >= first
    return _placeable(frees, [f >= first for f in frees], guest_cells)


def cpus_fit(cells, guest_cells, emulator_extra=0, isolate=False):
    """Is there a placement of the guest's NUMA cells on distinct host cells?

    Exact for the counts Nova checks: guest cell 0 also carries the
    emulator's pCPU (``hw:emulator_threads_policy=isolate``); the other
    guest cells need only their vCPUs (whole cores with ``isolate``).
    """
    if not isolate:
        return frees_fit([c.free for c in cells], guest_cells,
                         emulator_extra)
    return _placeable(
        [c.free_cores for c in cells],
        [_cell_fits(c, guest_cells[0], emulator_extra, True) for c in cells],
        guest_cells)


def _kernel_verdict(request, facts):
    if request.host_kernel == 'preempt_rt' and facts.kernel != 'preempt_rt':
        return Verdict(KERNEL, 'needs a preempt_rt kernel, host runs %s'
                       % facts.kernel)
    prio = request.isolated_priority
    if not rt_priority.below_kthreads(prio, facts.kthread_prio):
        return Verdict(KTHREAD_PRIORITY,
                       'priority %d is not below the host kernel threads '
                       '(%d)' % (prio, facts.kthread_prio))
    return PASS


def _latency_verdict(request, facts):
    if request.max_latency_us is None:
        return PASS
    if facts.latency_max_us is None:
        return Verdict(LATENCY, 'host latency is not certified')
    if facts.latency_max_us > request.max_latency_us:
        return Verdict(LATENCY, 'certified %d us > asked %d us'
                       % (facts.latency_max_us, request.max_latency_us))
    return PASS


def _l3_verdict(request, facts):
    if request.l3_cache_kib is None:
        return PASS
    if not facts.cat_l3_kib:
        return Verdict(L3_CACHE, 'host has no L3 cache allocation')
    needed = cat.reserved_kib(request.l3_cache_kib, facts.cat_min_kib)
    if needed > facts.cat_l3_kib:
        return Verdict(L3_CACHE, 'needs %d KiB of L3, host has %d KiB'
                       % (needed, facts.cat_l3_kib))
    return PASS


def lab_facts(facts, cpus):
    """The facts a lab scheduler and compute decide on for a lab host.

    A host in ``[nova_rt] lab_mode`` is not ready and publishes that; when
    the deciding side is in lab mode too, its ``cpus`` (the host's
    ``[compute] cpu_dedicated_set``) stand in for isolated CPUs. The result
    is never published: other facts are kept as the audit found them.
    """
    if facts is None or not facts.lab or facts.ready:
        return facts
    return dataclasses.replace(facts, ready=True,
                               isolated_cpus=frozenset(cpus))


def facts_verdict(request, facts):
    """The rules a host's facts alone decide, for a real-time request.

    The filter runs them before the capacity check; the compute driver
    runs them again at spawn, against its own fresh facts, so a host that
    changed since it was chosen refuses before anything is created.
    """
    if facts is None:
        return Verdict(NOT_READY, 'host publishes no nova-rt facts')
    if not facts.ready:
        return Verdict(NOT_READY, 'host is not ready for real-time guests')
    for rule in (_kernel_verdict, _latency_verdict, _l3_verdict):
        found = rule(request, facts)
        if not found:
            return found
    return PASS


def _cpu_verdict(request, cap, guest_cells):
    if guest_cells is None:
        guest_cells = dedicated_split(request)
    if len(guest_cells) > len(cap.frees):
        return Verdict(NUMA_CELLS, 'needs %d NUMA cells, host has %d',
                       len(guest_cells), len(cap.frees))
    extra = request.emulator_pcpus
    isolate = request.cpu_thread_policy == 'isolate'
    guest_cells = tuple(guest_cells)
    if isolate:
        fits = cpus_fit(cap.cells, guest_cells, extra, True)
        units = 'whole cores'
    else:
        fits = frees_fit(cap.frees, guest_cells, extra)
        units = 'CPUs'
    if not fits:
        return Verdict(ISOLATED_CPUS, 'needs %s %s (+%d) on %d cell(s), '
                       'free per cell: %s', _Joined(guest_cells, '+'),
                       units, extra, len(guest_cells),
                       _Joined([c.free_cores for c in cap.cells]
                               if isolate else cap.frees, ','))
    return PASS


class _Joined:
    """Numbers joined for a Verdict's detail, when it is read."""

    __slots__ = ('items', 'sep')

    def __init__(self, items, sep):
        self.items, self.sep = items, sep

    def __str__(self):
        return self.sep.join(map(str, self.items))


def verdict(request, facts, cap, guest_cells=None, ram_allocation_ratio=None,
            forbid_ram_overcommit=False, dedicate_hosts=False):
    """Request + host -> Verdict.

    :param request: a RealtimeRequest, or None for a non-real-time flavor
    :param facts: the host's HostFacts, or None when it published none
    :param cap: the host's Capacity, or None when it has no NUMA topology
    :param guest_cells: dedicated vCPUs per guest NUMA cell; Nova's even
        split (``dedicated_split``) when None
    :param ram_allocation_ratio: the host's, for ``forbid_ram_overcommit``
    """
    if request is None:
        if dedicate_hosts and facts is not None and facts.ready:
            return Verdict(DEDICATED_HOST,
                           'host is kept for real-time instances')
        return PASS
    found = facts_verdict(request, facts)
    if not found:
        return found
    if cap is None:
        return Verdict(NOT_READY, 'host reports no NUMA topology')
    if (forbid_ram_overcommit and ram_allocation_ratio is not None and
            ram_allocation_ratio > 1.0):
        return Verdict(RAM_OVERCOMMIT, 'ram_allocation_ratio %s > 1.0'
                       % ram_allocation_ratio)
    return _cpu_verdict(request, cap, guest_cells)
