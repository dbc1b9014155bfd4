"""Alert catalogue: the control plane: the API server, etcd, the scheduler,
the controller manager, CoreDNS, and the certificates the kubelets and the
API server's clients hold.

Every entry requires the scrape job it reads (gates.py): the API server's
from enterprise and CoreDNS's from intermediate, the others where a profile
turns them on (controlPlane.<job>), since managed clusters hide them.

Entries as described in rules/alerts/__init__.py; the order here is the
order of the rules in their group."""

from __future__ import annotations

from ..types import Runbook
from .spec import AlertSpec

_WEEK = 7 * 24 * 3600
_API = 'job="apiserver"'
_ETCD = 'job="etcd"'
_DNS = 'job="coredns"'


def _quantile(metric: str, selector: str, by: str) -> str:
    return f"histogram_quantile(0.99, sum by ({by}, le) (rate({metric}{{{selector}}}[5m]))) > <<threshold>>"


def _down(name: str, job: str, what: str, requires: str) -> AlertSpec:
    return AlertSpec(
        name=name,
        min_tier="basic",
        scope="cluster",
        group="control-plane",
        dashboard="d/obs-control-plane",
        severity="critical",
        threshold=None,
        for_="15m",
        # Every instance down, or none found at all (which TargetDown cannot
        # see); `absent(…) - 1` keeps absent's job label and reads 0 instances up.
        expr=f'max by (job) (up{{job="{job}"}}) == 0\nor\nabsent(up{{job="{job}"}}) - 1',
        summary=f"No {what} answers",
        description=f"No {what} has been up for 15 minutes ({{{{ $value }}}} up, or none discovered).",
        runbook=Runbook(
            meaning=f"No {what} instance is up: the cluster may stop doing what it does (see the alert's summary).",
            causes=(
                f"The {what} static pods are failing (certificates, flags, etcd reachability)",
                "Its metrics port is bound to 127.0.0.1 (kubeadm's default) or blocked by a firewall",
                "The managed control plane does not expose it: turn the job off (profile controlPlane)",
            ),
            checks=(
                f"`kubectl get pods -n kube-system -l component={job}`",
                "Prometheus UI → Status → Targets: the job's discovery and errors",
            ),
            queries=(f'up{{job="{job}"}}',),
        ),
        requires=(requires,),
    )


ALERTS: tuple[AlertSpec, ...] = (
    AlertSpec(
        name="KubeAPIErrorsHigh",
        min_tier="intermediate",
        scope="cluster",
        group="control-plane",
        dashboard="d/obs-control-plane",
        severity="warning",
        threshold=0.03,
        for_="10m",
        expr=(
            f'(\n  sum by (job) (rate(apiserver_request_total{{{_API}, code=~"5.."}}[5m]))\n'
            f"/\n  sum by (job) (rate(apiserver_request_total{{{_API}}}[5m]))\n) > <<threshold>>"
        ),
        summary="The API server answers with server errors",
        description="{{ $value | humanizePercentage }} of API requests end in a 5xx answer.",
        runbook=Runbook(
            meaning="The API server fails a share of its requests: controllers, kubectl and admission all see errors.",
            causes=("etcd slow or unavailable", "An admission webhook failing or timing out", "API server overload"),
            checks=(
                "`kubectl get --raw /readyz?verbose`",
                "Which resources and verbs fail: the query below by resource, verb and code",
            ),
            queries=(f'sum by (resource, verb, code) (rate(apiserver_request_total{{{_API}, code=~"5.."}}[5m]))',),
        ),
        requires=("job:apiserver",),
    ),
    AlertSpec(
        name="KubeAPILatencyHigh",
        min_tier="intermediate",
        scope="cluster",
        group="control-plane",
        dashboard="d/obs-control-plane",
        severity="warning",
        threshold=1.0,
        for_="10m",
        # Single-object reads and writes: LIST of a large collection, WATCH and
        # CONNECT (exec, logs) are long by nature.
        expr=_quantile("apiserver_request_duration_seconds_bucket", f'{_API}, verb=~"GET|POST|PUT|PATCH|DELETE"', "job, verb"),
        summary="The API server is slow to answer {{ $labels.verb }} requests",
        description="The 99th percentile of {{ $labels.verb }} requests takes {{ $value | humanizeDuration }}.",
        runbook=Runbook(
            meaning="Reads and writes of single objects are slow: deployments, scaling and kubectl all lag.",
            causes=("etcd latency (see its fsync and commit alerts)", "A slow admission webhook", "CPU starvation of the API server"),
            checks=("The latency by resource (query below)", "`apiserver_admission_webhook_admission_duration_seconds` by webhook"),
            queries=(
                f"histogram_quantile(0.99, sum by (resource, verb, le) (rate(apiserver_request_duration_seconds_bucket{{{_API}}}[5m])))",
            ),
        ),
        requires=("job:apiserver",),
    ),
    AlertSpec(
        name="KubeClientCertificateExpiring",
        min_tier="intermediate",
        scope="cluster",
        group="control-plane",
        dashboard="d/obs-control-plane",
        severity="warning",
        threshold=float(_WEEK),
        for_="5m",
        expr=(
            "histogram_quantile(0.01, sum by (job, le) "
            f"(rate(apiserver_client_certificate_expiration_seconds_bucket{{{_API}}}[5m]))) < <<threshold>>\n"
            f"and on (job)\nsum by (job) (rate(apiserver_client_certificate_expiration_seconds_count{{{_API}}}[5m])) > 0"
        ),
        summary="A client certificate of the API server expires within a week",
        description=("Clients are authenticating to the API server with a certificate that expires in {{ $value | humanizeDuration }}."),
        runbook=Runbook(
            meaning="Some client (a kubelet, a controller, an admin kubeconfig) uses a certificate about to expire; "
            "once it does, that client is locked out.",
            causes=("Certificate rotation disabled or failing", "A long-lived kubeconfig issued a year ago"),
            checks=("`kubeadm certs check-expiration` on a control-plane node", "Kubelets: rotateCertificates and their CSRs"),
            queries=("apiserver_client_certificate_expiration_seconds_count",),
        ),
        requires=("job:apiserver",),
    ),
    AlertSpec(
        name="KubeletCertificateExpiring",
        min_tier="intermediate",
        scope="cluster",
        group="control-plane",
        dashboard="d/obs-control-plane",
        severity="warning",
        threshold=float(_WEEK),
        for_="5m",
        expr=(
            'min by (node) (kubelet_certificate_manager_client_ttl_seconds{job="kubelet"}) < <<threshold>>\n'
            "or\n"
            'min by (node) (kubelet_certificate_manager_server_ttl_seconds{job="kubelet"}) < <<threshold>>'
        ),
        summary="A kubelet certificate on {{ $labels.node }} expires within a week",
        description="The kubelet of {{ $labels.node }} holds a certificate that expires in {{ $value | humanizeDuration }}.",
        runbook=Runbook(
            meaning="A kubelet's client certificate (to the API server) or serving certificate is about to expire; "
            "then the node goes NotReady, or logs, exec and metrics stop.",
            causes=("Rotation disabled (rotateCertificates, serverTLSBootstrap)", "Pending CSRs nobody approves"),
            checks=("`kubectl get csr` (pending kubelet-serving requests)", "The kubelet's logs for certificate_manager"),
            queries=('kubelet_certificate_manager_client_ttl_seconds{job="kubelet"}',),
        ),
        requires=("job:kubelet",),
    ),
    AlertSpec(
        name="EtcdNoLeader",
        min_tier="basic",
        scope="cluster",
        group="control-plane",
        dashboard="d/obs-control-plane",
        severity="critical",
        threshold=None,
        for_="1m",
        expr=f"max by (job, pod) (etcd_server_has_leader{{{_ETCD}}}) == 0",
        summary="etcd member {{ $labels.pod }} has no leader",
        description="{{ $labels.pod }} sees no leader ({{ $value }}): it serves no writes, and the API server behind it fails.",
        runbook=Runbook(
            meaning="An etcd member lost its leader: without quorum the cluster's state cannot change.",
            causes=("A majority of members down or partitioned", "Disk so slow that heartbeats time out"),
            checks=("`etcdctl endpoint status --cluster -w table`", "The members' logs (elections, heartbeat timeouts)"),
            queries=(f"etcd_server_has_leader{{{_ETCD}}}",),
        ),
        requires=("job:etcd",),
    ),
    AlertSpec(
        name="EtcdLeaderChangesFrequent",
        min_tier="intermediate",
        scope="cluster",
        group="control-plane",
        dashboard="d/obs-control-plane",
        severity="warning",
        threshold=4.0,
        for_="5m",
        expr=f"max by (job) (increase(etcd_server_leader_changes_seen_total{{{_ETCD}}}[15m])) >= <<threshold>>",
        summary="etcd changes leader often",
        description="etcd changed leader {{ $value }} times in 15 minutes; each change stalls writes.",
        runbook=Runbook(
            meaning="Repeated elections: every one pauses writes and shows up as API latency.",
            causes=("Slow disks (fsync)", "Network latency or loss between members", "CPU starvation of the members"),
            checks=("The fsync and commit latencies", "Round-trip time between control-plane nodes"),
            queries=(f"increase(etcd_server_leader_changes_seen_total{{{_ETCD}}}[1h])",),
        ),
        requires=("job:etcd",),
    ),
    AlertSpec(
        name="EtcdFsyncSlow",
        min_tier="intermediate",
        scope="cluster",
        group="control-plane",
        dashboard="d/obs-control-plane",
        severity="warning",
        threshold=0.5,
        for_="10m",
        expr=_quantile("etcd_disk_wal_fsync_duration_seconds_bucket", _ETCD, "job, pod"),
        summary="etcd member {{ $labels.pod }} syncs its log slowly",
        description="The 99th percentile of WAL fsyncs on {{ $labels.pod }} takes {{ $value | humanizeDuration }}.",
        runbook=Runbook(
            meaning="etcd's disk is too slow for its write-ahead log: writes and elections suffer.",
            causes=("Shared or throttled disks (burst credits exhausted)", "Another process writing to the same disk"),
            checks=("The disk's latency on the node", "etcd on a dedicated SSD, as upstream recommends"),
            queries=(f"rate(etcd_disk_wal_fsync_duration_seconds_sum{{{_ETCD}}}[5m])",),
        ),
        requires=("job:etcd",),
    ),
    AlertSpec(
        name="EtcdCommitSlow",
        min_tier="intermediate",
        scope="cluster",
        group="control-plane",
        dashboard="d/obs-control-plane",
        severity="warning",
        threshold=0.25,
        for_="10m",
        expr=_quantile("etcd_disk_backend_commit_duration_seconds_bucket", _ETCD, "job, pod"),
        summary="etcd member {{ $labels.pod }} commits slowly",
        description="The 99th percentile of backend commits on {{ $labels.pod }} takes {{ $value | humanizeDuration }}.",
        runbook=Runbook(
            meaning="etcd's database commits are slow: the API server's writes wait on them.",
            causes=("Slow disks", "A large database (defragment, compact)"),
            checks=("`etcdctl endpoint status -w table` (DB size)", "The disk's latency on the node"),
            queries=(f"etcd_mvcc_db_total_size_in_bytes{{{_ETCD}}}",),
        ),
        requires=("job:etcd",),
    ),
    _down("KubeSchedulerDown", "kube-scheduler", "kube-scheduler", "job:kubeScheduler"),
    _down("KubeControllerManagerDown", "kube-controller-manager", "kube-controller-manager", "job:kubeControllerManager"),
    AlertSpec(
        name="CoreDNSErrorsHigh",
        min_tier="intermediate",
        scope="cluster",
        group="control-plane",
        dashboard="d/obs-control-plane",
        severity="warning",
        threshold=0.01,
        for_="10m",
        expr=(
            f'(\n  sum by (job) (rate(coredns_dns_responses_total{{{_DNS}, rcode="SERVFAIL"}}[5m]))\n'
            f"/\n  sum by (job) (rate(coredns_dns_responses_total{{{_DNS}}}[5m]))\n) > <<threshold>>"
        ),
        summary="CoreDNS fails lookups",
        description="{{ $value | humanizePercentage }} of DNS answers are SERVFAIL.",
        runbook=Runbook(
            meaning="Name resolution fails for a share of lookups: every service that resolves names sees errors.",
            causes=("The upstream resolvers failing or unreachable", "CoreDNS pods overloaded", "A broken Corefile"),
            checks=("`kubectl logs -n kube-system -l k8s-app=kube-dns`", "Errors by zone (query below)"),
            queries=(f"sum by (zone, rcode) (rate(coredns_dns_responses_total{{{_DNS}}}[5m]))",),
        ),
        requires=("job:coreDns",),
    ),
    AlertSpec(
        name="CoreDNSLatencyHigh",
        min_tier="intermediate",
        scope="cluster",
        group="control-plane",
        dashboard="d/obs-control-plane",
        severity="warning",
        threshold=1.0,
        for_="10m",
        expr=_quantile("coredns_dns_request_duration_seconds_bucket", _DNS, "job"),
        summary="CoreDNS answers slowly",
        description="The 99th percentile of DNS lookups takes {{ $value | humanizeDuration }}.",
        runbook=Runbook(
            meaning="DNS lookups are slow: every new connection in the cluster waits on them.",
            causes=("Slow upstream resolvers", "Too few CoreDNS replicas for the query rate", "ndots:5 search-path amplification"),
            checks=("Latency by server and zone (query below)", "CoreDNS CPU throttling"),
            queries=(
                f"histogram_quantile(0.99, sum by (server, zone, le) (rate(coredns_dns_request_duration_seconds_bucket{{{_DNS}}}[5m])))",
            ),
        ),
        requires=("job:coreDns",),
    ),
)
