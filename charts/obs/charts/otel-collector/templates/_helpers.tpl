{{/*
One chart, two workloads: the agent (DaemonSet) and the gateway. obs-lib's
selector labels (name + instance) are the same for both, so every selector
here adds obs.dev/role; otherwise the gateway Service would also pick the
agent pods.

The collector configs come from obsgen (generator/obsgen/artifacts/otel.py)
as data with ${env:OBS_*} references; the collector expands them at start-up
and the templates below set every one of them. Keep the two lists in step
(tests/test_otel_collector.py checks that each reference is set).
*/}}

{{- define "otel-collector.name" -}}
{{- include "obs-lib.fullname" (dict "ctx" .ctx "component" (printf "otel-collector-%s" .role)) -}}
{{- end -}}

{{- define "otel-collector.selectorLabels" -}}
{{ include "obs-lib.selectorLabels" .ctx }}
obs.dev/role: {{ .role }}
{{- end -}}

{{- define "otel-collector.labels" -}}
{{ include "obs-lib.labels" .ctx }}
obs.dev/role: {{ .role }}
{{- end -}}


{{/* Environment shared by both workloads. */}}
{{- define "otel-collector.env" -}}
{{- $ctx := .ctx -}}
- name: OBS_POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: OBS_NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: OBS_NAMESPACE
  value: {{ $ctx.Release.Namespace | quote }}
- name: OBS_RELEASE
  value: {{ $ctx.Release.Name | quote }}
# Read by the resource_detection processor's env detector.
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "k8s.cluster.name=%s,deployment.environment.name=%s" $ctx.Values.global.cluster $ctx.Values.global.environment | quote }}
{{- /* Addresses of other Services, as the generator declared them from the
       wiring contract: only those the configs read. */}}
{{- range $ctx.Values.endpoints }}
- name: {{ .env }}
  value: {{ include "obs-lib.endpoint" (dict "ctx" $ctx "endpoint" .) | quote }}
{{- end }}
{{- end -}}

{{/* Gateway only: the optional Elasticsearch/OpenSearch log export (elasticsearch/export exporter). */}}
{{- define "otel-collector.logExportEnv" -}}
{{- with .Values.logExport }}
{{- if .enabled }}
- name: OBS_LOG_EXPORT_URL
  value: {{ .url | quote }}
- name: OBS_LOG_EXPORT_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret | quote }}
      key: {{ .usernameKey | quote }}
- name: OBS_LOG_EXPORT_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret | quote }}
      key: {{ .passwordKey | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Gateway only: the password of a web-secured Prometheus, for the
     basicauth extension of the OTLP metrics exporter (OBS_PROMETHEUS_WEB_PASSWORD). */}}
{{- define "otel-collector.webEnv" -}}
{{- $auth := (include "obs-lib.webServer" (dict "ctx" . "server" "prometheus") | fromJson).basicAuth }}
{{- if and $auth.enabled (hasKey (.Values.gateway.config.extensions | default dict) "basicauth/prometheus") }}
- name: OBS_PROMETHEUS_WEB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $auth.passwordSecret | quote }}
      key: {{ $auth.passwordKey | quote }}
{{- end }}
{{- end -}}

{{/* Ports every collector listens on (the configs bind the same numbers). */}}
{{- define "otel-collector.containerPorts" -}}
- name: otlp-grpc
  containerPort: 4317
  protocol: TCP
- name: otlp-http
  containerPort: 4318
  protocol: TCP
- name: health
  containerPort: 13133
  protocol: TCP
- name: metrics
  containerPort: 8888
  protocol: TCP
{{- end -}}

{{/* health_check extension: / answers 200 once every pipeline has started. */}}
{{- define "otel-collector.probes" -}}
startupProbe:
  httpGet: {path: /, port: health}
  periodSeconds: 5
  failureThreshold: 24
readinessProbe:
  httpGet: {path: /, port: health}
  periodSeconds: 10
  timeoutSeconds: 5
livenessProbe:
  httpGet: {path: /, port: health}
  periodSeconds: 20
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}

{{- define "otel-collector.validate" -}}
{{- if not (has .Values.traces.backend (list "tempo" "jaeger")) }}
{{- fail (printf "otelCollector.traces.backend is %q; it must be tempo or jaeger" .Values.traces.backend) }}
{{- end }}
{{- if not (has .Values.gateway.kind (list "Deployment" "StatefulSet")) }}
{{- fail (printf "otelCollector.gateway.kind is %q; it must be Deployment or StatefulSet" .Values.gateway.kind) }}
{{- end }}
{{- with .Values.logExport }}
{{- if and .enabled (not .url) }}
{{- fail "otelCollector.logExport.enabled is true but otelCollector.logExport.url is empty: set the Elasticsearch/OpenSearch URL (https://...)" }}
{{- end }}
{{- if and .enabled (not .existingSecret) }}
{{- fail "otelCollector.logExport.enabled is true but otelCollector.logExport.existingSecret is empty: name the Secret holding the username and password" }}
{{- end }}
{{- end }}
{{- if and .Values.global.highAvailability (lt (int .Values.gateway.replicas) 2) }}
{{- fail (printf "otelCollector.gateway.replicas is %d but global.highAvailability is true: HA needs at least 2 gateway replicas" (int .Values.gateway.replicas)) }}
{{- end }}
{{- end -}}
