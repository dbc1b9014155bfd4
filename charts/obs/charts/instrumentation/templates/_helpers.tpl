{{/* The tier row writes the obs release's Service names with placeholders
     (obsgen.artifacts.instrumentation RELEASE/NAMESPACE); this fills them in. */}}
{{- define "instrumentation.fill" -}}
{{- .text | replace "@RELEASE@" .ctx.Release.Name | replace "@NAMESPACE@" .ctx.Release.Namespace -}}
{{- end -}}
