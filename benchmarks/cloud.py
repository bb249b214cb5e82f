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
"""The real cloud: a real-time server beside an ordinary one.

Run from the repository root, with a cloud up (``tools/cloud up``)::

    python benchmarks/cloud.py [--pairs N] [--json FILE]

Reads ``clouds.yaml`` from ``$NOVA_RT_CLOUD_DIR`` (default
``.artifacts/cloud``): ``nova-rt-admin`` creates two flavors of the same
size, a real-time one and an ordinary one, and deletes them at the end;
``nova-rt-demo`` boots servers of both from the same image (``nrt-guest``,
no network), one pair after another, the two of a pair in alternating
order. Each server is timed from the create call to ACTIVE and from the
delete call to gone (polled). The figures are the median ratios
real-time / ordinary over the pairs, with their 95 % intervals. Goal: at
most +5 % for both.

Without a cloud (no clouds.yaml, or keystone not answering) the figures
are ``skipped: no cloud (reason)``, never a failure.
"""

import dataclasses
import os
import sys
import time
import typing as ty
import uuid

if __name__ == '__main__' and __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks import stats  # noqa: E402
from benchmarks import table  # noqa: E402
from nova_rt.scheduler import prefilter  # noqa: E402

ADMIN_CLOUD = 'nova-rt-admin'
DEMO_CLOUD = 'nova-rt-demo'
GOAL = 0.05
FIGURES = ('create to ACTIVE', 'delete to gone')


def cloud_dir():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.environ.get('NOVA_RT_CLOUD_DIR') or os.path.join(
        top, '.artifacts', 'cloud')


@dataclasses.dataclass
class Settings:
    """What the benchmark boots. The defaults fit the 2-CPU test cloud
    (CPU 0 shared, CPU 1 dedicated, a lab compute): one real-time vCPU on
    the dedicated CPU, the emulator threads on the shared one, no guest
    tuning (no housekeeping vCPU to carry it), any host kernel, and
    placement asked for the lab trait.
    """

    pairs: int = 10
    image: str = 'nrt-guest'
    vcpus: int = 1
    ram_mb: int = 128
    disk_gb: int = 1
    realtime_specs: dict = dataclasses.field(default_factory=lambda: dict(
        {'hw:cpu_policy': 'dedicated', 'hw:cpu_realtime': 'yes',
         'hw:emulator_threads_policy': 'share',
         'rt:guest_tuning': 'none', 'rt:host_kernel': 'any'},
        **prefilter.trait_spec(lab_mode=True)))
    ordinary_specs: dict = dataclasses.field(default_factory=dict)
    timeout_s: float = 300.0
    poll_s: float = 0.25


class NoCloud(Exception):
    """No cloud to measure: the figures are skipped, with this reason."""


class CloudError(Exception):
    """The cloud is up but the benchmark could not run on it."""


class SdkCloud:
    """What the benchmark needs of the cloud, through openstacksdk."""

    def __init__(self, directory, timeout=30):
        path = os.path.join(directory, 'clouds.yaml')
        if not os.path.isfile(path):
            raise NoCloud('no clouds.yaml in %s' % directory)
        import openstack
        from openstack import config as os_config
        from openstack import exceptions
        self._missing = exceptions.NotFoundException
        loader = os_config.OpenStackConfig(config_files=[path])
        try:
            self.admin, self.demo = (
                openstack.connection.Connection(config=loader.get_one(
                    cloud=name, api_timeout=timeout))
                for name in (ADMIN_CLOUD, DEMO_CLOUD))
            self.admin.authorize()
            self.demo.authorize()
        except Exception as e:
            raise NoCloud('%s: %s' % (type(e).__name__,
                                      str(e).splitlines()[0][:200]))

    def image_id(self, name):
        image = self.demo.image.find_image(name, ignore_missing=True)
        if image is None:
            raise CloudError('no image named %s' % name)
        return image.id

    def create_flavor(self, name, settings, specs):
        flavor = self.admin.compute.create_flavor(
            name=name, vcpus=settings.vcpus, ram=settings.ram_mb,
            disk=settings.disk_gb, is_public=True)
        if specs:
            self.admin.compute.create_flavor_extra_specs(flavor, specs)
        return flavor.id

    def delete_flavor(self, flavor_id):
        self.admin.compute.delete_flavor(flavor_id, ignore_missing=True)

    def boot(self, name, image_id, flavor_id):
        return self.demo.compute.create_server(
            name=name, image_id=image_id, flavor_id=flavor_id,
            networks='none').id

    def status(self, server_id):
        """(status, fault message) of a server, or None once it is gone."""
        try:
            server = self.demo.compute.get_server(server_id)
        except self._missing:
            return None
        fault = (server.fault or {}).get('message', '')
        return server.status, fault

    def delete(self, server_id):
        self.demo.compute.delete_server(server_id, ignore_missing=True)


@dataclasses.dataclass
class Timings:
    """Seconds per server, in pair order."""

    create: ty.Dict[str, list] = dataclasses.field(
        default_factory=lambda: {'realtime': [], 'ordinary': []})
    delete: ty.Dict[str, list] = dataclasses.field(
        default_factory=lambda: {'realtime': [], 'ordinary': []})


def _wait(cloud, server_id, done, settings, clock, sleep, what):
    deadline = clock() + settings.timeout_s
    while True:
        found = cloud.status(server_id)
        if done(found):
            return clock()
        if found is not None and found[0] == 'ERROR':
            raise CloudError('server %s went to ERROR: %s'
                             % (server_id, found[1] or 'no fault given'))
        if clock() > deadline:
            raise CloudError('server %s not %s after %.0f s' % (
                server_id, what, settings.timeout_s))
        sleep(settings.poll_s)


def time_server(cloud, image_id, flavor_id, settings, created,
                clock=time.monotonic, sleep=time.sleep):
    """-> (seconds to ACTIVE, seconds from delete to gone). ``created``
    collects the server's id, so that it is cleaned up whatever happens.
    """
    start = clock()
    server_id = cloud.boot('nrt-bench-%s' % uuid.uuid4().hex[:8], image_id,
                           flavor_id)
    created.append(server_id)
    active = _wait(cloud, server_id,
                   lambda found: found is not None and found[0] == 'ACTIVE',
                   settings, clock, sleep, 'ACTIVE')
    start_delete = clock()
    cloud.delete(server_id)
    gone = _wait(cloud, server_id, lambda found: found is None, settings,
                 clock, sleep, 'gone')
    created.remove(server_id)
    return active - start, gone - start_delete


def run_pairs(cloud, settings, clock=time.monotonic, sleep=time.sleep):
    """Flavors made, ``settings.pairs`` pairs timed, everything deleted."""
    image_id = cloud.image_id(settings.image)
    flavors, created = {}, []
    timings = Timings()
    try:
        for kind, specs in (('realtime', settings.realtime_specs),
                            ('ordinary', settings.ordinary_specs)):
            flavors[kind] = cloud.create_flavor(
                'nrt-bench-%s-%s' % (kind, uuid.uuid4().hex[:8]), settings,
                specs)
        for pair in range(settings.pairs):
            for kind in stats.rotated(('realtime', 'ordinary'), pair):
                up, down = time_server(cloud, image_id, flavors[kind],
                                       settings, created, clock, sleep)
                timings.create[kind].append(up)
                timings.delete[kind].append(down)
    finally:
        for server_id in list(created):
            cloud.delete(server_id)
        for server_id in list(created):
            try:
                _wait(cloud, server_id, lambda found: found is None,
                      settings, clock, sleep, 'gone')
            except CloudError:
                pass    # the flavors are still deleted below
        for flavor_id in flavors.values():
            cloud.delete_flavor(flavor_id)
    return timings


def rows_of(timings):
    rows = []
    for figure, samples in zip(FIGURES, (timings.create, timings.delete)):
        s = stats.compare(samples['ordinary'], samples['realtime'])
        rows.append(table.Row(
            'cloud: %s, real-time / ordinary' % figure,
            '<= +%d %%' % (GOAL * 100),
            '%+.1f %% (%.1f vs %.1f s)' % ((s['ratio'] - 1) * 100,
                                           s['other'], s['base']),
            stats.verdict_of(s, 1 + GOAL), ratio=s['ratio'], low=s['low'],
            high=s['high'],
            note='' if figure != FIGURES[0] else
            'median of %d interleaved pairs, same image and size' % s['n']))
    return rows


def skipped_rows(reason):
    return [table.Row('cloud: %s, real-time / ordinary' % figure,
                      '<= +%d %%' % (GOAL * 100),
                      'skipped: no cloud (%s)' % reason, stats.SKIPPED)
            for figure in FIGURES]


def figures(quick=False, settings=None, connect=SdkCloud):
    settings = settings or Settings()
    try:
        cloud = connect(cloud_dir())
    except NoCloud as e:
        return skipped_rows(str(e))
    try:
        return rows_of(run_pairs(cloud, settings))
    except Exception as e:
        return [table.error_row('cloud: %s, real-time / ordinary' % figure,
                                '<= +%d %%' % (GOAL * 100),
                                '%s: %s' % (type(e).__name__, e))
                for figure in FIGURES]


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pairs', type=int, default=Settings.pairs,
                        help='pairs of servers (at least 6 for an '
                             'interval; default %(default)s)')
    parser.add_argument('--realtime-spec', action='append', default=[],
                        metavar='KEY=VALUE',
                        help='replace the real-time flavor extra specs '
                             '(repeatable)')
    parser.add_argument('--ordinary-spec', action='append', default=[],
                        metavar='KEY=VALUE',
                        help='extra specs of the ordinary flavor '
                             '(repeatable; default none)')
    parser.add_argument('--quick', action='store_true',
                        help='accepted for the runner; the cloud part has '
                             'no smaller size')
    parser.add_argument('--json', metavar='FILE')
    args = parser.parse_args(argv)
    settings = Settings(pairs=args.pairs)
    for attr, given in (('realtime_specs', args.realtime_spec),
                        ('ordinary_specs', args.ordinary_spec)):
        if given:
            try:
                setattr(settings, attr, dict(
                    item.split('=', 1) for item in given))
            except ValueError:
                parser.error('a spec must be KEY=VALUE: %s' % given)
    return table.module_main(lambda quick: figures(quick, settings),
                             __doc__.splitlines()[0],
                             ['--json', args.json] if args.json else [])


if __name__ == '__main__':
    sys.exit(main())
