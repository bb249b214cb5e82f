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
"""When a restarted nova-compute is back: not when its service record
says "up" (a stopped process's last report stays "up" for a minute), but
once it has reported since the restart, which it does only after its RPC
server consumes again. A live migration sent to a compute between the two
met its start-up, was reset half-way and left its allocations on the
source behind (seen here), so the tests wait for the report.
"""

import datetime

# The cloud command's verbs after which a nova-compute runs anew, or must
# reconnect to the database, the message queue or libvirtd.
RESTARTING = ('restart', 'start', 'poweron', 'up', 'upgrade')


def restarted_hosts(args):
    """The compute hosts the cloud command ``args`` restarted: those its
    ``nova-compute@HOST`` arguments or ``poweron HOST`` name, ``['*']``
    for every compute (a shared service, the whole cloud), ``[]`` for a
    command that restarts nothing.
    """
    if not args or args[0] not in RESTARTING:
        return []
    if args[0] == 'poweron':
        return list(args[1:2]) or ['*']
    named = [a.split('@', 1)[1] for a in args[1:]
             if a.startswith('nova-compute@')]
    return named or ['*']


def reported_since(service, when):
    """Whether ``service`` (a row of os-services) reported after ``when``
    (seconds since the epoch; None: nothing to wait for). Its
    ``updated_at`` is UTC in whole seconds where the database keeps no
    fraction, so a report counts only from a second after ``when``: the
    stopped process's last report, rounded up, never passes for the new
    one's.
    """
    if when is None:
        return True
    stamp = service.get('updated_at')
    if not stamp:
        return False
    reported = datetime.datetime.fromisoformat(stamp.rstrip('Z'))
    if reported.tzinfo is not None:
        reported = reported.astimezone(datetime.timezone.utc).replace(
            tzinfo=None)
    after = datetime.datetime.fromtimestamp(
        when, datetime.timezone.utc).replace(tzinfo=None)
    return reported > after + datetime.timedelta(seconds=1)
