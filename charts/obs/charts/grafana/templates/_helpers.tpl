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

{{/* Where Grafana reads datasource provisioning files. */}}
{{- define "obs-grafana.datasourcesPath" -}}/etc/grafana/provisioning/datasources{{- end -}}

{{/* k8s-sidecar's NAMESPACE: ALL, or the release namespace (obs's own
     objects) and the listed ones; role.yaml grants the reads. */}}
{{- define "obs-grafana.sidecarNamespace" -}}
{{- $namespaces := .namespaces | default list -}}
{{- ternary "ALL" (uniq (prepend $namespaces .release) | join ",") (has "ALL" $namespaces) -}}
{{- end -}}

{{/* One k8s-sidecar container: ConfigMaps with values.label =
     values.labelValue, from the namespaces of values.namespaces, written to
     folder. Both sidecars use dashboardSidecar's image and resources.
     reload: "datasources" makes it ask Grafana to re-read its datasource
     files after a change (Grafana reads them only at start otherwise), as
     the admin: the API has no narrower role for this. */}}
{{- define "obs-grafana.sidecar" -}}
{{- $ctx := .ctx }}
{{- $admin := include "obs-grafana.adminMode" $ctx }}
- name: {{ .name }}
  image: {{ include "obs-lib.image" (dict "image" $ctx.Values.dashboardSidecar.image "global" $ctx.Values.global) | quote }}
  imagePullPolicy: IfNotPresent
  env:
    - name: LABEL
      value: {{ .values.label | quote }}
    - name: LABEL_VALUE
      value: {{ .values.labelValue | quote }}
    - name: FOLDER
      value: {{ .folder | quote }}
    {{- if not .reload }}
    # A ConfigMap annotated grafana_folder: "<name>" lands in that
    # sub-directory, which the provider turns into a Grafana folder.
    - name: FOLDER_ANNOTATION
      value: grafana_folder
    {{- end }}
    - name: RESOURCE
      value: configmap
    - name: NAMESPACE
      value: {{ include "obs-grafana.sidecarNamespace" (dict "namespaces" .values.namespaces "release" $ctx.Release.Namespace) | quote }}
    {{- if .reload }}
    - name: REQ_URL
      value: "http://localhost:3000/api/admin/provisioning/{{ .reload }}/reload"
    - name: REQ_METHOD
      value: POST
    # Grafana may still be migrating its database when the first files are
    # written: keep retrying for minutes rather than seconds.
    - name: REQ_RETRY_TOTAL
      value: "12"
    - name: REQ_RETRY_CONNECT
      value: "12"
    {{- if eq $admin "file" }}
    - name: REQ_USERNAME
      value: admin
    # Read on each attempt (k8s-sidecar 2.10.1 and later).
    - name: REQ_PASSWORD_FILE
      value: {{ include "obs-grafana.adminPasswordFile" $ctx }}
    {{- else }}
    - name: REQ_USERNAME
      valueFrom:
        secretKeyRef:
          name: {{ include "obs-grafana.adminSecretName" $ctx }}
          key: {{ $ctx.Values.admin.userKey | quote }}
    - name: REQ_PASSWORD
      valueFrom:
        secretKeyRef:
          name: {{ include "obs-grafana.adminSecretName" $ctx }}
          key: {{ $ctx.Values.admin.passwordKey | quote }}
    {{- end }}
    {{- end }}
    {{- if include "obs-grafana.sidecarHasHealthz" $ctx }}
    - name: HEALTH_PORT
      value: {{ .healthPort | quote }}
    {{- end }}
  {{- if include "obs-grafana.sidecarHasHealthz" $ctx }}
  ports:
    - name: {{ .portName }}
      containerPort: {{ .healthPort }}
      protocol: TCP
  # /healthz turns 200 after the first full sync and fails when the
  # watch has lost the API server for a minute.
  readinessProbe:
    httpGet:
      path: /healthz
      port: {{ .portName }}
    periodSeconds: 10
  livenessProbe:
    httpGet:
      path: /healthz
      port: {{ .portName }}
    initialDelaySeconds: 30
    periodSeconds: 20
    failureThreshold: 6
  {{- end }}
  volumeMounts:
    - name: {{ .volume }}
      mountPath: {{ .folder }}
    - name: sidecar-tmp
      mountPath: /tmp
    - name: kube-api-access
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    {{- if and .reload (eq $admin "file") }}
    # The admin password file the init container made (read-only here).
    - name: storage
      mountPath: /var/lib/grafana
      readOnly: true
    {{- end }}
  securityContext:
    {{- include "obs-lib.containerSecurityContext" $ctx | nindent 4 }}
  {{- include "obs-lib.resources" $ctx.Values.dashboardSidecar.resources | nindent 2 }}
{{- end -}}

{{/* Datasource fields for a web-secured Prometheus or Alertmanager
     (global.web): the CA and the password are read from the files the pod
     mounts ($__file{}), never copied into the provisioning ConfigMap. */}}
{{- define "obs-grafana.webDatasource" -}}
{{- $s := include "obs-lib.webServer" . | fromJson -}}
{{- if $s.basicAuth.enabled }}
basicAuth: true
basicAuthUser: {{ $s.basicAuth.username | quote }}
{{- end }}
{{- if or $s.tls.enabled $s.basicAuth.enabled }}
secureJsonData:
  {{- if $s.tls.enabled }}
  tlsCACert: {{ printf "$__file{%s}" $s.tls.caFile | quote }}
  {{- end }}
  {{- if $s.basicAuth.enabled }}
  basicAuthPassword: {{ printf "$__file{%s}" $s.basicAuth.passwordFile | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* jsonData keys of the same: verify the serving certificate for the Service's name. */}}
{{- define "obs-grafana.webJsonData" -}}
{{- $s := include "obs-lib.webServer" . | fromJson -}}
{{- if $s.tls.enabled }}
tlsAuthWithCACert: true
serverName: {{ include "obs-lib.serviceHost" (dict "ctx" .ctx "service" .server) | quote }}
{{- end }}
{{- end -}}
