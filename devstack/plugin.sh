#!/bin/bash
# devstack plugin for nova-rt: installs the package on every node and writes
# the nova.conf of doc/source/deploy.rst ("Deploying it" of the contract).

function install_nova_rt {
    setup_develop "$NOVA_RT_DIR"
}

function configure_nova_rt {
    iniset "$NOVA_CONF" nova_rt require_preempt_rt "$NOVA_RT_REQUIRE_PREEMPT_RT"

    if is_service_enabled n-cpu && [[ "$NOVA_RT_ENABLE_DRIVER" == "True" ]]; then
        local cpu_conf=$NOVA_CONF
        if [[ -n "${NOVA_CPU_CONF:-}" && -f "$NOVA_CPU_CONF" ]]; then
            cpu_conf=$NOVA_CPU_CONF
        fi
        iniset "$cpu_conf" DEFAULT compute_driver nova_rt.driver.RealtimeLibvirtDriver
        iniset "$cpu_conf" nova_rt require_preempt_rt "$NOVA_RT_REQUIRE_PREEMPT_RT"
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
    fi
}

function create_nova_rt_flavor {
    if ! openstack --os-cloud devstack-admin flavor show rt.small >/dev/null 2>&1; then
        openstack --os-cloud devstack-admin flavor create rt.small \
            --vcpus 2 --ram 512 --disk 1 \
            --property hw:cpu_policy=dedicated \
            --property hw:cpu_realtime=yes \
            --property hw:cpu_realtime_mask=^0 \
            --property rt:vcpu_priority=10 \
            --property rt:host_kernel=any
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
                nova-rt host check --config-file "$NOVA_CONF" || true
            fi
            ;;
    esac
fi

if [[ "$1" == "clean" ]]; then
    pip_uninstall nova-rt || true
fi
