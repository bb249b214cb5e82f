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
"""neutron's WSGI API for tools/cloud, with SQLAlchemy's mappers set up.

Without the service plugins that usually touch every model first, neutron's
first ports query fails with "type object 'Port' has no attribute
'port_forwardings'" (a 500, and nova cannot delete servers) until
SQLAlchemy has configured its mappers: do it once the app is loaded.
"""

from sqlalchemy import orm

try:
    from neutron.wsgi.api import application  # noqa: F401
except ImportError:
    # neutron of 2024.1 has no WSGI module: what its generated WSGI
    # script (bin/neutron-api) calls.
    from neutron.cmd.eventlet import server

    application = server.main_api_eventlet()

orm.configure_mappers()
