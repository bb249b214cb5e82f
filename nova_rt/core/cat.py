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
"""Cache Allocation Technology: what a reservation of L3 really takes.

CAT hands out whole cache ways (a bit of the capacity bitmask each), so a
request for rt:l3_cache_kib costs that many KiB rounded up to whole
ways. The scheduler (against the published nova_rt_cat_min_kib) and the
driver (against the host's layout) round alike, through this function;
the layout of a host's L3 domains comes from its facts, for this host at
spawn and for a live migration's destination alike.
"""

import dataclasses
import typing


def reserved_kib(asked_kib, way_kib):
    """``asked_kib`` rounded up to whole ways of ``way_kib`` (unchanged
    when the way size is not known).
    """
    if not way_kib:
        return asked_kib
    return -(-asked_kib // way_kib) * way_kib


@dataclasses.dataclass(frozen=True)
class CacheLayout:
    """The host's L3 domains as CAT sees them."""

    # host CPU -> L3 cache id
    cache_of_cpu: typing.Mapping[int, int]
    # KiB of one cache way: allocations are whole ways
    way_kib: int
    # KiB every L3 domain can hand out (the smallest domain's size)
    domain_kib: int


def cache_layout(facts):
    """The CAT layout a host's facts describe, or None without CAT.

    The same function serves this host at spawn and a live migration's
    destination (from its published stats), so both derive ``cachetune``
    alike.
    """
    if facts is None or not (facts.cat_l3_kib and facts.cat_min_kib and
                             facts.cat_domains):
        return None
    cache_of_cpu = {cpu: cache_id for cache_id, cpus in facts.cat_domains
                    for cpu in cpus}
    return CacheLayout(cache_of_cpu=cache_of_cpu, way_kib=facts.cat_min_kib,
                       domain_kib=facts.cat_l3_kib)
