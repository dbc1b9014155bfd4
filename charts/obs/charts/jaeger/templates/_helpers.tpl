{{/*
Jaeger v2: one binary built on the OpenTelemetry Collector. The config is
built by obsgen (values `config`); the Elasticsearch/OpenSearch URL and
credentials reach it as environment variables, read as ${env:VAR}.
*/}}

{{- define "jaeger.validate" -}}
{{- if not (has .Values.traceStorage (list "badger" "elasticsearch" "opensearch")) }}
{{- fail (printf "jaeger.traceStorage is %q: it must be badger, elasticsearch or opensearch" (toString .Values.traceStorage)) }}
{{- end }}
{{- if eq .Values.traceStorage "badger" }}
{{- if gt (int .Values.replicas) 1 }}
{{- fail (printf "jaeger.replicas is %d but jaeger.traceStorage is badger, a single-node store on one PVC: use elasticsearch or opensearch to run several replicas" (int .Values.replicas)) }}
{{- end }}
{{- else }}
{{- if not .Values.elasticsearch.url }}
{{- fail (printf "jaeger.traceStorage is %s but jaeger.elasticsearch.url is empty: give the URL of the existing cluster" .Values.traceStorage) }}
{{- end }}
{{- if not .Values.elasticsearch.existingSecret }}
{{- fail (printf "jaeger.traceStorage is %s but jaeger.elasticsearch.existingSecret is empty: name an existing Secret holding the username and password" .Values.traceStorage) }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "jaeger.env" -}}
{{- if ne .Values.traceStorage "badger" }}
- name: JAEGER_ES_URL
  value: {{ .Values.elasticsearch.url | quote }}
- name: JAEGER_ES_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.elasticsearch.existingSecret | quote }}
      key: {{ .Values.elasticsearch.usernameKey | quote }}
- name: JAEGER_ES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.elasticsearch.existingSecret | quote }}
      key: {{ .Values.elasticsearch.passwordKey | quote }}
{{- end }}
{{- end -}}
