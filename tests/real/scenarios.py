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
"""Scenarios: the domain XML nova-rt generated and what it should mean.

A scenario directory holds, for each scenario NAME, ``NAME.xml`` (the domain
XML exactly as the driver passed it to libvirt's ``defineXML``) and
``NAME.json`` (the expectations nova-rt's core derived on its own, see
doc/source/real-tier.rst for the fields). The functional tests of the driver
write them; ``samples/`` holds hand-written ones that the tier always runs
as its self-test.
"""

import dataclasses
import json
import os
import xml.etree.ElementTree as ET

SAMPLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'samples')

# Every field of NAME.json, with the types it may have.
FIELDS = {
    'name': (str,),
    'vcpus': (int,),
    'realtime_vcpus': (str,),
    'housekeeping_vcpus': (str,),
    'vcpu_scheduler': (str,),
    'vcpu_priority': (int,),
    'emulator_scheduler': (str,),
    'emulator_priority': (int, type(None)),
    'vcpu_pins': (dict,),
    'emulator_cpuset': (str,),
    'guest_kernel_args': (str,),
    'oem_strings': (list,),
    'direct_kernel_boot': (bool,),
    'pmu': (bool,),
    'hint_dedicated': (bool,),
    'locked_memory': (bool,),
    'cachetune': (dict, type(None)),
    'bootable': (bool,),
}


class ScenarioError(Exception):
    """A scenario file that cannot be read: names the file and the fault."""


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    origin: str          # 'samples' or 'domains': where it came from
    xml_path: str
    xml: str
    expect: dict

    def root(self):
        """A fresh parsed copy of the domain XML (callers may change it)."""
        return ET.fromstring(self.xml)


def load(xml_path, origin):
    """Read ``NAME.xml`` and its ``NAME.json`` into a Scenario.

    :raises: ScenarioError naming the file and what is wrong with it
    """
    base = xml_path[:-len('.xml')]
    json_path = base + '.json'
    name = os.path.basename(base)
    try:
        with open(xml_path, encoding='utf-8') as f:
            xml = f.read()
        ET.fromstring(xml)
    except (OSError, ET.ParseError) as e:
        raise ScenarioError('%s: cannot read the domain XML: %s'
                            % (xml_path, e))
    try:
        with open(json_path, encoding='utf-8') as f:
            expect = json.load(f)
    except (OSError, ValueError) as e:
        raise ScenarioError('%s: cannot read the expectations: %s'
                            % (json_path, e))
    faults = []
    for field, types in FIELDS.items():
        if field not in expect:
            faults.append('%s missing' % field)
        elif not isinstance(expect[field], types) or (
                bool not in types and isinstance(expect[field], bool)):
            faults.append('%s is %r' % (field, expect[field]))
    if faults:
        raise ScenarioError('%s: bad expectations: %s'
                            % (json_path, '; '.join(faults)))
    return Scenario(name=name, origin=origin, xml_path=xml_path, xml=xml,
                    expect=expect)


def discover(directory, origin):
    """The scenarios of a directory, sorted by name.

    Returns ``(scenarios, errors)``: a scenario whose files cannot be read
    becomes an error string instead of stopping the others. A missing
    directory has no scenarios.
    """
    if not os.path.isdir(directory):
        return [], []
    scenarios, errors = [], []
    for entry in sorted(os.listdir(directory)):
        if not entry.endswith('.xml'):
            continue
        try:
            scenarios.append(load(os.path.join(directory, entry), origin))
        except ScenarioError as e:
            errors.append(str(e))
    return scenarios, errors
