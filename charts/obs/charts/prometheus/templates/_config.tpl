{{/*
prometheus.yml. The generator decides which jobs run and their limits
(values .scrapeJobs, .probes); this template holds only the Kubernetes
discovery mechanics, which depend on release names known at render time.

Discovery of our own components uses the EndpointSlice role filtered by
Service name and port name, restricted to the release namespace, so a
second obs release in another namespace never double-scrapes.
*/}}

{{/* Per-target limits of one job: the seeds' cardinality budget. */}}
{{- define "prometheus.jobLimits" -}}
sample_limit: {{ .sampleLimit }}
label_limit: {{ .labelLimit }}
label_name_length_limit: {{ .labelNameLengthLimit }}
label_value_length_limit: {{ .labelValueLengthLimit }}
{{- end -}}

{{/* A job scraping one of our own Services, found through its EndpointSlices. */}}
{{- define "prometheus.ownServiceJob" -}}
- job_name: {{ .job.jobName | quote }}
  {{- include "prometheus.jobLimits" .job | nindent 2 }}
  {{- with .extra }}
  {{- . | nindent 2 }}
  {{- end }}
  kubernetes_sd_configs:
    - role: endpointslice
      namespaces:
        own_namespace: true
  relabel_configs:
    - source_labels: [__meta_kubernetes_service_name, __meta_kubernetes_endpointslice_port_name]
      regex: {{ printf "%s;%s" .service .port | quote }}
      action: keep
    - source_labels: [__meta_kubernetes_namespace]
      target_label: namespace
    - source_labels: [__meta_kubernetes_pod_name]
      target_label: pod
    - source_labels: [__meta_kubernetes_pod_node_name]
      target_label: node
{{- end -}}

{{- define "prometheus.config" -}}
{{- $v := .Values -}}
{{- $jobs := $v.scrapeJobs -}}
{{- $ns := .Release.Namespace -}}
global:
  scrape_interval: {{ $v.scrapeInterval }}
  scrape_timeout: {{ $v.scrapeTimeout }}
  evaluation_interval: {{ $v.evaluationInterval }}
  external_labels:
    cluster: {{ $v.global.cluster | quote }}
    environment: {{ $v.global.environment | quote }}
    {{- if gt (int $v.replicas) 1 }}
    # Prometheus 3 expands environment variables in external labels; the
    # replica label lets Alertmanager and a query layer deduplicate HA pairs.
    prometheus_replica: ${POD_NAME}
    {{- end }}
    {{- range $v.externalLabels }}
    {{ .name }}: {{ .value | quote }}
    {{- end }}
rule_files:
  - /etc/prometheus/rules/*.yaml
alerting:
  # Both HA replicas send the same alerts; dropping the replica label makes
  # them identical so Alertmanager deduplicates them.
  alert_relabel_configs:
    - action: labeldrop
      regex: prometheus_replica
  alertmanagers:
    {{- if $v.alertmanagerDiscovery.enabled }}
    - kubernetes_sd_configs:
        - role: endpointslice
          namespaces:
            own_namespace: true
      relabel_configs:
        # Every Alertmanager replica gets every alert: clustered Alertmanagers
        # deduplicate among themselves, a load balancer in front would not.
        - source_labels: [__meta_kubernetes_service_name, __meta_kubernetes_endpointslice_port_name]
          regex: {{ printf "%s;http" (include "obs-lib.serviceName" (dict "ctx" . "service" "alertmanager")) | quote }}
          action: keep
      {{- with include "obs-lib.webPromClient" (dict "ctx" . "server" "alertmanager") | trim }}
      {{- . | nindent 6 }}
      {{- end }}
    {{- else }}
    []
    {{- end }}
{{- with $v.remoteWrite }}
# The profile's remoteWrite (generator/obsgen/artifacts/remote_write.py).
remote_write:
  {{- toYaml . | nindent 2 }}
{{- end }}
scrape_configs:
{{- if $jobs.prometheus.enabled }}
{{ include "prometheus.ownServiceJob" (dict "job" $jobs.prometheus "service" (include "obs-lib.serviceName" (dict "ctx" . "service" "prometheus")) "port" "http" "extra" (include "obs-lib.webPromClient" (dict "ctx" . "server" "prometheus") | trim)) }}
{{- end }}
{{- if $jobs.alertmanager.enabled }}
{{ include "prometheus.ownServiceJob" (dict "job" $jobs.alertmanager "service" (include "obs-lib.serviceName" (dict "ctx" . "service" "alertmanager")) "port" "http" "extra" (include "obs-lib.webPromClient" (dict "ctx" . "server" "alertmanager") | trim)) }}
{{- end }}
{{- if $jobs.nodeExporter.enabled }}
{{ include "prometheus.ownServiceJob" (dict "job" $jobs.nodeExporter "service" (include "obs-lib.serviceName" (dict "ctx" . "service" "nodeExporter")) "port" "metrics") }}
{{- end }}
{{- if $jobs.kubeStateMetrics.enabled }}
{{ include "prometheus.ownServiceJob" (dict "job" $jobs.kubeStateMetrics "service" (include "obs-lib.serviceName" (dict "ctx" . "service" "kubeStateMetrics")) "port" "http-metrics" "extra" "# kube-state-metrics reports the namespace/pod of the objects it describes;\n# those labels must win over the scrape target's own.\nhonor_labels: true") }}
{{- end }}
{{- /* The telemetry pipeline's own health: the collectors' internal
       telemetry and the log/trace stores' /metrics, through their Services.
       Loki's headless Services cover the monolithic pod and each of the
       scalable targets. */}}
{{- if $jobs.otelAgent.enabled }}
{{ include "prometheus.ownServiceJob" (dict "job" $jobs.otelAgent "service" (include "obs-lib.serviceName" (dict "ctx" . "service" "otelAgent")) "port" "metrics") }}
{{- end }}
{{- if $jobs.otelGateway.enabled }}
{{ include "prometheus.ownServiceJob" (dict "job" $jobs.otelGateway "service" (include "obs-lib.serviceName" (dict "ctx" . "service" "otelGateway")) "port" "metrics") }}
{{- end }}
{{- if $jobs.loki.enabled }}
{{ include "prometheus.ownServiceJob" (dict "job" $jobs.loki "service" (printf "%s(-read|-write|-backend)?-headless" (include "obs-lib.siblingName" (dict "ctx" . "component" "loki"))) "port" "http") }}
{{- end }}
{{- if $jobs.tempo.enabled }}
{{ include "prometheus.ownServiceJob" (dict "job" $jobs.tempo "service" (include "obs-lib.serviceName" (dict "ctx" . "service" "tempoHeadless")) "port" "http") }}
{{- end }}
{{- if $jobs.jaeger.enabled }}
{{ include "prometheus.ownServiceJob" (dict "job" $jobs.jaeger "service" (include "obs-lib.serviceName" (dict "ctx" . "service" "jaeger")) "port" "metrics") }}
{{- end }}
{{- range $name := list "kubelet" "cadvisor" }}
{{- $job := index $jobs $name }}
{{- if $job.enabled }}
# Scraped directly on each node's kubelet port with the service-account token
# (needs only nodes/metrics), not through the API-server proxy (nodes/proxy
# would grant far more).
- job_name: {{ $job.jobName | quote }}
  {{- include "prometheus.jobLimits" $job | nindent 2 }}
  scheme: https
  metrics_path: {{ ternary "/metrics/cadvisor" "/metrics" (eq $name "cadvisor") }}
  authorization:
    credentials_file: /var/run/secrets/kubernetes.io/serviceaccount/token
  tls_config:
    ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    # Kubelet serving certificates are self-signed on most distributions
    # unless serverTLSBootstrap is on; set kubelet.insecureSkipVerify=false there.
    insecure_skip_verify: {{ $v.kubelet.insecureSkipVerify }}
  kubernetes_sd_configs:
    - role: node
  relabel_configs:
    # Node labels are not copied: dozens per node would eat the label budget.
    - source_labels: [__meta_kubernetes_node_name]
      target_label: node
{{- end }}
{{- end }}
{{- if and $jobs.blackbox.enabled $v.probes }}
- job_name: {{ $jobs.blackbox.jobName | quote }}
  {{- include "prometheus.jobLimits" $jobs.blackbox | nindent 2 }}
  metrics_path: /probe
  scrape_interval: {{ $v.probeInterval }}
  static_configs:
    {{- range $v.probes }}
    - targets: [{{ .url | quote }}]
      labels:
        __param_module: {{ .module | quote }}
        module: {{ .module | quote }}
        service: {{ .service | quote }}
        namespace: {{ .namespace | quote }}
        team: {{ .team | quote }}
        endpoint: {{ .endpoint | quote }}
        {{- with .dependency }}
        dependency: {{ . | quote }}
        {{- end }}
    {{- end }}
  relabel_configs:
    - source_labels: [__address__]
      target_label: __param_target
    - source_labels: [__param_target]
      target_label: instance
    - target_label: __address__
      replacement: {{ printf "%s:%s" (include "obs-lib.serviceHost" (dict "ctx" . "service" "blackboxExporter")) (include "obs-lib.servicePort" (dict "ctx" . "service" "blackboxExporter" "port" "http")) | quote }}
{{- end }}
{{- if $jobs.apiserver.enabled }}
# The API servers, through the default/kubernetes Service, with the
# service-account token (needs get on the /metrics non-resource URL).
- job_name: {{ $jobs.apiserver.jobName | quote }}
  {{- include "prometheus.jobLimits" $jobs.apiserver | nindent 2 }}
  scheme: https
  authorization:
    credentials_file: /var/run/secrets/kubernetes.io/serviceaccount/token
  tls_config:
    ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
  kubernetes_sd_configs:
    - role: endpointslice
      namespaces:
        names: [default]
  relabel_configs:
    - source_labels: [__meta_kubernetes_service_name, __meta_kubernetes_endpointslice_port_name]
      regex: kubernetes;https
      action: keep
{{- end }}
{{- if $jobs.coreDns.enabled }}
# CoreDNS behind the kube-dns Service (the name every distribution keeps for
# compatibility), on its metrics port.
- job_name: {{ $jobs.coreDns.jobName | quote }}
  {{- include "prometheus.jobLimits" $jobs.coreDns | nindent 2 }}
  kubernetes_sd_configs:
    - role: endpointslice
      namespaces:
        names: [kube-system]
  relabel_configs:
    - source_labels: [__meta_kubernetes_service_label_k8s_app, __meta_kubernetes_endpointslice_port_name]
      regex: kube-dns;metrics
      action: keep
    - source_labels: [__meta_kubernetes_pod_name]
      target_label: pod
{{- end }}
{{- /* etcd, the scheduler and the controller manager run as static pods
       labelled component=<name> (kubeadm and most installers) on the host
       network, so the pod IP is the node's. The scheduler and the controller
       manager serve HTTPS and authorise the token (get on /metrics); etcd's
       metrics listener is separate from its client port. */}}
{{- range $key, $pod := dict "etcd" (list "etcd" 2381) "kubeScheduler" (list "kube-scheduler" 10259) "kubeControllerManager" (list "kube-controller-manager" 10257) }}
{{- $job := index $jobs $key }}
{{- if $job.enabled }}
- job_name: {{ $job.jobName | quote }}
  {{- include "prometheus.jobLimits" $job | nindent 2 }}
  {{- if eq $key "etcd" }}
  scheme: {{ $v.controlPlane.etcdScheme }}
  {{- else }}
  scheme: https
  authorization:
    credentials_file: /var/run/secrets/kubernetes.io/serviceaccount/token
  tls_config:
    ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    insecure_skip_verify: {{ $v.controlPlane.insecureSkipVerify }}
  {{- end }}
  kubernetes_sd_configs:
    - role: pod
      namespaces:
        names: [kube-system]
  relabel_configs:
    - source_labels: [__meta_kubernetes_pod_label_component]
      regex: {{ index $pod 0 | quote }}
      action: keep
    - source_labels: [__meta_kubernetes_pod_ip]
      regex: (.+)
      replacement: {{ printf "$1:%d" (int (index $pod 1)) | quote }}
      target_label: __address__
    - source_labels: [__meta_kubernetes_pod_name]
      target_label: pod
    - source_labels: [__meta_kubernetes_pod_node_name]
      target_label: node
{{- end }}
{{- end }}
{{- if $jobs.annotatedPods.enabled }}
# Pods opt in with prometheus.io/scrape: "true" (and optionally
# prometheus.io/port, path, scheme).
- job_name: {{ $jobs.annotatedPods.jobName | quote }}
  {{- include "prometheus.jobLimits" $jobs.annotatedPods | nindent 2 }}
  kubernetes_sd_configs:
    - role: pod
  relabel_configs:
    - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
      regex: "true"
      action: keep
    - source_labels: [__meta_kubernetes_pod_phase]
      regex: Pending|Succeeded|Failed
      action: drop
    - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scheme]
      regex: (https?)
      target_label: __scheme__
    - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
      regex: (.+)
      target_label: __metrics_path__
    # The pod IP plus the annotated port; a pod-role target of a container
    # without ports has a bare IP, so IPv6 needs its own rule for brackets.
    - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port, __meta_kubernetes_pod_ip]
      regex: '(\d+);((([0-9]+?)(\.|$)){4})'
      replacement: '$2:$1'
      target_label: __address__
    - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port, __meta_kubernetes_pod_ip]
      regex: '(\d+);([[:xdigit:]]*:[[:xdigit:]:]+)'
      replacement: '[$2]:$1'
      target_label: __address__
    - source_labels: [__meta_kubernetes_namespace]
      target_label: namespace
    - source_labels: [__meta_kubernetes_pod_name]
      target_label: pod
    - source_labels: [__meta_kubernetes_pod_node_name]
      target_label: node
    - source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name]
      target_label: service
{{- end }}
{{- if $jobs.annotatedServices.enabled }}
# Services opt in with the same annotations; every ready endpoint is scraped.
- job_name: {{ $jobs.annotatedServices.jobName | quote }}
  {{- include "prometheus.jobLimits" $jobs.annotatedServices | nindent 2 }}
  kubernetes_sd_configs:
    - role: endpointslice
  relabel_configs:
    - source_labels: [__meta_kubernetes_service_annotation_prometheus_io_scrape]
      regex: "true"
      action: keep
    - source_labels: [__meta_kubernetes_endpointslice_endpoint_conditions_ready]
      regex: "true"
      action: keep
    - source_labels: [__meta_kubernetes_service_annotation_prometheus_io_scheme]
      regex: (https?)
      target_label: __scheme__
    - source_labels: [__meta_kubernetes_service_annotation_prometheus_io_path]
      regex: (.+)
      target_label: __metrics_path__
    # EndpointSlice addresses always carry a port (IPv6 bracketed), so only
    # the port is swapped for the annotated one.
    - source_labels: [__address__, __meta_kubernetes_service_annotation_prometheus_io_port]
      regex: '(.+?)(?::\d+)?;(\d+)'
      replacement: '$1:$2'
      target_label: __address__
    - source_labels: [__meta_kubernetes_namespace]
      target_label: namespace
    - source_labels: [__meta_kubernetes_service_name]
      target_label: service
    - source_labels: [__meta_kubernetes_pod_name]
      target_label: pod
    - source_labels: [__meta_kubernetes_pod_node_name]
      target_label: node
{{- end }}
{{- with $v.additionalScrapeConfigs }}
{{- $taken := list }}
{{- range $jobs }}{{ $taken = append $taken .jobName }}{{ end }}
{{- range $i, $c := . }}
{{- if has $c.job_name $taken }}
{{- fail (printf "prometheus.additionalScrapeConfigs[%d].job_name: %q is already a job of this Prometheus (scrapeJobs or an earlier entry); pick another name" $i $c.job_name) }}
{{- end }}
{{- $taken = append $taken $c.job_name }}
{{- end }}
# prometheus.additionalScrapeConfigs, as given.
{{ toYaml . }}
{{- end }}
{{- end -}}
