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
"""Sphinx configuration of the nova-rt operator guide."""

import os
import sys

# run-figures:: figure blocks rendered from a run's collected figures.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '_exts'))

extensions = [
    'run_figures',
    'openstackdocstheme',
    # [nova_rt] rendered from nova_rt.conf (show-options::) and the sample
    # file written at build time from etc/nova-rt's generator config.
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
    # The CLI reference, from the commands' own argparse parsers.
    'sphinxarg.ext',
]

config_generator_config_file = [
    ('../../etc/nova-rt/nova-rt-config-generator.conf',
     '_static/nova-rt'),
]

project = 'nova-rt'
copyright = 'nova-rt developers'
master_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'native'

html_theme = 'openstackdocs'
html_static_path = ['_static']

openstackdocs_repo_name = 'openstack/nova-rt'
openstackdocs_use_storyboard = False
openstackdocs_auto_name = False
openstackdocs_pdf_link = False
