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
"""nova-rt's unit tests.

Hypothesis judges some health checks by wall-clock time; on a loaded
2-core CI machine a strategy that is fast when quiet can be reported as
"too slow" and fail a correct test. The property tests bound their work by
example counts instead, so time-based judgements are switched off for the
whole tier; every other health check stays on.
"""

import hypothesis

hypothesis.settings.register_profile(
    'nova-rt', deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow])
hypothesis.settings.load_profile('nova-rt')
