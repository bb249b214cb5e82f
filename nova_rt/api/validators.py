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
"""Extra-spec validators for the ``rt:`` keys.

Loaded by nova-api through the ``nova.api.extra_spec_validators`` entry
point. Each validator is generated from the core's key table, so the rule
and the description live once, in ``nova_rt.core.request``; this adapter only
turns the core's error into Nova's ValidationError (a 400 at microversion
2.86 and later) whose message names the key.
"""

import dataclasses

from nova.api.validation.extra_specs import base
from nova import exception as nova_exception

from nova_rt.core import exception
from nova_rt.core import request

_TYPES = {'rt:guest_idle_poll': bool}


@dataclasses.dataclass
class RealtimeSpecValidator(base.ExtraSpecValidator):
    """Validates through the core parser, naming the key on failure."""

    def validate(self, name, value):
        try:
            request.parse_rt_value(name, value)
        except exception.InvalidRealtimeRequest as e:
            raise nova_exception.ValidationError(
                'Validation failed; %s' % e.message)


def _value_schema(key):
    schema = {'type': _TYPES.get(key.name, str), 'description': key.values}
    if key.choices:
        schema['enum'] = key.choices
    if key.minimum is not None:
        schema['type'] = int
        schema['min'] = key.minimum
    if key.maximum is not None:
        schema['max'] = key.maximum
    return schema


def register():
    return [RealtimeSpecValidator(name=key.name,
                                  description=key.description,
                                  value=_value_schema(key))
            for key in request.RT_KEYS.values()]
