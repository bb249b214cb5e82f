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
"""The cloud's contents, for tools/cloud: run with the cloud's venv.

``catalog``: service and demo projects, users and the service catalog,
through keystone's API (the CLI took minutes for the same on these
machines), then clouds.yaml. ``resources``: the computes mapped into their
cell, the test guest's images, the ordinary flavors and tempest.conf.
``service-up``: whether one host's nova-compute has reported in since it
(re)started.
"""

import argparse
import configparser
import hashlib
import os
import subprocess
import sys
import time

import openstack
import yaml

# The checkout this script is in.
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

HOST = '127.0.0.1'
KEYSTONE = 'http://%s:5000/v3' % HOST
SERVICES = (
    # name, type, URL
    ('nova', 'compute', 'http://%s:8774/v2.1' % HOST),
    ('placement', 'placement', 'http://%s:8778' % HOST),
    ('glance', 'image', 'http://%s:9292' % HOST),
    ('neutron', 'network', 'http://%s:9696' % HOST),
)
ADMIN_CLOUD = 'nova-rt-admin'
DEMO_CLOUD = 'nova-rt-demo'
# A guest init that waits this long before powering off: longer than any
# test; `tools/cloud down` destroys what is left.
GUEST_HOLD_S = 86400
# How long the latency guest's cyclictest runs: its Python starts it about
# 10 s after BEGIN under TCG on the test cloud, and a live migration (about
# 12 s) started 40 s after BEGIN fits inside with time on either side.
LATENCY_S = 90
ORDINARY_FLAVOR = 'nrt.small'
ORDINARY_FLAVOR_ALT = 'nrt.small.alt'
WAIT_S = 180


def log(msg):
    print('bootstrap: %s %s' % (time.strftime('%H:%M:%S'), msg), flush=True)


def cloud_entry(user, project, password, system_scope=False):
    entry = {
        'auth': {'auth_url': KEYSTONE, 'username': user,
                 'password': password, 'project_name': project,
                 'user_domain_name': 'Default',
                 'project_domain_name': 'Default'},
        'region_name': 'RegionOne',
        'identity_api_version': 3,
        'interface': 'public',
    }
    return entry


def connect(args, cloud):
    os.environ['OS_CLIENT_CONFIG_FILE'] = os.path.join(args.cloud_dir,
                                                       'clouds.yaml')
    return openstack.connect(cloud=cloud)


def write_clouds(args):
    clouds = {'clouds': {
        ADMIN_CLOUD: cloud_entry('admin', 'admin', args.password),
        DEMO_CLOUD: cloud_entry('demo', 'demo', args.password),
    }}
    path = os.path.join(args.cloud_dir, 'clouds.yaml')
    with open(path, 'w') as f:
        yaml.safe_dump(clouds, f, default_flow_style=False)
    return path


def catalog(args):
    write_clouds(args)
    conn = connect(args, ADMIN_CLOUD)
    ident = conn.identity
    domain = ident.find_domain('default')

    def project(name):
        return ident.find_project(name, domain_id=domain.id) or \
            ident.create_project(name=name, domain_id=domain.id)

    def role(name):
        return ident.find_role(name) or ident.create_role(name=name)

    def user(name, proj, roles):
        u = ident.find_user(name, domain_id=domain.id) or ident.create_user(
            name=name, password=args.password, domain_id=domain.id,
            default_project_id=proj.id)
        for r in roles:
            ident.assign_project_role_to_user(proj, u, role(r))
        return u

    service_project = project('service')
    demo_project = project('demo')
    for name, _, _ in SERVICES:
        user(name, service_project, ('admin', 'service'))
    user('demo', demo_project, ('member', 'reader'))
    region = 'RegionOne'
    for name, stype, url in SERVICES:
        svc = ident.find_service(name) or ident.create_service(
            name=name, type=stype)
        existing = {e.interface for e in ident.endpoints(service_id=svc.id)}
        for interface in ('public', 'internal', 'admin'):
            if interface not in existing:
                ident.create_endpoint(service_id=svc.id, interface=interface,
                                      url=url, region_id=region)
    log('catalog ready')


def run(argv, timeout=120):
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout)


def inventory_classes(nova_conf):
    """The resource classes a compute of this configuration reports: PCPU
    for ``[compute] cpu_dedicated_set``, VCPU for ``cpu_shared_set`` (or
    for every CPU when neither is set).
    """
    conf = configparser.ConfigParser(strict=False, interpolation=None)
    conf.read(nova_conf)
    dedicated = conf.get('compute', 'cpu_dedicated_set', fallback='')
    shared = conf.get('compute', 'cpu_shared_set', fallback='')
    classes = set()
    if dedicated.strip():
        classes.add('PCPU')
    if shared.strip() or not dedicated.strip():
        classes.add('VCPU')
    return classes


def wait_computes(args, conn):
    """Every compute host mapped into cell1, its provider with the
    inventory its CPU sets imply: PCPU (its dedicated CPUs) and VCPU (its
    shared ones).
    """
    deadline = time.monotonic() + WAIT_S
    manage = os.path.join(args.venv, 'bin', 'nova-manage')
    wanted = {'compute%d' % i for i in range(1, args.computes + 1)}
    classes = inventory_classes(args.nova_conf)
    while True:
        run([manage, '--config-file', args.nova_conf, 'cell_v2',
             'discover_hosts', '--verbose'])
        found = {}
        for rp in conn.placement.resource_providers():
            inv = {i.resource_class: i.total for i in
                   conn.placement.resource_provider_inventories(rp)}
            if classes <= set(inv):
                found[rp.name] = inv
        mapped = {h.name for h in conn.compute.hypervisors()}
        if wanted <= set(found) and wanted <= mapped:
            for name in sorted(wanted):
                log('compute %s: %s' % (name, ', '.join(
                    '%s %d' % (c, found[name][c]) for c in sorted(classes))))
            return
        if time.monotonic() > deadline:
            raise SystemExit(
                'computes %s: no %s inventory after %d s (found %s; see the '
                'nova-compute@ logs)' % (
                    ', '.join(sorted(wanted - set(found))) or 'all mapped',
                    ' and '.join(sorted(classes)), WAIT_S, found or 'none'))
        time.sleep(2)


def service_up(args):
    """Exit 0 once the nova-compute of ``args.host`` reported in after
    ``args.since`` (epoch seconds): a restarted service is up again, by
    the tempest plugin's rule (nova_rt_tempest_plugin.servicestate). A
    service an operator forced down reports in but stays down until
    unforced, as after an evacuation.
    """
    sys.path.insert(0, TOP)
    from nova_rt_tempest_plugin import servicestate
    conn = connect(args, ADMIN_CLOUD)
    for service in conn.compute.services(binary='nova-compute',
                                         host=args.host):
        if service.state != 'up' and not service.is_forced_down:
            continue
        if servicestate.reported_since({'updated_at': service.updated_at},
                                       args.since):
            return
    raise SystemExit(1)


def guest_cache():
    return os.environ.get('NOVA_RT_REAL_CACHE', '/var/cache/nova-rt-real')


def guest_files(args):
    sys.path.insert(0, args.top)
    from tests.real import guest
    return guest.build(guest_cache(), log=log)


def latency_image(args, conn, kernel, root):
    """The latency guest's image: the test guest whose init runs
    ``nova-rt-guest latency run`` for LATENCY_S seconds (the real tier's
    initramfs, with the nova_rt of this tree); '' when this machine
    cannot build it (it needs rt-tests and busybox-static), and the tests
    that need it skip saying so.
    """
    sys.path.insert(0, args.top)
    from tests.real import guest
    sample = os.path.join(args.top, 'tests', 'unit', 'latency', 'captured',
                          'one-cpu.json')
    try:
        initrd = guest.build_latency_initrd(guest_cache(), args.top, sample)
    except guest.GuestError as e:
        log('no latency guest image: %s' % e)
        return ''
    ari = ensure_image(conn, 'nrt-latency-initrd', initrd, 'ari', {})
    ami = ensure_image(conn, 'nrt-latency-guest', root, 'ami', {
        'kernel_id': kernel.id, 'ramdisk_id': ari.id,
        'os_command_line': 'console=ttyS0 nrt_hold=%d nrt_latency_s=%d'
                           % (GUEST_HOLD_S, LATENCY_S)})
    return ami.id


def image_is(image, data, properties):
    """Whether glance's ``image`` holds ``data`` with ``properties``: a
    cloud brought up again on an earlier one's data must not boot a guest
    image built from an older checkout.
    """
    if image.hash_value:
        if image.hash_value != hashlib.sha512(data).hexdigest():
            return False
    elif image.checksum != hashlib.md5(data).hexdigest():
        return False
    # Glance's own fields are attributes, other properties land in
    # properties or stay in the resource's body (openstacksdk).
    fields = dict(image.properties or {})
    fields.update({k: v for k, v in image.to_dict().items()
                   if v is not None})
    return all(str(fields.get(key)) == str(value)
               for key, value in properties.items())


def ensure_image(conn, name, path, disk_format, properties):
    with open(path, 'rb') as f:
        data = f.read()
    image = conn.image.find_image(name)
    if image is not None and image.status == 'active' and \
            image_is(image, data, properties):
        return image
    if image is not None:
        log('image %s: %s replaced (%s)' % (
            name, image.id, 'not active' if image.status != 'active'
            else 'other content or properties'))
        conn.image.delete_image(image)
    image = conn.image.create_image(
        name=name, data=data, disk_format=disk_format,
        container_format=disk_format, visibility='public',
        allow_duplicates=True, **properties)
    log('image %s: %s (%d bytes)' % (name, image.id, len(data)))
    return image


def ensure_flavor(conn, name, vcpus, ram, disk, specs):
    flavor = conn.compute.find_flavor(name)
    if flavor is None:
        flavor = conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram,
                                            disk=disk)
        if specs:
            conn.compute.create_flavor_extra_specs(flavor, specs)
    return flavor


def forget_computes(args, conn):
    """Delete the nova-compute services (with their compute nodes and
    resource providers) of hosts this cloud no longer runs, as an operator
    would after removing a host: an earlier ``up --computes 2`` left
    compute2's, reported down forever.
    """
    wanted = {'compute%d' % i for i in range(1, args.computes + 1)}
    for service in conn.compute.services(binary='nova-compute'):
        if service.host not in wanted:
            conn.compute.delete_service(service)
            log('compute %s: removed (this cloud runs %s)' % (
                service.host, ', '.join(sorted(wanted))))


def resources(args):
    conn = connect(args, ADMIN_CLOUD)
    forget_computes(args, conn)
    wait_computes(args, conn)
    kernel, initrd = guest_files(args)
    aki = ensure_image(conn, 'nrt-guest-kernel', kernel, 'aki', {})
    ari = ensure_image(conn, 'nrt-guest-initrd', initrd, 'ari', {})
    root = os.path.join(args.cloud_dir, 'data', 'root.img')
    if not os.path.exists(root):
        with open(root, 'wb') as f:
            f.truncate(1024 * 1024)
    ami = ensure_image(conn, 'nrt-guest', root, 'ami', {
        'kernel_id': aki.id, 'ramdisk_id': ari.id,
        'os_command_line': 'console=ttyS0 nrt_hold=%d' % GUEST_HOLD_S})
    # Ordinary flavors, as tenants of any cloud have them: unpinned, on
    # the computes' shared CPUs.
    flavor = ensure_flavor(conn, ORDINARY_FLAVOR, 1, 128, 1, {})
    flavor_alt = ensure_flavor(conn, ORDINARY_FLAVOR_ALT, 1, 192, 1, {})
    latency = latency_image(args, conn, aki, root)
    write_tempest_conf(args, ami.id, flavor.id, flavor_alt.id, latency)
    log('resources ready')


def max_microversion(conn, service):
    """The newest microversion the running service offers, else latest."""
    try:
        data = getattr(conn, service).get_endpoint_data()
        version = data.max_microversion
    except Exception as e:  # the conf stays usable: say why, keep latest
        log('%s: no microversion range (%s): latest' % (service, e))
        return 'latest'
    return '%d.%d' % tuple(version) if version else 'latest'


def enabled_filters(args):
    """The scheduler's enabled filters, as nova.conf has them."""
    ini = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ini.py')
    proc = run([sys.executable, ini, 'get', args.nova_conf,
                'filter_scheduler', 'enabled_filters'])
    return proc.stdout.strip()


def write_tempest_conf(args, image, flavor, flavor_alt, latency_image_ref):
    conn = connect(args, ADMIN_CLOUD)
    ini = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ini.py')
    path = os.path.join(args.cloud_dir, 'tempest.conf')
    many = 'true' if args.computes > 1 else 'false'
    settings = [
        ('DEFAULT', 'log_file', os.path.join(args.cloud_dir, 'logs',
                                             'tempest.log')),
        ('DEFAULT', 'use_stderr', 'false'),
        ('auth', 'admin_username', 'admin'),
        ('auth', 'admin_password', args.password),
        ('auth', 'admin_project_name', 'admin'),
        ('auth', 'admin_domain_name', 'Default'),
        ('auth', 'use_dynamic_credentials', 'true'),
        ('auth', 'create_isolated_networks', 'false'),
        ('identity', 'uri_v3', KEYSTONE),
        ('identity', 'auth_version', 'v3'),
        ('identity', 'region', 'RegionOne'),
        ('identity-feature-enabled', 'api_v2', 'false'),
        ('compute', 'image_ref', image),
        ('compute', 'image_ref_alt', image),
        ('compute', 'flavor_ref', flavor),
        ('compute', 'flavor_ref_alt', flavor_alt),
        ('compute', 'build_timeout', '180'),
        ('compute', 'min_compute_nodes', str(args.computes)),
        ('compute', 'min_microversion', '2.1'),
        ('compute', 'max_microversion', max_microversion(conn, 'compute')),
        ('placement', 'min_microversion', '1.0'),
        ('placement', 'max_microversion',
         max_microversion(conn, 'placement')),
        # As devstack writes it: suites skip what needs a filter that is
        # not enabled.
        ('compute-feature-enabled', 'scheduler_enabled_filters',
         enabled_filters(args)),
        ('compute-feature-enabled', 'console_output', 'true'),
        ('compute-feature-enabled', 'resize', 'true'),
        ('compute-feature-enabled', 'shelve', 'true'),
        ('compute-feature-enabled', 'shelve_migrate', many),
        ('compute-feature-enabled', 'pause', 'true'),
        ('compute-feature-enabled', 'suspend', 'true'),
        ('compute-feature-enabled', 'cold_migration', many),
        ('compute-feature-enabled', 'live_migration', many),
        ('compute-feature-enabled', 'block_migration_for_live_migration',
         many),
        ('compute-feature-enabled', 'vnc_console', 'false'),
        ('service_available', 'nova', 'true'),
        ('service_available', 'glance', 'true'),
        ('service_available', 'neutron', 'true'),
        ('service_available', 'cinder', 'false'),
        ('service_available', 'swift', 'false'),
        ('validation', 'run_validation', 'false'),
        ('nova_rt', 'latency_image_ref', latency_image_ref),
        ('nova_rt', 'latency_run_seconds', str(LATENCY_S)),
        # Every host sees its disks at one path (tools/cloudlib/hosts.sh).
        ('nova_rt', 'instances_path',
         os.path.join(args.cloud_dir, 'data', 'nova', 'instances')),
        # nova-rt and each compute's own nova-cpu.conf and log, as the
        # compute host sees them (tools/cloudlib/hosts.sh).
        ('nova_rt', 'host_nova_rt', os.path.join(args.venv, 'bin',
                                                 'nova-rt')),
        ('nova_rt', 'host_nova_conf',
         os.path.join(args.cloud_dir, 'data', 'hosts', '{host}',
                      'nova-cpu.conf')),
        ('nova_rt', 'compute_log',
         os.path.join(args.cloud_dir, 'logs', 'nova-compute@{host}.log')),
        ('oslo_concurrency', 'lock_path', os.path.join(args.cloud_dir,
                                                       'data', 'tempest')),
    ]
    for section, option, value in settings:
        subprocess.run([sys.executable, ini, 'set', path, section, option,
                        value], check=True)
    log('wrote %s' % path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('step', choices=('catalog', 'resources',
                                         'service-up'))
    parser.add_argument('--cloud-dir', required=True)
    parser.add_argument('--password', required=True)
    parser.add_argument('--nova-conf')
    parser.add_argument('--venv')
    parser.add_argument('--top')
    parser.add_argument('--computes', type=int, default=1)
    parser.add_argument('--host')
    parser.add_argument('--since', type=float)
    args = parser.parse_args()
    {'catalog': catalog, 'resources': resources,
     'service-up': service_up}[args.step](args)


if __name__ == '__main__':
    main()
