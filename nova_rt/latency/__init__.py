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
"""Latency evidence: cyclictest runs measured, summarised and certified.

A pure core, standard library only: ``nova-rt-guest latency`` runs inside
guests that have nothing else. Plots use matplotlib when it happens to be
importable (``nova_rt.latency.plot``).

``cyclictest``   cyclictest's ``--json`` output (rt-tests 2.x) -> runs
``stats``        histograms -> samples, min/avg/max, overflows, percentiles
``result``       the result document of the product contract
``identity``     the host state a measurement belongs to
``certificate``  result -> certificate; certificate + host -> verdict
``runner``       the cyclictest (and stress-ng) command lines and the run
``plot``         histogram and worst-per-slice PNGs
"""


from nova_rt.core import exception


class LatencyError(exception.NovaRTError):
    """Bad input or a run that cannot go on; the CLIs exit 2 on it."""

    msg_fmt = '%(reason)s'

    def __init__(self, reason):
        super().__init__(reason=reason)
