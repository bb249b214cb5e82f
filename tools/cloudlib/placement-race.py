#!/usr/bin/env python3
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
"""Does placement grant more than a provider holds when claims race?

    placement-race.py [--trials N] [--racers N] [--cloud NAME]

Against a running cloud (``OS_CLIENT_CONFIG_FILE``, the admin cloud of
tools/cloud by default): a provider of its own with one unit of a custom
resource class (never a compute's, so no scheduler sees it), then per
trial ``--racers`` concurrent ``PUT /allocations`` of that one unit by new
consumers; the provider's usage after each trial, then everything
removed. One line a trial, then the count of trials where usage exceeded
the total: nova-rt's faults tier saw two real-time servers claim one
PCPU this way (doc/source/scheduler.rst). Exit 1 when any trial
over-allocated.
"""

import argparse
from concurrent import futures
import sys
import uuid

import openstack

HEADERS = {'OpenStack-API-Version': 'placement 1.28'}
RESOURCE_CLASS = 'CUSTOM_NOVA_RT_RACE_PROBE'


def race(placement, provider, racers):
    """(status codes, usage after) of one trial."""
    consumers = [str(uuid.uuid4()) for _ in range(racers)]

    def claim(consumer):
        return placement.put('/allocations/%s' % consumer, headers=HEADERS,
                             json={'allocations': {provider: {'resources': {
                                       RESOURCE_CLASS: 1}}},
                                   'project_id': uuid.uuid4().hex,
                                   'user_id': uuid.uuid4().hex,
                                   'consumer_generation': None}).status_code

    with futures.ThreadPoolExecutor(racers) as pool:
        codes = list(pool.map(claim, consumers))
    usage = placement.get('/resource_providers/%s/usages' % provider,
                          headers=HEADERS).json()['usages'].get(
                              RESOURCE_CLASS, 0)
    for consumer in consumers:
        placement.delete('/allocations/%s' % consumer, headers=HEADERS)
    return codes, usage


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--trials', type=int, default=10)
    parser.add_argument('--racers', type=int, default=6)
    parser.add_argument('--cloud', default='nova-rt-admin')
    args = parser.parse_args(argv)
    placement = openstack.connect(cloud=args.cloud).placement
    placement.put('/resource_classes/%s' % RESOURCE_CLASS, headers=HEADERS)
    provider = str(uuid.uuid4())
    placement.post('/resource_providers', headers=HEADERS, json={
        'name': 'nova-rt-race-probe-%s' % provider[:8], 'uuid': provider})
    over = 0
    try:
        generation = placement.get('/resource_providers/%s' % provider,
                                   headers=HEADERS).json()['generation']
        placement.put('/resource_providers/%s/inventories' % provider,
                      headers=HEADERS, json={
                          'resource_provider_generation': generation,
                          'inventories': {RESOURCE_CLASS: {'total': 1}}})
        for trial in range(1, args.trials + 1):
            codes, usage = race(placement, provider, args.racers)
            over += usage > 1
            print('trial %d: %d of %d claims granted, usage %d of 1' % (
                trial, codes.count(204), len(codes), usage), flush=True)
    finally:
        placement.delete('/resource_providers/%s' % provider,
                         headers=HEADERS)
    print('over-allocated in %d of %d trials' % (over, args.trials))
    return 1 if over else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
