"""Alert catalogue: Kubernetes workloads: pods, containers, controllers and their volumes, from kube-state-metrics and cAdvisor.

Entries as described in rules/alerts/__init__.py; the order here is the
order of the rules in their group."""

from __future__ import annotations

from .. import recordings as rec
from ..types import Runbook
from .spec import KSM, AlertSpec

ALERTS: tuple[AlertSpec, ...] = (
    AlertSpec(
        name="KubePodCrashLooping",
        min_tier="basic",
        scope="cluster",
        group="kubernetes",
        dashboard="d/obs-use",
        severity="critical",
        threshold=None,
        for_="15m",
        expr=f'max_over_time(kube_pod_container_status_waiting_reason{{{KSM}, reason="CrashLoopBackOff"}}[5m]) >= 1',
        summary="{{ $labels.namespace }}/{{ $labels.pod }} is crash-looping",
        description="Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} is in CrashLoopBackOff ({{ $value }}).",
        runbook=Runbook(
            meaning="A container keeps exiting and Kubernetes backs off restarting it.",
            causes=(
                "A bad configuration or missing Secret at start-up",
                "An OOM kill at start-up",
                "A failing liveness probe",
            ),
            checks=(
                "`kubectl logs --previous <pod> -c <container>`",
                "`kubectl describe pod <pod>` (last state, exit code, events)",
            ),
            queries=('kube_pod_container_status_restarts_total{pod="<pod>"}', "kube_pod_container_status_last_terminated_reason"),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="KubeWorkloadReplicasMismatch",
        min_tier="intermediate",
        scope="cluster",
        group="kubernetes",
        dashboard="d/obs-use",
        severity="warning",
        threshold=None,
        for_="15m",
        expr=(
            f"(\n  kube_deployment_spec_replicas{{{KSM}}}\n  > kube_deployment_status_replicas_available{{{KSM}}}\n)\n"
            f"or\n(\n  kube_statefulset_replicas{{{KSM}}}\n  > kube_statefulset_status_replicas_ready{{{KSM}}}\n)"
        ),
        summary="{{ $labels.namespace }}/{{ $labels.deployment }}{{ $labels.statefulset }} runs below its desired replicas",
        description=(
            "{{ $labels.namespace }}/{{ $labels.deployment }}{{ $labels.statefulset }} has fewer available replicas than the"
            " {{ $value }} it wants."
        ),
        runbook=Runbook(
            meaning="A workload has had fewer available replicas than desired for a while: reduced capacity or redundancy.",
            causes=("Pods pending for lack of resources or a node selector", "Image pull failures", "A stuck rollout"),
            checks=("`kubectl get pods -n <namespace>` and events of the Pending/failing ones", "`kubectl rollout status`"),
            queries=("kube_deployment_status_replicas_unavailable", 'kube_pod_status_phase{phase="Pending"}'),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="KubePodRestartingFrequently",
        min_tier="advanced",
        scope="cluster",
        group="kubernetes",
        dashboard="d/obs-use",
        severity="warning",
        threshold=3,
        for_="0m",
        # increase() extrapolates: 3 restarts read as 3.04; restarts are whole.
        expr=f"round(increase(kube_pod_container_status_restarts_total{{{KSM}}}[1h])) > <<threshold>>",
        summary="{{ $labels.namespace }}/{{ $labels.pod }} restarts often",
        description="{{ $labels.container }} in {{ $labels.pod }} restarted {{ $value | humanize }} times in the last hour.",
        runbook=Runbook(
            meaning="A container restarts repeatedly without (yet) being in CrashLoopBackOff.",
            causes=("Liveness probe too strict", "OOM kills", "Crashes under specific requests"),
            checks=("`kubectl logs --previous`", "The restart reasons in `kubectl describe pod`"),
            queries=("increase(kube_pod_container_status_restarts_total[1h])",),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="ContainerCPUThrottlingHigh",
        min_tier="advanced",
        scope="cluster",
        group="resources",
        dashboard="d/obs-use",
        severity="warning",
        threshold=0.25,
        for_="15m",
        expr="<<THROTTLED>> > <<threshold>>",
        summary="{{ $labels.namespace }}/{{ $labels.pod }} is CPU-throttled",
        description="{{ $value | humanizePercentage }} of CPU periods of {{ $labels.container }} in {{ $labels.pod }} are throttled.",
        runbook=Runbook(
            meaning="The container hits its CPU limit in many scheduling periods; latency suffers even at low average CPU.",
            causes=("CPU limit too low for bursts", "A busy loop or GC storm"),
            checks=("Compare usage with the limit on the pod dashboard", "Raise or remove the CPU limit if requests are right"),
            queries=(rec.CONTAINER_THROTTLED, rec.POD_CPU),
        ),
    ),
    AlertSpec(
        name="ContainerMemoryNearLimit",
        min_tier="advanced",
        scope="cluster",
        group="resources",
        dashboard="d/obs-use",
        severity="warning",
        threshold=0.9,
        for_="15m",
        expr="<<MEMORY_OF_LIMIT>> > <<threshold>>",
        summary="{{ $labels.namespace }}/{{ $labels.pod }} is close to its memory limit",
        description="{{ $labels.container }} in {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its memory limit.",
        runbook=Runbook(
            meaning="The container's working set is close to its limit; the next spike gets it OOM-killed.",
            causes=("A leak", "A limit sized below the real need", "Caches without bound"),
            checks=("Memory trend on the pod dashboard", "Heap or profile dumps where the runtime offers them"),
            queries=(rec.CONTAINER_MEMORY_OF_LIMIT,),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="ContainerOOMKilled",
        min_tier="advanced",
        scope="cluster",
        group="resources",
        dashboard="d/obs-use",
        severity="warning",
        threshold=None,
        for_="0m",
        expr=(
            f"round(increase(kube_pod_container_status_restarts_total{{{KSM}}}[15m])) > 0\n"
            "and on (namespace, pod, container)\n"
            f'kube_pod_container_status_last_terminated_reason{{{KSM}, reason="OOMKilled"}} == 1'
        ),
        summary="{{ $labels.namespace }}/{{ $labels.pod }} was OOM-killed",
        description=(
            "{{ $labels.container }} in {{ $labels.pod }} restarted {{ $value | humanize }} times in 15m, last time for lack of memory."
        ),
        runbook=Runbook(
            meaning="The kernel killed the container for exceeding its memory limit.",
            causes=("Memory limit too low", "A leak", "A burst of large requests"),
            checks=("`kubectl describe pod <pod>` (Last State: OOMKilled)", "Working set before the kill"),
            queries=(rec.CONTAINER_MEMORY_OF_LIMIT, "kube_pod_container_status_last_terminated_reason"),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="PersistentVolumeAlmostFull",
        min_tier="basic",
        scope="cluster",
        group="capacity",
        dashboard="d/obs-use",
        severity="critical",
        threshold=0.97,
        for_="5m",
        expr="<<PVC_USED>> > <<threshold>>",
        summary="Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is almost full",
        description="{{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full.",
        runbook=Runbook(
            meaning="A persistent volume is about to run out of space; its workload will fail writes.",
            causes=("Data growth beyond the volume's sizing", "Retention or compaction not running"),
            checks=(
                "Expand the PVC if its StorageClass allows (`allowVolumeExpansion`)",
                "Find what grew: `kubectl exec <pod> -- du -sh <mount>/*`",
            ),
            queries=(f'{rec.PVC_USED}{{persistentvolumeclaim="<pvc>"}}', "kubelet_volume_stats_available_bytes"),
        ),
    ),
    AlertSpec(
        name="PersistentVolumeFillingUp",
        min_tier="intermediate",
        scope="cluster",
        group="capacity",
        dashboard="d/obs-use",
        severity="warning",
        threshold=0.85,
        for_="1h",
        expr=(
            "<<PVC_USED>> > <<threshold>>\n"
            "and on (namespace, persistentvolumeclaim)\n"
            'predict_linear(kubelet_volume_stats_available_bytes{job="kubelet"}[6h], 4 * 24 * 3600) < 0'
        ),
        summary="Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} fills up within 4 days",
        description="{{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full and growing.",
        runbook=Runbook(
            meaning="At the growth rate of the last 6 hours the volume is full within four days.",
            causes=("Growth in data or retention", "A runaway writer"),
            checks=("Plan an expansion now, while there is time", "Check retention settings of the workload"),
            queries=("predict_linear(kubelet_volume_stats_available_bytes[6h], 4 * 24 * 3600)",),
        ),
    ),
    AlertSpec(
        name="PrivilegedPodAdmitted",
        min_tier="enterprise",
        scope="cluster",
        group="security",
        dashboard="d/obs-security",
        # Routine in namespaces that run node agents, so it informs (24 h
        # repeat) rather than pages; the security team reviews the trend.
        severity="info",
        threshold=None,
        for_="0m",
        expr=(
            "sum by (policy_level, request_operation) (\n"
            '  increase(pod_security_evaluations_total{job="apiserver", decision="allow", mode="enforce",'
            ' policy_level="privileged", resource="pod", request_operation="create"}[5m])\n'
            ") > 0"
        ),
        summary="Pods admitted without Pod Security restrictions",
        description="{{ $value | humanize }} pods were admitted in 5m under the privileged Pod Security level.",
        runbook=Runbook(
            meaning="The API server admitted pods in a namespace whose Pod Security level is privileged: they may run privileged "
            "or share host namespaces.",
            causes=("Expected node agents (CNI, node-exporter) rolling out", "A namespace labelled privileged without review"),
            checks=(
                "`kubectl get ns -l pod-security.kubernetes.io/enforce=privileged`",
                "Recent pod creations in those namespaces",
            ),
            queries=('increase(pod_security_evaluations_total{policy_level="privileged"}[1h])',),
        ),
        requires=("job:apiserver",),
    ),
    AlertSpec(
        name="KubeJobFailed",
        min_tier="intermediate",
        scope="cluster",
        group="kubernetes",
        dashboard="d/obs-use",
        severity="warning",
        threshold=None,
        for_="15m",
        expr=f'max by (namespace, job_name) (kube_job_failed{{{KSM}, condition="true"}}) > 0',
        summary="Job {{ $labels.namespace }}/{{ $labels.job_name }} failed",
        description=(
            "{{ $labels.namespace }}/{{ $labels.job_name }} reached its backoff limit or deadline and is marked failed"
            " ({{ $value }}); it will not retry."
        ),
        runbook=Runbook(
            meaning="A Job gave up: the work it should have done (a backup, a migration, a CronJob run) did not happen.",
            causes=("The container exits non-zero (a bug, a missing Secret, a dependency down)", "activeDeadlineSeconds exceeded"),
            checks=(
                "`kubectl describe job -n <namespace> <job>` and the logs of its last pod",
                "For a CronJob run: whether the next run succeeds; delete the failed Job once understood",
            ),
            queries=(f"kube_job_status_failed{{{KSM}}}", f'kube_job_failed{{{KSM}, condition="true"}}'),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="KubeHpaMaxedOut",
        min_tier="intermediate",
        scope="cluster",
        group="kubernetes",
        dashboard="d/obs-use",
        severity="warning",
        threshold=None,
        for_="15m",
        expr=(
            f"kube_horizontalpodautoscaler_status_current_replicas{{{KSM}}}\n"
            f"  >= kube_horizontalpodautoscaler_spec_max_replicas{{{KSM}}}\n"
            f"and\nkube_horizontalpodautoscaler_spec_max_replicas{{{KSM}}}\n"
            f"  > kube_horizontalpodautoscaler_spec_min_replicas{{{KSM}}}"
        ),
        summary="{{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} runs at its maximum replicas",
        description=(
            "The autoscaler {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has held its maximum of"
            " {{ $value }} replicas for 15 minutes: it cannot add capacity if load grows further."
        ),
        runbook=Runbook(
            meaning="An HPA has been pinned at maxReplicas: the workload may be under-provisioned for its load.",
            causes=("A real increase in load", "A regression making each request more expensive", "maxReplicas set too low"),
            checks=("`kubectl describe hpa -n <namespace> <hpa>` (current metrics against targets)", "The service's latency and errors"),
            queries=(f"kube_horizontalpodautoscaler_status_desired_replicas{{{KSM}}}",),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="KubeRolloutStuck",
        min_tier="intermediate",
        scope="cluster",
        group="kubernetes",
        dashboard="d/obs-use",
        severity="warning",
        threshold=None,
        for_="15m",
        # Deployments say so themselves once progressDeadlineSeconds passes;
        # StatefulSets and DaemonSets only show updated replicas that stop moving.
        expr=(
            f'max by (namespace, deployment) (kube_deployment_status_condition{{{KSM}, condition="Progressing", status="false"}}) > 0\n'
            "or\n(\n"
            f"  kube_statefulset_status_replicas_updated{{{KSM}}} < kube_statefulset_replicas{{{KSM}}}\n"
            f"  and changes(kube_statefulset_status_replicas_updated{{{KSM}}}[15m]) == 0\n"
            ")\nor\n(\n"
            f"  kube_daemonset_status_updated_number_scheduled{{{KSM}}} < kube_daemonset_status_desired_number_scheduled{{{KSM}}}\n"
            f"  and changes(kube_daemonset_status_updated_number_scheduled{{{KSM}}}[15m]) == 0\n"
            ")"
        ),
        summary="Rollout of {{ $labels.namespace }}/{{ $labels.deployment }}{{ $labels.statefulset }}{{ $labels.daemonset }} is stuck",
        description=(
            "{{ $labels.namespace }}/{{ $labels.deployment }}{{ $labels.statefulset }}{{ $labels.daemonset }} has not progressed"
            " for 15 minutes ({{ $value }}): the new version is not fully rolled out."
        ),
        runbook=Runbook(
            meaning="A rollout stopped half-way: old and new versions run side by side, and the new one may be failing.",
            causes=(
                "New pods crash or never become ready (a bad image, config or probe)",
                "No room to schedule the new pods (resources, node selectors, PVC zones)",
                "A PodDisruptionBudget blocking the StatefulSet's or DaemonSet's update",
            ),
            checks=("`kubectl rollout status -n <namespace> <kind>/<name>`", "Events and logs of the newest pods"),
            queries=(f"kube_deployment_status_replicas_unavailable{{{KSM}}}", f"kube_statefulset_status_update_revision{{{KSM}}}"),
        ),
        requires=("kubeStateMetrics",),
    ),
)
