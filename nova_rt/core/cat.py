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
driver (against the host's layout) round alike, through this function.
"""


def reserved_kib(asked_kib, way_kib):
    """``asked_kib`` rounded up to whole ways of ``way_kib`` (unchanged
    when the way size is not known).
    """
    if not way_kib:
        return asked_kib
    return -(-asked_kib // way_kib) * way_kib
