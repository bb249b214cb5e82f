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
"""Watching running real-time guests: what each guest's domain asks of its
threads (``expected``), what its live threads have (``threads``), and the
differences (``drift``). Pure: a domain XML and a host root in, findings
out; no Nova, no libvirt connection.
"""
