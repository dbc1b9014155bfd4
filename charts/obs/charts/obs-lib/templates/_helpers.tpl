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
     (dict "ctx" . "endpoint" (dict "service" … "port" … "scheme" … "path" … "withPort" … "replica" …)).
     A replica (0, 1, …) of a headless Service names that pod of its StatefulSet. */}}
{{- define "obs-lib.endpoint" -}}
{{- $ep := .endpoint -}}
{{- $args := dict "ctx" .ctx "service" $ep.service "port" $ep.port -}}
{{- $host := include "obs-lib.serviceHost" $args -}}
{{- if ge (int (dig "replica" -1 $ep)) 0 }}
{{- $svc := include "obs-lib.contractService" $args | fromJson -}}
{{- $sts := printf "%s-%s" .ctx.Release.Name ($svc.pods | required (printf "global.services.%s names no pods" $ep.service)) | trunc 63 | trimSuffix "-" -}}
{{- $host = printf "%s-%d.%s" $sts (int $ep.replica) $host -}}
{{- end -}}
{{- if $ep.withPort }}{{ $host = printf "%s:%s" $host (include "obs-lib.servicePort" $args) }}{{ end -}}
{{- if $ep.scheme }}{{ $host = printf "%s://%s" $ep.scheme $host }}{{ end -}}
{{- printf "%s%s" $host ($ep.path | default "") -}}
{{- end -}}

{{/* "http(s)://host:port" of a contract Service, for URLs a template writes
     itself; https when the server serves TLS (global.web). */}}
{{- define "obs-lib.serviceURL" -}}
{{- $scheme := dig "web" .service "scheme" "http" (.ctx.Values.global | default dict) -}}
{{- include "obs-lib.endpoint" (dict "ctx" .ctx "endpoint" (dict "service" .service "port" .port "scheme" $scheme "withPort" true)) -}}
{{- end -}}

{{- define "obs-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "obs-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Full label set. Pass the subchart context; the component defaults to the
     chart name. global.commonLabels join it; the chart's own keys win. */}}
{{- define "obs-lib.labels" -}}
{{- $own := include "obs-lib.ownLabels" . | fromYaml -}}
{{- toYaml (merge $own (.Values.global.commonLabels | default dict)) -}}
{{- end -}}

{{- define "obs-lib.ownLabels" -}}
{{ include "obs-lib.selectorLabels" . }}
{{- /* Charts without an image of their own (rules) carry the chart version. */}}
app.kubernetes.io/version: {{ (.Values.image | default dict).tag | default .Chart.Version | quote }}
app.kubernetes.io/component: {{ .Values.component | default (include "obs-lib.name" .) }}
app.kubernetes.io/part-of: obs
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" (include "obs-lib.name" .) .Chart.Version | replace "+" "_" }}
obs.dev/tier: {{ .Values.global.tier | quote }}
{{- end -}}

{{/* registry/repository:tag, with global.imageRegistry taking precedence,
     and @digest when one is set: the runtime then pulls by digest and the
     tag only documents the version. Pass (dict "image" .Values.image "global" .Values.global). */}}
{{- define "obs-lib.image" -}}
{{- $registry := .global.imageRegistry | default .image.registry -}}
{{- printf "%s/%s:%s" $registry .image.repository .image.tag -}}
{{- with .image.digest }}@{{ . }}{{ end -}}
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
{{- include "obs-lib.spreadConstraints" (dict "ctx" . "selector" (include "obs-lib.selectorLabels" .)) }}
{{- end }}
{{- end -}}

{{/* Replicas of one workload over nodes and zones, as global.spread says
     (the profile's highAvailability.spread): ScheduleAnyway, or
     DoNotSchedule to keep them apart. Pass the subchart context and the
     workload's selector labels. */}}
{{- define "obs-lib.spreadConstraints" -}}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: {{ .ctx.Values.global.spread.nodes }}
    labelSelector:
      matchLabels:
        {{- .selector | nindent 8 }}
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: {{ .ctx.Values.global.spread.zones }}
    labelSelector:
      matchLabels:
        {{- .selector | nindent 8 }}
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

{{/*
The placement and extension knobs of a workload (generator/obsgen/workloads.py),
applied to the pod template its chart renders. One helper for every pod, so a
knob means the same everywhere:
  - labels and annotations: podLabels, global.commonLabels and podAnnotations
    join the chart's own, which win on a clash (selectors, checksums);
  - nodeSelector: the workload's over global.nodeSelector over the chart's
    kubernetes.io/os: linux;
  - tolerations: the chart's (the DaemonSets tolerate every taint), then
    global.tolerations, then the workload's;
  - affinity, topologySpreadConstraints and priorityClassName: the workload's
    replace the chart's (priorityClassName falls back to the global one); a
    spread constraint without a labelSelector selects the workload's pods;
  - extraEnv, extraEnvFrom and extraVolumeMounts go to the main (first)
    container; an extraEnv entry replaces a chart variable of the same name;
  - extraVolumes, extraContainers and extraInitContainers are appended; a name
    the chart already uses fails the render rather than reach the API server.
Pass (dict "ctx" . "knobs" <the workload's values> "path" <their values path>
      "template" <the pod template, rendered> "selector" <its selector labels, YAML>).
*/}}
{{- define "obs-lib.podTemplate" -}}
{{- $pod := fromYaml .template -}}
{{- if hasKey $pod "Error" }}{{ fail (printf "%s: the chart's pod template does not parse: %s" .path $pod.Error) }}{{ end -}}
{{- $g := .ctx.Values.global -}}
{{- $k := .knobs -}}
{{- $path := .path -}}
{{- $meta := $pod.metadata | default dict -}}
{{- $spec := $pod.spec -}}
{{- $_ := set $meta "labels" (merge ($meta.labels | default dict) ($k.podLabels | default dict) ($g.commonLabels | default dict)) -}}
{{- $annotations := merge ($meta.annotations | default dict) ($k.podAnnotations | default dict) -}}
{{- if $annotations }}{{ $_ := set $meta "annotations" $annotations }}{{ end -}}
{{- $_ := set $pod "metadata" $meta -}}
{{- $_ := set $spec "nodeSelector" (merge (dict) ($k.nodeSelector | default dict) ($g.nodeSelector | default dict) ($spec.nodeSelector | default dict) (dict "kubernetes.io/os" "linux")) -}}
{{- $tolerations := concat ($spec.tolerations | default list) ($g.tolerations | default list) ($k.tolerations | default list) -}}
{{- if $tolerations }}{{ $_ := set $spec "tolerations" $tolerations }}{{ end -}}
{{- with $k.affinity }}{{ $_ := set $spec "affinity" . }}{{ end -}}
{{- with $k.topologySpreadConstraints -}}
{{- $selector := fromYaml $.selector -}}
{{- $constraints := list -}}
{{- range . -}}
{{- $c := deepCopy . -}}
{{- if not (hasKey $c "labelSelector") }}{{ $_ := set $c "labelSelector" (dict "matchLabels" $selector) }}{{ end -}}
{{- $constraints = append $constraints $c -}}
{{- end -}}
{{- $_ := set $spec "topologySpreadConstraints" $constraints -}}
{{- end -}}
{{- with $k.priorityClassName | default $g.priorityClassName }}{{ $_ := set $spec "priorityClassName" . }}{{ end -}}
{{- $containers := $spec.containers -}}
{{- $main := index $containers 0 -}}
{{- with $k.extraEnv -}}
{{- $names := list -}}
{{- range . }}{{ $names = append $names .name }}{{ end -}}
{{- $env := list -}}
{{- range ($main.env | default list) }}{{ if not (has .name $names) }}{{ $env = append $env . }}{{ end }}{{ end -}}
{{- $_ := set $main "env" (concat $env .) -}}
{{- end -}}
{{- with $k.extraEnvFrom }}{{ $_ := set $main "envFrom" (concat ($main.envFrom | default list) .) }}{{ end -}}
{{- with $k.extraVolumeMounts }}{{ $_ := set $main "volumeMounts" (concat ($main.volumeMounts | default list) .) }}{{ end -}}
{{- range $knob, $field := dict "extraVolumes" "volumes" "extraContainers" "containers" "extraInitContainers" "initContainers" -}}
{{- $extra := index $k $knob | default list -}}
{{- if $extra -}}
{{- $own := index $spec $field | default list -}}
{{- $taken := list -}}
{{- range (concat ($spec.containers | default list) ($spec.initContainers | default list)) }}{{ if ne $field "volumes" }}{{ $taken = append $taken .name }}{{ end }}{{ end -}}
{{- range ($spec.volumes | default list) }}{{ if eq $field "volumes" }}{{ $taken = append $taken .name }}{{ end }}{{ end -}}
{{- range $i, $item := $extra -}}
{{- if has $item.name $taken }}{{ fail (printf "%s.%s[%d].name: %q is already a %s of this pod; pick another name" $path $knob $i $item.name (trimSuffix "s" $field | replace "initContainer" "container")) }}{{ end -}}
{{- $taken = append $taken $item.name -}}
{{- end -}}
{{- $_ := set $spec $field (concat $own $extra) -}}
{{- end -}}
{{- end -}}
{{- toYaml $pod -}}
{{- end -}}

{{/* A workload's ServiceAccount, with the annotations its values ask for
     (cloud workload identity for object storage, for instance). No pod gets
     its token unless the pod spec opts in (Prometheus, kube-state-metrics and
     the collector agent, which read the API).
     Pass (dict "ctx" . "name" <object name> "knobs" <the workload's values>),
     and "labels" (YAML) where the workload's labels are not obs-lib.labels. */}}
{{- define "obs-lib.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- .labels | default (include "obs-lib.labels" .ctx) | nindent 4 }}
  {{- with (.knobs.serviceAccount | default dict).annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end -}}

{{/* How people reach a UI (generator/obsgen/exposure.py): an Ingress and/or a
     Gateway API HTTPRoute for its contract Service, host from externalUrl.
     An https URL on an Ingress needs its certificate's Secret (an existing
     one, or the one cert-manager creates from the annotations); an HTTPRoute
     terminates TLS at its Gateway. Pass (dict "ctx" . "path" <values path>
     "exposure" .Values.exposure). */}}
{{- define "obs-lib.exposure" -}}
{{- $e := .exposure -}}
{{- if or $e.ingress.enabled $e.httpRoute.enabled }}
{{- $url := urlParse ($e.externalUrl | required (printf "%s.exposure.externalUrl: an Ingress or HTTPRoute needs the URL it serves" .path)) }}
{{- $host := regexReplaceAll ":[0-9]+$" $url.host "" }}
{{- $args := dict "ctx" .ctx "service" $e.service "port" $e.port }}
{{- $name := include "obs-lib.serviceName" $args }}
{{- $port := include "obs-lib.servicePort" $args | int }}
{{- if $e.ingress.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ $name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "obs-lib.labels" .ctx | nindent 4 }}
  {{- with $e.ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with $e.ingress.className }}
  ingressClassName: {{ . | quote }}
  {{- end }}
  {{- if eq $url.scheme "https" }}
  tls:
    - hosts: [{{ $host | quote }}]
      secretName: {{ $e.ingress.tlsSecret | required (printf "%s.exposure.ingress.tlsSecret: %s is https; name the certificate's Secret" .path $e.externalUrl) | quote }}
  {{- end }}
  rules:
    - host: {{ $host | quote }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ $name }}
                port:
                  number: {{ $port }}
{{- end }}
{{- if $e.httpRoute.enabled }}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {{ $name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "obs-lib.labels" .ctx | nindent 4 }}
  {{- with $e.httpRoute.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  parentRefs:
    {{- toYaml $e.httpRoute.parentRefs | nindent 4 }}
  hostnames: [{{ $host | quote }}]
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /
      backendRefs:
        - name: {{ $name }}
          port: {{ $port }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Web TLS and basic auth of Prometheus and Alertmanager (global.web,
     generator/obsgen/web.py). A client pod mounts the CA and the password of
     each server it talks to with webClientVolumes/webClientMounts, and its
     config reads the files at the paths global.web names. A subchart
     rendered on its own has no global.web: every server is plain. */}}
{{- define "obs-lib.webServer" -}}
{{- $s := dig "web" .server dict (.ctx.Values.global | default dict) -}}
{{- dict "enabled" (dig "enabled" false $s) "configSecret" (dig "configSecret" "" $s) "configFile" (dig "configFile" "" $s) "tls" (dig "tls" (dict "enabled" false) $s) "basicAuth" (dig "basicAuth" (dict "enabled" false) $s) | toJson -}}
{{- end -}}

{{- define "obs-lib.webClientVolumes" -}}
{{- $ctx := .ctx -}}
{{- range .servers }}
{{- $s := include "obs-lib.webServer" (dict "ctx" $ctx "server" .) | fromJson }}
{{- if $s.tls.enabled }}
- name: web-{{ . | lower }}-ca
  secret:
    secretName: {{ $s.tls.caSecret | quote }}
    items:
      - key: {{ $s.tls.caKey | quote }}
        path: {{ base $s.tls.caFile | quote }}
{{- end }}
{{- if $s.basicAuth.enabled }}
- name: web-{{ . | lower }}-auth
  secret:
    secretName: {{ $s.basicAuth.passwordSecret | quote }}
    items:
      - key: {{ $s.basicAuth.passwordKey | quote }}
        path: {{ base $s.basicAuth.passwordFile | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "obs-lib.webClientMounts" -}}
{{- $ctx := .ctx -}}
{{- range .servers }}
{{- $s := include "obs-lib.webServer" (dict "ctx" $ctx "server" .) | fromJson }}
{{- if $s.tls.enabled }}
- name: web-{{ . | lower }}-ca
  mountPath: {{ dir $s.tls.caFile | quote }}
  readOnly: true
{{- end }}
{{- if $s.basicAuth.enabled }}
- name: web-{{ . | lower }}-auth
  mountPath: {{ dir $s.basicAuth.passwordFile | quote }}
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{/* scheme, tls_config and basic_auth of a Prometheus-config client
     (scrape job, Alertmanager endpoint) of one server. The serving
     certificate is verified for the Service's name: targets are pod IPs. */}}
{{- define "obs-lib.webPromClient" -}}
{{- $s := include "obs-lib.webServer" . | fromJson -}}
{{- if $s.tls.enabled }}
scheme: https
tls_config:
  ca_file: {{ $s.tls.caFile | quote }}
  server_name: {{ include "obs-lib.serviceHost" (dict "ctx" .ctx "service" .server) | quote }}
{{- end }}
{{- if $s.basicAuth.enabled }}
basic_auth:
  username: {{ $s.basicAuth.username | quote }}
  password_file: {{ $s.basicAuth.passwordFile | quote }}
{{- end }}
{{- end -}}

{{/* The server side: the web config Secret, mounted whole beside the file
     so the file can name its certificate and key by relative path. */}}
{{- define "obs-lib.webServerVolume" -}}
{{- $s := include "obs-lib.webServer" . | fromJson -}}
{{- if $s.enabled }}
- name: web-config
  secret:
    secretName: {{ $s.configSecret | quote }}
{{- end }}
{{- end -}}

{{- define "obs-lib.webServerMount" -}}
{{- $s := include "obs-lib.webServer" . | fromJson -}}
{{- if $s.enabled }}
- name: web-config
  mountPath: {{ dir $s.configFile | quote }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* The server's --web.config.file path, or nothing. */}}
{{- define "obs-lib.webConfigFile" -}}
{{- (include "obs-lib.webServer" . | fromJson).configFile -}}
{{- end -}}

{{/* Kubelet probes of a web-secured server: HTTPS when it serves TLS (the
     kubelet does not verify); with basic auth, which the kubelet cannot
     send without putting the password in the pod spec, a TCP check. */}}
{{- define "obs-lib.webProbe" -}}
{{- $s := include "obs-lib.webServer" . | fromJson -}}
{{- if $s.basicAuth.enabled -}}
tcpSocket: {port: {{ .port }}}
{{- else -}}
httpGet: {path: {{ .path }}, port: {{ .port }}{{ if $s.tls.enabled }}, scheme: HTTPS{{ end }}}
{{- end -}}
{{- end -}}
