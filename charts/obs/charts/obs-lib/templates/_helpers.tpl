{{/*
Shared named templates. Helm loads every chart's templates into one set, so
the subcharts of the umbrella can include these directly.

Conventions every subchart follows:
  - object names are "<release>-<component>" (obs-lib.fullname);
  - a Service another subchart talks to is named, and its ports numbered,
    by the wiring contract the generator writes into global.services
    (generator/obsgen/contract.py): both ends take them from there through
    obs-lib.serviceName / serviceHost / servicePort / endpoint, never by
    composing a sibling's name;
  - selectors use name + instance only, which never change across upgrades
    (selectors of Deployments/StatefulSets/DaemonSets are immutable);
  - images are {registry, repository, tag}; global.imageRegistry replaces the
    registry of every image for air-gapped mirrors.
*/}}

{{/* The component's name. The umbrella aliases hyphenated subcharts to
     camelCase values keys (nodeExporter), and Helm hands the alias over as
     .Chart.Name; kebab-casing it restores the DNS-safe name (node-exporter). */}}
{{- define "obs-lib.name" -}}
{{- .Chart.Name | kebabcase -}}
{{- end -}}

{{/* "<release>-<chart name>", or "<release>-<component>" when a dict with
     .ctx and .component is passed. Truncated to the 63 chars a DNS label allows. */}}
{{- define "obs-lib.fullname" -}}
{{- if and (kindIs "map" .) (hasKey . "component") -}}
{{- printf "%s-%s" .ctx.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "obs-lib.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Name of a sibling component's objects, e.g. (dict "ctx" . "component" "alertmanager"). */}}
{{- define "obs-lib.siblingName" -}}
{{- printf "%s-%s" .ctx.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* One entry of the wiring contract; fails the render on an unknown key. */}}
{{- define "obs-lib.contractService" -}}
{{- $services := .ctx.Values.global.services | default dict -}}
{{- $svc := index $services .service | required (printf "global.services.%s: no such Service in the wiring contract (generator/obsgen/contract.py)" .service) -}}
{{- toJson $svc -}}
{{- end -}}

{{/* "<release>-<name>" of a contract Service: (dict "ctx" . "service" "lokiWrite"). */}}
{{- define "obs-lib.serviceName" -}}
{{- $svc := include "obs-lib.contractService" . | fromJson -}}
{{- printf "%s-%s" .ctx.Release.Name $svc.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<name>.<namespace>.svc" of a contract Service. */}}
{{- define "obs-lib.serviceHost" -}}
{{- printf "%s.%s.svc" (include "obs-lib.serviceName" .) .ctx.Release.Namespace -}}
{{- end -}}

{{/* A port number of a contract Service: (dict "ctx" . "service" "lokiWrite" "port" "http"). */}}
{{- define "obs-lib.servicePort" -}}
{{- $svc := include "obs-lib.contractService" . | fromJson -}}
{{- index $svc.ports .port | required (printf "global.services.%s.ports.%s: no such port in the wiring contract" .service .port) | int -}}
{{- end -}}

{{/* "[scheme://]host[:port][path]" of an endpoint the generator declared:
     (dict "ctx" . "endpoint" (dict "service" … "port" … "scheme" … "path" … "withPort" …)). */}}
{{- define "obs-lib.endpoint" -}}
{{- $ep := .endpoint -}}
{{- $args := dict "ctx" .ctx "service" $ep.service "port" $ep.port -}}
{{- $host := include "obs-lib.serviceHost" $args -}}
{{- if $ep.withPort }}{{ $host = printf "%s:%s" $host (include "obs-lib.servicePort" $args) }}{{ end -}}
{{- if $ep.scheme }}{{ $host = printf "%s://%s" $ep.scheme $host }}{{ end -}}
{{- printf "%s%s" $host ($ep.path | default "") -}}
{{- end -}}

{{/* "http://host:port" of a contract Service, for URLs a template writes itself. */}}
{{- define "obs-lib.serviceURL" -}}
{{- include "obs-lib.endpoint" (dict "ctx" .ctx "endpoint" (dict "service" .service "port" .port "scheme" "http" "withPort" true)) -}}
{{- end -}}

{{- define "obs-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "obs-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Full label set. Pass the subchart context; the component defaults to the chart name. */}}
{{- define "obs-lib.labels" -}}
{{ include "obs-lib.selectorLabels" . }}
{{- /* Charts without an image of their own (rules) carry the chart version. */}}
app.kubernetes.io/version: {{ (.Values.image | default dict).tag | default .Chart.Version | quote }}
app.kubernetes.io/component: {{ .Values.component | default (include "obs-lib.name" .) }}
app.kubernetes.io/part-of: obs
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" (include "obs-lib.name" .) .Chart.Version | replace "+" "_" }}
obs.dev/tier: {{ .Values.global.tier | quote }}
{{- end -}}

{{/* registry/repository:tag, with global.imageRegistry taking precedence.
     Pass (dict "image" .Values.image "global" .Values.global). */}}
{{- define "obs-lib.image" -}}
{{- $registry := .global.imageRegistry | default .image.registry -}}
{{- printf "%s/%s:%s" $registry .image.repository .image.tag -}}
{{- end -}}

{{- define "obs-lib.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Pod-level security context for every pod outside the documented
     exceptions. fsGroup makes PVC contents writable by the non-root uid. */}}
{{- define "obs-lib.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level security context: nothing writable but mounted volumes,
     no privilege escalation, no capabilities. */}}
{{- define "obs-lib.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* StorageClass line for a PVC template: the component's own class, else the
     global one, else nothing (the cluster default). */}}
{{- define "obs-lib.storageClass" -}}
{{- $class := .storage.storageClass | default .global.storageClass -}}
{{- with $class }}
storageClassName: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Spread replicas across nodes and zones when the tier asks for it. With
     ScheduleAnyway a small cluster still schedules everything; the scheduler
     only prefers the spread. */}}
{{- define "obs-lib.topologySpread" -}}
{{- if .Values.topologySpread.enabled }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: {{ .Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "obs-lib.selectorLabels" . | nindent 8 }}
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "obs-lib.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end -}}

{{/* PodDisruptionBudget for multi-replica components. */}}
{{- define "obs-lib.podDisruptionBudget" -}}
{{- if .Values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "obs-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "obs-lib.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "obs-lib.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{/* Resources block; the generator sizes every container per tier. */}}
{{- define "obs-lib.resources" -}}
resources:
  {{- toYaml . | nindent 2 }}
{{- end -}}

{{/* ConfigMap (or PrometheusRule) holding one rule file: "<release>-rules-<file stem>".
     Shared because the rules subchart creates them and Prometheus mounts them. */}}
{{- define "obs-lib.ruleConfigMapName" -}}
{{- printf "%s-rules-%s" .ctx.Release.Name (.file | trimSuffix ".yaml") | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* A Kubernetes quantity as a float in base units (cores, bytes). The schema
     has already admitted the form: digits, an optional fraction and suffix. */}}
{{- define "obs-lib.quantity" -}}
{{- $q := toString . -}}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $q -}}
{{- $suffix := trimPrefix $num $q -}}
{{- $factors := dict "" 1.0 "m" 0.001 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 -}}
{{- mulf (float64 $num) (index $factors $suffix) -}}
{{- end -}}

{{/*
Volumes across tier changes. Kubernetes refuses any change to a StatefulSet's
volumeClaimTemplates, and a PVC can grow (where its StorageClass allows
expansion) but never shrink. So a volume keeps the size it was created with:
  - deployed size: <storage>.deployedSize when set (GitOps tools that render
    with `helm template` cannot lookup), else what `lookup` finds in the
    cluster (the StatefulSet's claim template, or the PVC), else nothing;
  - the claim template / PVC renders the deployed size when there is one,
    the wanted size (<storage>.size) otherwise;
  - a wanted size below the deployed one fails the render before anything
    changes; a larger one is applied to the existing claims by the umbrella's
    post-upgrade resize hook (templates/volume-resize.yaml).
Pass (dict "ctx" . "kind" "StatefulSet"|"PersistentVolumeClaim" "name" <object name>
      "claim" <claim template name> "storage" <the storage values> "path" <their values path>).
*/}}
{{- define "obs-lib.deployedSize" -}}
{{- $size := .storage.deployedSize | default "" -}}
{{- if not $size -}}
{{- if eq .kind "StatefulSet" -}}
{{- $live := lookup "apps/v1" "StatefulSet" .ctx.Release.Namespace .name -}}
{{- range (($live | default dict).spec | default dict).volumeClaimTemplates | default list -}}
{{- if eq .metadata.name $.claim }}{{ $size = .spec.resources.requests.storage }}{{ end -}}
{{- end -}}
{{- else -}}
{{- $live := lookup "v1" "PersistentVolumeClaim" .ctx.Release.Namespace .name -}}
{{- with $live }}{{ $size = .spec.resources.requests.storage }}{{ end -}}
{{- end -}}
{{- end -}}
{{- $size -}}
{{- end -}}

{{/* The size a claim template or PVC renders (see above); fails on a shrink. */}}
{{- define "obs-lib.claimSize" -}}
{{- $deployed := include "obs-lib.deployedSize" . -}}
{{- if and $deployed (lt (float64 (include "obs-lib.quantity" .storage.size)) (float64 (include "obs-lib.quantity" $deployed))) -}}
{{- fail (printf "%s.size %s is below the %s of the deployed %s %s: volumes cannot shrink; keep %s.size at %s or more (profile retention/storage), or move the data and delete the old claims first" .path .storage.size $deployed .kind .name .path $deployed) -}}
{{- end -}}
{{- $deployed | default .storage.size -}}
{{- end -}}

{{/* Annotations of an object that owns volumes: where its size is set, and the
     size wanted now (the resize hook grows the claims to it). */}}
{{- define "obs-lib.storageAnnotations" -}}
obs.dev/storage-values: {{ .path | quote }}
obs.dev/storage-size: {{ .storage.size | quote }}
{{- end -}}
