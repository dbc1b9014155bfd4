{{/* ConfigMap holding one rule file: "<fullname>-rules-<file stem>". */}}
{{- define "prometheus.ruleConfigMapName" -}}
{{- printf "%s-rules-%s" (include "obs-lib.fullname" .ctx) (.file | trimSuffix ".yaml") | trunc 63 | trimSuffix "-" -}}
{{- end -}}
