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
"""Real-time priorities: the defaults, the cap, and the one rule that ties
a guest's vCPUs to the host's kernel threads.

A SCHED_FIFO vCPU that never sleeps starves every thread of its CPU with a
lower priority. On an isolated CPU the threads that must still run are the
per-CPU softirq, timer and RCU threads (ksoftirqd/N, ktimers/N, rcuc/N): they
have to stay strictly above every real-time thread nova-rt puts there. The
host audit, the host plan, the published facts and the scheduler all ask
this module, so the rule is written once.
"""

PRIORITY_MIN, PRIORITY_MAX = 1, 99

# [nova_rt] default_vcpu_priority and max_vcpu_priority. 49 stays below the
# priority 50 a PREEMPT_RT kernel gives its threaded interrupt handlers.
DEFAULT_VCPU_PRIORITY = 1
DEFAULT_MAX_VCPU_PRIORITY = 49


def kthread_priority_above(vcpu_priority):
    """The priority the essential kernel threads need over vCPUs running at
    vcpu_priority: one above, within SCHED_FIFO's range.
    """
    return min(vcpu_priority + 1, PRIORITY_MAX)


def effective_priority(kthread):
    """A kernel thread's real-time priority; 0 outside the real-time
    classes, where any SCHED_FIFO vCPU can starve it.
    """
    return kthread.priority if kthread.is_rt else 0


def lowest_kthread_priority(kthreads, cpus):
    """The lowest effective_priority of the essential kernel threads
    bound to cpus; None when none is bound there.
    """
    bound = [effective_priority(t) for t in kthreads if t.cpu in cpus]
    return min(bound) if bound else None


def below_kthreads(priority, kthread_priority):
    """Can real-time threads at priority run beside kernel threads
    whose lowest priority is kthread_priority (None: none there)?
    """
    return kthread_priority is None or priority < kthread_priority
