{{/* Where the admin credentials come from, never a default and never
     random at render time (GitOps tools that render with `helm template` see
     no drift):
       "existing" - the operator's Secret (admin.existingSecret);
       "legacy"   - the Secret an earlier version of this chart generated
                    (found with lookup; kept by its resource policy), so an
                    upgrade keeps the password Grafana's database already has;
       "file"     - generated once inside the pod by an init container onto
                    Grafana's data volume (ADMIN_PASSWORD_FILE), read with
                    `kubectl exec` (NOTES.txt). */}}
{{- define "obs-grafana.adminMode" -}}
{{- if .Values.admin.existingSecret -}}existing
{{- else if lookup "v1" "Secret" .Release.Namespace (printf "%s-admin" (include "obs-lib.fullname" .)) -}}legacy
{{- else -}}file
{{- end -}}
{{- end -}}

{{/* The Secret of the "existing" and "legacy" modes. */}}
{{- define "obs-grafana.adminSecretName" -}}
{{- .Values.admin.existingSecret | default (printf "%s-admin" (include "obs-lib.fullname" .)) -}}
{{- end -}}

{{- define "obs-grafana.adminPasswordFile" -}}/var/lib/grafana/.admin-password{{- end -}}

{{/* Where the sidecar writes dashboards and the file provider reads them. Kept
     outside /var/lib/grafana so a PVC never accumulates stale copies. */}}
{{- define "obs-grafana.dashboardsPath" -}}/var/lib/grafana-dashboards{{- end -}}

{{/* k8s-sidecar serves /healthz only from 2.0 on; probing an older tag would
     restart it forever, so probes follow the pinned major version. */}}
{{- define "obs-grafana.sidecarHasHealthz" -}}
{{- $major := regexFind "^v?[0-9]+" (toString .Values.dashboardSidecar.image.tag) | trimPrefix "v" -}}
{{- if and $major (ge (atoi $major) 2) -}}true{{- end -}}
{{- end -}}
