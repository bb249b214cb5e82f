#!/bin/bash
# devstack plugin for nova-rt: installs the package on every node and writes
# the nova.conf of doc/source/deploy.rst ("Deploying it" of the contract).
#
# Phases: install, post-config (nova.conf and nova-cpu.conf), extra (the
# example flavor, the host audit in the log), test-config (tempest options
# of nova_rt_tempest_plugin); clean uninstalls. On a multi-node devstack
# each node gets what its services need: n-cpu the compute's settings,
# n-sch the filter and weigher, n-api the flavor, tempest its options, so a
# compute-only subnode gets the compute's settings alone.

function install_nova_rt {
    # Not in develop mode: nova imports compute_driver from nova.virt, and
    # only an installed nova-rt puts its shim (nova/virt/nova_rt) inside
    # the installed nova package.
    setup_install "$NOVA_RT_DIR"
}

# The compute's settings, in one config file.
function configure_nova_rt_compute {
    local conf=$1
    iniset "$conf" DEFAULT compute_driver nova_rt.driver.RealtimeLibvirtDriver
    iniset "$conf" nova_rt require_preempt_rt "$NOVA_RT_REQUIRE_PREEMPT_RT"
    iniset "$conf" nova_rt lab_mode "$NOVA_RT_LAB_MODE"
    if [[ -n "$NOVA_RT_METRICS_FILE" ]]; then
        mkdir -p "$(dirname "$NOVA_RT_METRICS_FILE")"
        iniset "$conf" nova_rt metrics_file "$NOVA_RT_METRICS_FILE"
    fi
    if [[ -n "$NOVA_RT_CPU_DEDICATED_SET" ]]; then
        iniset "$conf" compute cpu_dedicated_set "$NOVA_RT_CPU_DEDICATED_SET"
    else
        inidelete "$conf" compute cpu_dedicated_set
    fi
    if [[ -n "$NOVA_RT_CPU_SHARED_SET" ]]; then
        iniset "$conf" compute cpu_shared_set "$NOVA_RT_CPU_SHARED_SET"
    else
        inidelete "$conf" compute cpu_shared_set
    fi
}

function configure_nova_rt {
    iniset "$NOVA_CONF" nova_rt require_preempt_rt "$NOVA_RT_REQUIRE_PREEMPT_RT"
    iniset "$NOVA_CONF" nova_rt lab_mode "$NOVA_RT_LAB_MODE"

    if is_service_enabled n-cpu && [[ "$NOVA_RT_ENABLE_DRIVER" == "True" ]]; then
        # devstack's start_nova_compute copies nova.conf over nova-cpu.conf
        # on every stack: nova.conf carries the compute's settings too, so
        # they survive a re-stack; nova-cpu.conf gets them when it exists.
        configure_nova_rt_compute "$NOVA_CONF"
        if [[ -n "${NOVA_CPU_CONF:-}" && -f "$NOVA_CPU_CONF" ]]; then
            configure_nova_rt_compute "$NOVA_CPU_CONF"
        fi
    fi

    if is_service_enabled n-sch && [[ "$NOVA_RT_ENABLE_SCHEDULER" == "True" ]]; then
        # available_filters is multi-valued: keep nova's own filters.
        iniset "$NOVA_CONF" filter_scheduler available_filters nova.scheduler.filters.all_filters
        iniadd "$NOVA_CONF" filter_scheduler available_filters nova_rt.scheduler.filters.RealtimeFilter
        local filters
        filters=$(iniget "$NOVA_CONF" filter_scheduler enabled_filters)
        if [[ -z "$filters" ]]; then
            filters=ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter,NUMATopologyFilter
        fi
        # RealtimeFilter is a cheap count: it goes before the pinning fit
        # of NUMATopologyFilter.
        if [[ ",$filters," != *",RealtimeFilter,"* ]]; then
            if [[ ",$filters," == *",NUMATopologyFilter,"* ]]; then
                filters=${filters/NUMATopologyFilter/RealtimeFilter,NUMATopologyFilter}
            else
                filters="$filters,RealtimeFilter,NUMATopologyFilter"
            fi
        fi
        iniset "$NOVA_CONF" filter_scheduler enabled_filters "$filters"
        # weight_classes replaces the whole list: keep nova's weighers.
        iniset "$NOVA_CONF" filter_scheduler weight_classes \
            nova.scheduler.weights.all_weighers,nova_rt.scheduler.weights.RealtimeWeigher
        # Every compute reports PCPU: Nova's fallback query (VCPU in place
        # of PCPU) only lets concurrent pinned requests take a host whose
        # last PCPU is gone, to fail its claim there and end in "Exceeded
        # maximum number of retries" instead of No valid host (seen in the
        # faults tier's race).
        iniset "$NOVA_CONF" workarounds disable_fallback_pcpu_query True
    fi
}

function configure_nova_rt_tempest {
    iniset "$TEMPEST_CONFIG" service_available nova_rt True
    iniset "$TEMPEST_CONFIG" nova_rt host_access "$NOVA_RT_TEMPEST_HOST_ACCESS"
    iniset "$TEMPEST_CONFIG" nova_rt dedicated_cpus "$NOVA_RT_CPU_DEDICATED_SET"
    iniset "$TEMPEST_CONFIG" nova_rt lab_mode "$NOVA_RT_LAB_MODE"
    iniset "$TEMPEST_CONFIG" nova_rt metrics_file "$NOVA_RT_METRICS_FILE"
    if [[ "$NOVA_RT_TEMPEST_HOST_ACCESS" == "ssh" ]]; then
        iniset "$TEMPEST_CONFIG" nova_rt ssh_user "$NOVA_RT_TEMPEST_SSH_USER"
        iniset "$TEMPEST_CONFIG" nova_rt ssh_key_file "$NOVA_RT_TEMPEST_SSH_KEY"
        iniset "$TEMPEST_CONFIG" nova_rt ssh_hosts "$NOVA_RT_TEMPEST_SSH_HOSTS"
    fi
    if [[ "$NOVA_RT_TEMPEST_HOST_ACCESS" == "command" ]]; then
        iniset "$TEMPEST_CONFIG" nova_rt host_command "$NOVA_RT_TEMPEST_HOST_COMMAND"
    fi
    if [[ -n "$NOVA_RT_TEMPEST_CLOUD_COMMAND" ]]; then
        iniset "$TEMPEST_CONFIG" nova_rt cloud_command "$NOVA_RT_TEMPEST_CLOUD_COMMAND"
    fi
    iniset "$TEMPEST_CONFIG" nova_rt shared_cpus "$NOVA_RT_CPU_SHARED_SET"
}

function create_nova_rt_flavor {
    # Placement's first cut (nova_rt/scheduler/prefilter.py): a real-time
    # flavor requires the trait of the hosts it may use, the lab trait on a
    # lab cloud; RealtimeFilter then judges only those hosts.
    local trait=CUSTOM_NOVA_RT_READY
    if [[ "$NOVA_RT_LAB_MODE" == "True" ]]; then
        trait=CUSTOM_NOVA_RT_LAB
    fi
    if ! openstack --os-cloud "$NOVA_RT_ADMIN_CLOUD" flavor show rt.small >/dev/null 2>&1; then
        openstack --os-cloud "$NOVA_RT_ADMIN_CLOUD" flavor create rt.small \
            --vcpus 2 --ram 512 --disk 1 \
            --property hw:cpu_policy=mixed \
            --property hw:cpu_realtime=yes \
            --property hw:cpu_realtime_mask=^0 \
            --property rt:vcpu_priority=10 \
            --property rt:host_kernel=any \
            --property "trait:$trait=required"
    fi
}

if [[ "$1" == "stack" ]]; then
    case "$2" in
        install)
            echo_summary "Installing nova-rt"
            install_nova_rt
            ;;
        post-config)
            echo_summary "Configuring nova-rt"
            configure_nova_rt
            ;;
        extra)
            if is_service_enabled n-api && [[ "$NOVA_RT_CREATE_FLAVOR" == "True" ]]; then
                echo_summary "Creating the rt.small flavor"
                create_nova_rt_flavor
            fi
            if is_service_enabled n-cpu; then
                # Record the audit in the devstack log; not-ready is
                # expected on a CI VM and must not fail the stack.
                nova-rt host check --config-file "${NOVA_CPU_CONF:-$NOVA_CONF}" || true
            fi
            ;;
        test-config)
            if is_service_enabled tempest; then
                echo_summary "Configuring tempest for nova-rt"
                configure_nova_rt_tempest
            fi
            ;;
    esac
fi

if [[ "$1" == "clean" ]]; then
    pip_uninstall nova-rt || true
fi
