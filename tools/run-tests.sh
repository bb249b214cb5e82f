#!/usr/bin/env bash
# Run nova-rt's test suite: unit, functional, then the real libvirt/QEMU
# tier. Creates .venv (or $NOVA_RT_VENV) when missing and installs nova-rt
# with its test requirements into it.
#
#   tools/run-tests.sh              # unit, functional and real
#   tools/run-tests.sh unit         # one tier: unit, functional or real
#   tools/run-tests.sh integration  # a real cloud (tools/cloud up), nova-rt's
#                                   # tempest plugin against it, cloud down
#   tools/run-tests.sh faults       # the same cloud under faults and load
#                                   # (nova_rt_tempest_plugin.tests.faults)
#   tools/run-tests.sh integration faults   # both on one cloud, then down
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
venv=${NOVA_RT_VENV:-$top/.venv}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
stamp="$venv/.nova-rt-installed"
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || \
        [ test-requirements.txt -nt "$stamp" ] || [ setup.cfg -nt "$stamp" ]; then
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r requirements.txt -r test-requirements.txt
    "$venv/bin/pip" install -q --no-deps -e .
    touch "$stamp"
fi

tiers=${*:-unit functional real}
for tier in $tiers; do
    case "$tier" in
        unit|functional|real|integration|faults) ;;
        *) echo "run-tests.sh: unknown tier '$tier' (unit, functional, real, integration, faults)" >&2
           exit 2 ;;
    esac
done

# stestr's closing totals of the tier just run ("0" when absent).
count() {
    local n
    n=$(sed -n "s/^ - $1: //p" "$log" | tail -n 1)
    echo "${n:-0}"
}

# The cloud tiers, integration and faults: cloud up (once for both),
# tempest with nova-rt's plugin (one test at a time: the computes have few
# CPUs), cloud down after the last of them whatever happened.
cloud_up=0 cloud_reusable=0
cloud_all_running() {
    local out
    out=$("$top/tools/cloud" status) || return 1
    ! grep -qv ' running (pid ' <<<"$out"
}
cloud_down() {
    if [ "$cloud_up" = 1 ]; then
        cloud_up=0 cloud_reusable=0
        "$top/tools/cloud" down || status=1
    fi
}
# The tests of each cloud tier: the faults package, and all the others.
declare -A tempest_regex=(
    [integration]='^nova_rt_tempest_plugin\.tests\.(?!faults\.)'
    [faults]='^nova_rt_tempest_plugin\.tests\.faults\.'
)
last_cloud_tier=
for tier in $tiers; do
    case "$tier" in integration|faults) last_cloud_tier=$tier ;; esac
done
run_cloud_tier() {
    local tier=$1 dir=${NOVA_RT_CLOUD_DIR:-$top/.artifacts/cloud}
    # NOVA_RT_CLOUD_COMPUTES: how many compute hosts (tools/cloud up
    # --computes); the last cloud's number, else 1.
    # The tier after the first goes on with the cloud this run brought up
    # while every service of it runs: up again would redo the schema
    # migrations, the plugin's install and the bootstrap (90 s) for
    # nothing. Otherwise up, which resumes what is missing.
    if [ "$cloud_reusable" = 1 ] && cloud_all_running; then
        echo "$tier: on the cloud of the tier before (every service running)"
    elif ! "$top/tools/cloud" up ${NOVA_RT_CLOUD_COMPUTES:+--computes "$NOVA_RT_CLOUD_COMPUTES"}; then
        echo "$tier: the cloud did not come up (logs in $dir/logs)"
        return 1
    fi
    local venv_cloud=${NOVA_RT_CLOUD_VENV:-$top/.venv-cloud}
    # A workspace registry of its own: tempest refuses to register the
    # same directory twice in ~/.tempest.
    rm -rf "$dir/tempest" "$dir/tempest-workspace.yaml"
    if ! "$venv_cloud/bin/tempest" init \
            --workspace-path "$dir/tempest-workspace.yaml" \
            --name nova-rt-integration "$dir/tempest" \
            >"$dir/logs/tempest-init.log" 2>&1; then
        echo "$tier: tempest init failed:"
        tail -n 20 "$dir/logs/tempest-init.log"
        return 1
    fi
    cp "$dir/tempest.conf" "$dir/tempest/etc/tempest.conf"
    # NOVA_RT_LOAD_CYCLES: the faults tier's load test's create/delete
    # cycles ([nova_rt] load_cycles; 200 unless told).
    "$venv_cloud/bin/python" "$top/tools/cloudlib/ini.py" set \
        "$dir/tempest/etc/tempest.conf" nova_rt figures_dir \
        "${NOVA_RT_FIGURES_DIR:-$top/.artifacts/figures}"
    if [ -n "${NOVA_RT_LOAD_CYCLES:-}" ]; then
        "$venv_cloud/bin/python" "$top/tools/cloudlib/ini.py" set \
            "$dir/tempest/etc/tempest.conf" nova_rt load_cycles \
            "$NOVA_RT_LOAD_CYCLES"
    fi
    (cd "$dir/tempest" &&
        timeout "${NOVA_RT_TEMPEST_TIMEOUT:-2400}" "$venv_cloud/bin/tempest" \
            run --concurrency 1 --regex "${tempest_regex[$tier]}")
}

passed=0 failed=0 skipped=0 status=0
log=$(mktemp) failures=$(mktemp)
trap 'cloud_down; rm -f "$log" "$failures"' EXIT
for tier in $tiers; do
    echo "=== nova-rt $tier tests ==="
    tier_started=$SECONDS
    args=()
    case "$tier" in
        functional)
            # The functional scenarios write the domains the real tier
            # checks: start from none, so no stale scenario is checked.
            rm -rf "${NOVA_RT_DOMAIN_DIR:-$top/.artifacts/domains}" ;;
        real)
            # One libvirtd for the whole tier.
            args=(--serial) ;;
    esac
    if [ "$tier" = integration ] || [ "$tier" = faults ]; then
        # Set here, not in the piped subshell: the EXIT trap must see it.
        cloud_up=1
        if ! run_cloud_tier "$tier" 2>&1 | tee "$log"; then
            status=1
        fi
        # Under CI a skip fails unless tools/cloudlib/allowed-skips.txt
        # gives its reason (as the real tier fails on a missing need).
        if [ "${CI:-}" = true ] || [ "${NOVA_RT_CLOUD_REQUIRE:-}" = 1 ]; then
            if ! "$python" "$top/tools/cloudlib/skips.py" check \
                    "$top/tools/cloudlib/allowed-skips.txt" "$log" \
                    >"$log.skips"; then
                status=1
                sed "s/^/nova-rt failed ($tier): /" "$log.skips" >>"$failures"
            fi
            cat "$log.skips"
            rm -f "$log.skips"
        fi
        if [ "$tier" = "$last_cloud_tier" ]; then
            cloud_down
        else
            cloud_reusable=1
        fi
    elif ! "$venv/bin/stestr" --test-path "tests/$tier" run "${args[@]}" \
            2>&1 | tee "$log"; then
        status=1
    fi
    # A tier that could not even run its tests counts as failed.
    if ! grep -q '^ - Passed: ' "$log"; then
        status=1
    fi
    passed=$((passed + $(count Passed)))
    failed=$((failed + $(count Failed)))
    skipped=$((skipped + $(count Skipped)))
    # The tier's figures for the docs (tools/figures.py): its counts, its
    # time, and each passed cloud test's time.
    "$python" "$top/tools/figures.py" record "tier-$tier" \
        "tier.$tier.passed=$(count Passed)" \
        "tier.$tier.failed=$(count Failed)" \
        "tier.$tier.skipped=$(count Skipped)" \
        "tier.$tier.minutes=$(( (SECONDS - tier_started + 30) / 60 ))" \
        || status=1
    if [ "$tier" = integration ] || [ "$tier" = faults ]; then
        "$python" "$top/tools/figures.py" tests "tests-$tier" "$log" \
            || status=1
    fi
    # subunit-trace's '{N} test.id [time] ... FAILED' lines, by tier.
    sed -n "s/^{[0-9]*} \(.*\) \.\.\. FAILED\$/nova-rt failed ($tier): \1/p" \
        "$log" >>"$failures"
done
# The failed tests' names just above the totals: a CI that shows only the
# end of its output still names them.
cat "$failures"
echo "nova-rt: $passed passed, $failed failed, $skipped skipped"
exit $status
