{{/*
Tempo in one process (monolithic). The config is built by obsgen (values
`config`); what depends on the release (the Prometheus Service the
metrics-generator remote-writes to) or on checked values (bucket, Secret)
reaches it as environment variables, read as ${VAR} (-config.expand-env=true).
*/}}

{{- define "tempo.validate" -}}
{{- if not (has .Values.traceStorage (list "local" "s3")) }}
{{- fail (printf "tempo.traceStorage is %q: it must be local or s3" (toString .Values.traceStorage)) }}
{{- end }}
{{- if eq .Values.traceStorage "s3" }}
{{- if not .Values.objectStorage.bucket }}
{{- fail "tempo.traceStorage is s3 but tempo.objectStorage.bucket is empty: name the bucket of an existing S3-compatible store" }}
{{- end }}
{{- if not .Values.objectStorage.existingSecret }}
{{- fail "tempo.traceStorage is s3 but tempo.objectStorage.existingSecret is empty: name an existing Secret holding the access key id and secret access key" }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "tempo.env" -}}
# Span metrics and service graphs go to every replica of the stack's
# Prometheus (run with its remote-write receiver enabled), each by its pod.
{{- range .Values.prometheusWrite }}
- name: {{ .env }}
  value: {{ include "obs-lib.endpoint" (dict "ctx" $ "endpoint" .) | quote }}
{{- end }}
{{- if eq (dig "web" "prometheus" "scheme" "http" (.Values.global | default dict)) "https" }}
# The name the pods' certificate carries: the Service's.
- name: PROMETHEUS_HOST
  value: {{ include "obs-lib.serviceHost" (dict "ctx" . "service" "prometheus") | quote }}
{{- end }}
{{- if eq .Values.traceStorage "s3" }}
- name: TEMPO_S3_BUCKET
  value: {{ .Values.objectStorage.bucket | quote }}
- name: TEMPO_S3_ENDPOINT
  value: {{ .Values.objectStorage.endpoint | quote }}
- name: TEMPO_S3_REGION
  value: {{ .Values.objectStorage.region | quote }}
# Credentials stay in the existing Secret; only the pod's environment sees them.
- name: TEMPO_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.objectStorage.existingSecret | quote }}
      key: {{ .Values.objectStorage.accessKeyIdKey | quote }}
- name: TEMPO_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.objectStorage.existingSecret | quote }}
      key: {{ .Values.objectStorage.secretAccessKeyKey | quote }}
{{- end }}
{{- end -}}
