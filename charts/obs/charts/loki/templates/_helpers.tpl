{{/*
Loki runs either as one process (-target=all, filesystem on a PVC) or, with
mode "scalable", as the read / write / backend targets on object storage.
The config itself is built by obsgen (values `config`); this chart adds what
depends on the release (sibling Service names) or on checked values (bucket,
Secret) as environment variables, which the config reads as ${VAR}
(-config.expand-env=true).
*/}}

{{/* Refuse combinations Loki would only reject at runtime, or not at all. */}}
{{- define "loki.validate" -}}
{{- if not (has .Values.mode (list "monolithic" "scalable")) }}
{{- fail (printf "loki.mode is %q: it must be monolithic or scalable" (toString .Values.mode)) }}
{{- end }}
{{- if eq .Values.mode "scalable" }}
{{- if not .Values.objectStorage.bucket }}
{{- fail "loki.mode is scalable, which stores chunks and index in object storage, but loki.objectStorage.bucket is empty: name the bucket of an existing S3-compatible store" }}
{{- end }}
{{- if not .Values.objectStorage.existingSecret }}
{{- fail "loki.mode is scalable, which stores chunks and index in object storage, but loki.objectStorage.existingSecret is empty: name an existing Secret holding the access key id and secret access key" }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Selector of one target's pods. Every Loki pod shares name + instance
     (the memberlist Service selects them all), so the target label tells
     read, write and backend apart. Like name + instance, it never changes
     for a given workload, so the immutable selectors stay valid. */}}
{{- define "loki.selectorLabels" -}}
{{ include "obs-lib.selectorLabels" .ctx }}
obs.dev/target: {{ .target }}
{{- end -}}

{{/* Environment the config expands. Only the scalable config references
     variables; a monolithic pod gets none. */}}
{{- define "loki.env" -}}
{{- if eq .Values.mode "scalable" }}
- name: LOKI_MEMBERLIST_HOST
  value: {{ include "obs-lib.serviceHost" (dict "ctx" . "service" "lokiMemberlist") }}
- name: LOKI_BACKEND_HOST
  value: {{ include "obs-lib.serviceHost" (dict "ctx" . "service" "lokiBackend") }}
- name: LOKI_S3_BUCKET
  value: {{ .Values.objectStorage.bucket | quote }}
- name: LOKI_S3_ENDPOINT
  value: {{ .Values.objectStorage.endpoint | quote }}
- name: LOKI_S3_REGION
  value: {{ .Values.objectStorage.region | quote }}
# Credentials stay in the existing Secret; only the pod's environment sees them.
- name: LOKI_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.objectStorage.existingSecret | quote }}
      key: {{ .Values.objectStorage.accessKeyIdKey | quote }}
- name: LOKI_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.objectStorage.existingSecret | quote }}
      key: {{ .Values.objectStorage.secretAccessKeyKey | quote }}
{{- end }}
{{- end -}}

{{/* Pod template of one target. Pass (dict "ctx" . "target" "all|read|write|backend" "resources" ...). */}}
{{- define "loki.podTemplate" -}}
{{- $ctx := .ctx -}}
metadata:
  labels:
    {{- include "obs-lib.labels" $ctx | nindent 4 }}
    obs.dev/target: {{ .target }}
  annotations:
    # Loki reads its config once at start: roll the pods when it changes.
    checksum/config: {{ include (print $ctx.Template.BasePath "/configmap.yaml") $ctx | sha256sum }}
    kubectl.kubernetes.io/default-container: loki
spec:
  serviceAccountName: {{ include "obs-lib.fullname" $ctx }}{{ if ne .target "all" }}-{{ .target }}{{ end }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with include "obs-lib.imagePullSecrets" $ctx | trim }}
  {{- . | nindent 2 }}
  {{- end }}
  securityContext:
    # 10001 is the uid the grafana/loki image runs as.
    {{- include "obs-lib.podSecurityContext" (dict "uid" 10001) | nindent 4 }}
  {{- if and (gt (int .replicas) 1) $ctx.Values.global.highAvailability }}
  {{- include "obs-lib.spreadConstraints" (dict "ctx" $ctx "selector" (include "loki.selectorLabels" .)) | nindent 2 }}
  {{- end }}
  # Ingesters flush their in-memory chunks on shutdown.
  terminationGracePeriodSeconds: {{ if has .target (list "all" "write") }}300{{ else }}30{{ end }}
  containers:
    - name: loki
      image: {{ include "obs-lib.image" (dict "image" $ctx.Values.image "global" $ctx.Values.global) | quote }}
      imagePullPolicy: IfNotPresent
      args:
        - -config.file=/etc/loki/config/config.yaml
        - -config.expand-env=true
        - -target={{ .target }}
      {{- with include "loki.env" $ctx | trim }}
      env:
        {{- . | nindent 8 }}
      {{- end }}
      ports:
        - name: http
          containerPort: 3100
          protocol: TCP
        - name: grpc
          containerPort: 9095
          protocol: TCP
        {{- if eq $ctx.Values.mode "scalable" }}
        - name: memberlist
          containerPort: 7946
          protocol: TCP
        {{- end }}
      startupProbe:
        # Replaying the WAL after a restart can take minutes.
        httpGet: {path: /ready, port: http}
        periodSeconds: 10
        failureThreshold: 60
      readinessProbe:
        # /ready turns true once the ring is joined and the target serves.
        httpGet: {path: /ready, port: http}
        periodSeconds: 10
        timeoutSeconds: 5
      livenessProbe:
        # Not /ready: a ring hiccup makes a pod unready, not dead.
        httpGet: {path: /loki/api/v1/status/buildinfo, port: http}
        periodSeconds: 20
        timeoutSeconds: 5
        failureThreshold: 3
      {{- include "obs-lib.resources" .resources | nindent 6 }}
      securityContext:
        {{- include "obs-lib.containerSecurityContext" $ctx | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/loki/config
          readOnly: true
        - name: data
          mountPath: /var/loki
        # The root filesystem is read-only; Loki and its S3 client write temp files.
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: config
      configMap:
        name: {{ include "obs-lib.fullname" $ctx }}-config
    - name: tmp
      emptyDir: {}
    {{- if not .persistent }}
    # The read target keeps only caches: they can start empty.
    - name: data
      emptyDir: {}
    {{- end }}
{{- end -}}

{{/* PVC template of a stateful target. */}}
{{- define "loki.volumeClaim" -}}
- metadata:
    name: data
    labels:
      {{- include "loki.selectorLabels" . | nindent 6 }}
  spec:
    accessModes: [ReadWriteOnce]
    {{- include "obs-lib.storageClass" (dict "storage" .storage "global" .ctx.Values.global) | nindent 4 }}
    resources:
      requests:
        storage: {{ include "obs-lib.claimSize" .volume }}
{{- end -}}
