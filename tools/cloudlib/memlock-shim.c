/*
 * Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at
 *
 *      http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
 * License for the specific language governing permissions and limitations
 * under the License.
 *
 * TEST ENVIRONMENT ONLY -- loaded into the libvirtd that tools/cloud starts,
 * never into a production libvirtd.
 *
 * Nova gives every real-time guest <memoryBacking><locked/>, so libvirt
 * raises the QEMU process's RLIMIT_MEMLOCK to "unlimited" before starting
 * it. The sandboxes this project's CI runs in have no CAP_SYS_RESOURCE, not
 * even in the bounding set, so that prlimit() fails with EPERM and the guest
 * never starts. This library turns exactly that failure (RLIMIT_MEMLOCK,
 * EPERM) into success; every other call is passed through unchanged. QEMU
 * itself then runs as root without dropped capabilities (qemu.conf block
 * written by tools/cloud) and its mlockall() succeeds.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>

typedef int (*prlimit_fn)(pid_t, enum __rlimit_resource,
                          const struct rlimit *, struct rlimit *);

/* libvirt links against prlimit64; prlimit is the same call on 64-bit. */
static int shimmed(const char *name, pid_t pid,
                   enum __rlimit_resource resource,
                   const struct rlimit *new_limit, struct rlimit *old_limit)
{
    prlimit_fn real = (prlimit_fn)dlsym(RTLD_NEXT, name);
    int rc;

    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    rc = real(pid, resource, new_limit, old_limit);
    if (rc < 0 && errno == EPERM && resource == RLIMIT_MEMLOCK && new_limit) {
        fprintf(stderr, "nova-rt memlock shim: %s(%d, RLIMIT_MEMLOCK) EPERM "
                "ignored (test environment)\n", name, (int)pid);
        errno = 0;
        return 0;
    }
    return rc;
}

int prlimit(pid_t pid, enum __rlimit_resource resource,
            const struct rlimit *new_limit, struct rlimit *old_limit)
{
    return shimmed("prlimit", pid, resource, new_limit, old_limit);
}

int prlimit64(pid_t pid, enum __rlimit_resource resource,
              const struct rlimit64 *new_limit, struct rlimit64 *old_limit)
{
    return shimmed("prlimit64", pid, resource,
                   (const struct rlimit *)new_limit,
                   (struct rlimit *)old_limit);
}
