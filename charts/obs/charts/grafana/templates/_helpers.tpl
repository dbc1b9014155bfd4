{{/* Secret holding the admin credentials: the operator's own, or the one this chart manages. */}}
{{- define "obs-grafana.adminSecretName" -}}
{{- if .Values.admin.existingSecret -}}
{{- .Values.admin.existingSecret -}}
{{- else -}}
{{- printf "%s-admin" (include "obs-lib.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Where the sidecar writes dashboards and the file provider reads them. Kept
     outside /var/lib/grafana so a PVC never accumulates stale copies. */}}
{{- define "obs-grafana.dashboardsPath" -}}/var/lib/grafana-dashboards{{- end -}}

{{/* k8s-sidecar serves /healthz only from 2.0 on; probing an older tag would
     restart it forever, so probes follow the pinned major version. */}}
{{- define "obs-grafana.sidecarHasHealthz" -}}
{{- $major := regexFind "^v?[0-9]+" (toString .Values.dashboardSidecar.image.tag) | trimPrefix "v" -}}
{{- if and $major (ge (atoi $major) 2) -}}true{{- end -}}
{{- end -}}
