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
"""The test cloud's Python scripts (tools/cloudlib/*.py), loaded as
modules for their unit tests: they are scripts, not a package."""

import importlib.util
import os

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLOUDLIB = os.path.join(TOP, 'tools', 'cloudlib')


def load(name):
    """tools/cloudlib/NAME.py as a module."""
    path = os.path.join(CLOUDLIB, name + '.py')
    spec = importlib.util.spec_from_file_location('nova_rt_cloudlib_' + name,
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
