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
"""The models behind the operator commands: ``fleet``, the cloud's compute
hosts over openstacksdk (``nova-rt fleet`` and ``openstack realtime host
list|show``), and ``realtime_flavor``, the extra specs of a new real-time
flavor (``openstack realtime flavor create``). No Nova import: they talk to
the cloud's APIs.
"""
