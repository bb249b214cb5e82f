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
#
# The services' configuration files, under $ETC. nova.conf is the
# controller's; each compute host gets its own nova-cpu.conf (hosts.sh).
# Sourced by tools/cloud.
# shellcheck shell=bash
# Variables are shared between the sourced modules and tools/cloud.
# shellcheck disable=SC2034,SC2154

db_url() { echo "mysql+pymysql://root@localhost/$1?unix_socket=$SOCK&charset=utf8"; }

ini() { "$PY" "$lib/ini.py" set "$@"; }

auth_section() {
    # auth_section FILE SECTION USER
    local f=$1 s=$2 u=$3
    ini "$f" "$s" auth_type password
    ini "$f" "$s" auth_url "http://$HOST:5000/v3"
    ini "$f" "$s" username "$u"
    ini "$f" "$s" password "$PASSWORD"
    ini "$f" "$s" project_name service
    ini "$f" "$s" user_domain_name Default
    ini "$f" "$s" project_domain_name Default
    ini "$f" "$s" region_name RegionOne
}

authtoken() {
    local f=$1 u=$2
    auth_section "$f" keystone_authtoken "$u"
    ini "$f" keystone_authtoken www_authenticate_uri "http://$HOST:5000"
    ini "$f" keystone_authtoken service_token_roles_required true
}

write_keystone_conf() {
    local f=$ETC/keystone/keystone.conf
    ini "$f" database connection "$(db_url keystone)"
    ini "$f" token provider fernet
    ini "$f" fernet_tokens key_repository "$ETC/keystone/fernet-keys"
    ini "$f" credential key_repository "$ETC/keystone/credential-keys"
    ini "$f" cache enabled true
    ini "$f" cache backend dogpile.cache.pymemcache
    ini "$f" cache memcache_servers "$HOST:11211"
}

write_placement_conf() {
    local f=$ETC/placement/placement.conf
    ini "$f" placement_database connection "$(db_url placement)"
    ini "$f" api auth_strategy keystone
    authtoken "$f" placement
}

write_glance_conf() {
    local f=$ETC/glance/glance-api.conf
    ini "$f" database connection "$(db_url glance)"
    ini "$f" DEFAULT enabled_backends "file:file"
    ini "$f" DEFAULT bind_host "$HOST"
    ini "$f" DEFAULT worker_self_reference_url "http://$HOST:9292"
    ini "$f" glance_store default_backend file
    ini "$f" file filesystem_store_datadir "$DATA/glance/images/"
    ini "$f" os_glance_staging_store filesystem_store_datadir "$DATA/glance/staging/"
    ini "$f" os_glance_tasks_store filesystem_store_datadir "$DATA/glance/tasks/"
    ini "$f" paste_deploy flavor keystone
    # In the config directory: glance of 2024.1 reads it from there
    # whatever paste_deploy says (glance.common.wsgi_app.CONFIG_FILES).
    cp "$VENV/etc/glance/glance-api-paste.ini" "$ETC/glance/glance-api-paste.ini"
    ini "$f" paste_deploy config_file "$ETC/glance/glance-api-paste.ini"
    authtoken "$f" glance
}

write_neutron_conf() {
    local f=$ETC/neutron/neutron.conf
    ini "$f" DEFAULT core_plugin ml2
    ini "$f" DEFAULT api_paste_config "$VENV/etc/neutron/api-paste.ini"
    ini "$f" DEFAULT service_plugins ""
    ini "$f" DEFAULT auth_strategy keystone
    ini "$f" DEFAULT transport_url "rabbit://guest:guest@$HOST:5672/"
    ini "$f" DEFAULT notify_nova_on_port_status_changes false
    ini "$f" DEFAULT notify_nova_on_port_data_changes false
    ini "$f" database connection "$(db_url neutron)"
    ini "$f" oslo_concurrency lock_path "$DATA/neutron/lock"
    ini "$f" ml2 type_drivers "flat,local"
    ini "$f" ml2 tenant_network_types ""
    ini "$f" ml2 mechanism_drivers ""
    ini "$f" ml2 extension_drivers ""
    authtoken "$f" neutron
}

# nova.conf: API, conductor, scheduler, and the base of every compute's
# nova-cpu.conf (made after the devstack plugin ran, as devstack does).
write_nova_conf() {
    local f=$ETC/nova/nova.conf
    ini "$f" DEFAULT transport_url "rabbit://guest:guest@$HOST:5672/"
    ini "$f" DEFAULT state_path "$DATA/nova"
    ini "$f" DEFAULT instances_path "$INSTANCES"
    ini "$f" DEFAULT my_ip "$HOST"
    ini "$f" DEFAULT host controller
    ini "$f" DEFAULT compute_driver libvirt.LibvirtDriver
    # The test guest's init ignores ACPI power-off: do not wait 60 s.
    ini "$f" DEFAULT shutdown_timeout 3
    ini "$f" DEFAULT graceful_shutdown_timeout 5
    # One compute: resize tests may land on the host they leave.
    ini "$f" DEFAULT allow_resize_to_same_host true
    ini "$f" api auth_strategy keystone
    # nova's WSGI app reads the first of OS_NOVA_CONFIG_FILES as paste.
    cp "$VENV/etc/nova/api-paste.ini" "$ETC/nova/api-paste.ini"
    ini "$f" wsgi api_paste_config "$ETC/nova/api-paste.ini"
    ini "$f" database connection "$(db_url nova_cell1)"
    ini "$f" api_database connection "$(db_url nova_api)"
    ini "$f" oslo_concurrency lock_path "$DATA/nova/lock"
    ini "$f" oslo_messaging_notifications driver noop
    ini "$f" scheduler workers 1
    ini "$f" conductor workers 1
    ini "$f" vnc enabled false
    ini "$f" libvirt virt_type qemu
    ini "$f" libvirt cpu_mode none
    # The test guest ignores ACPI too: a soft reboot falls back to a hard
    # one after this many seconds (default 120).
    ini "$f" libvirt wait_soft_reboot_seconds 10
    authtoken "$f" nova
    auth_section "$f" placement placement
    ini "$f" placement username nova
    auth_section "$f" neutron neutron
    ini "$f" neutron username nova
    auth_section "$f" service_user nova
    ini "$f" service_user send_service_user_token true
    ini "$f" glance region_name RegionOne
    ini "$f" cinder os_region_name RegionOne
}

write_configs() {
    mkdir -p "$ETC"/{keystone,glance,placement,neutron,nova} \
        "$DATA"/{glance/images,nova,keystone}
    write_keystone_conf
    write_placement_conf
    write_glance_conf
    write_neutron_conf
    write_nova_conf
}

run_plugin() {
    # devstack/plugin.sh's phases, with devstack's names for the files.
    # ENABLED_SERVICES is an all-in-one devstack node's.
    (
        export ENABLED_SERVICES=key,n-api,n-cond,n-sch,n-cpu,placement-api,g-api,q-svc,tempest
        export NOVA_CONF=$ETC/nova/nova.conf
        export NOVA_CPU_CONF=$ETC/nova/nova-cpu.conf
        export NOVA_RT_DIR=$top
        export NOVA_RT_PYTHON=$PY
        export NOVA_RT_ADMIN_CLOUD=nova-rt-admin
        export OS_CLIENT_CONFIG_FILE=$CLOUD_DIR/clouds.yaml
        export TEMPEST_CONFIG=$CLOUD_DIR/tempest.conf
        export DEST=$top/..
        # Each compute is reached through tools/cloud exec (hosts.sh).
        export NOVA_RT_TEMPEST_HOST_ACCESS=command
        export NOVA_RT_TEMPEST_HOST_COMMAND="$top/tools/cloud exec {host} --"
        export NOVA_RT_TEMPEST_CLOUD_COMMAND=$top/tools/cloud
        # Each host sees its own file at this path (hosts.sh).
        export NOVA_RT_METRICS_FILE=$METRICS_DIR/nova-rt.prom
        export PATH=$VENV/bin:$PATH
        # shellcheck source=devstack-compat.sh
        source "$lib/devstack-compat.sh"
        # shellcheck source=../../devstack/settings
        source "$top/devstack/settings"
        for phase in "$@"; do
            # shellcheck source=../../devstack/plugin.sh
            source "$top/devstack/plugin.sh" stack "$phase"
        done
    ) 2>&1 | tee -a "$LOGS/devstack-plugin.log"
    return "${PIPESTATUS[0]}"
}

write_cpu_conf() {
    # As devstack: the compute's config is nova.conf less the databases
    # ("No DB access allowed in nova-compute"). Each host's own file adds
    # its name, address and privsep helpers (hosts.sh).
    local f=$ETC/nova/nova-cpu.conf
    cp "$ETC/nova/nova.conf" "$f"
    "$PY" "$lib/ini.py" del "$f" database connection
    "$PY" "$lib/ini.py" del "$f" api_database connection
}
