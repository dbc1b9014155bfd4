{{/*
Render-time checks of values the schema cannot express (it sees one field at
a time). Each failure is one line naming the values path and the fix.
*/}}

{{/* A Prometheus duration (e.g. 1m30s) in milliseconds. */}}
{{- define "obs.durationMs" -}}
{{- $units := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 "w" 604800000 "y" 31536000000 -}}
{{- $total := 0 -}}
{{- range $part := regexFindAll "[0-9]+(ms|s|m|h|d|w|y)" (toString .) -1 -}}
{{- $unit := regexFind "(ms|s|m|h|d|w|y)$" $part -}}
{{- $total = add $total (mul (int64 (trimSuffix $unit $part)) (index $units $unit)) -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/* Every `resources` map below .node: requests may not exceed limits. */}}
{{- define "obs.checkResources" -}}
{{- $path := .path -}}
{{- range $key, $value := .node -}}
{{- if kindIs "map" $value -}}
{{- $here := ternary $key (printf "%s.%s" $path $key) (eq $path "") -}}
{{- if and (eq $key "resources") (hasKey $value "requests") (hasKey $value "limits") -}}
{{- range $resource := list "cpu" "memory" -}}
{{- $request := index $value.requests $resource -}}
{{- $limit := index $value.limits $resource -}}
{{- if and $request $limit (gt (float64 (include "obs-lib.quantity" $request)) (float64 (include "obs-lib.quantity" $limit))) -}}
{{- fail (printf "%s.requests.%s is %v, above %s.limits.%s %v: a request may not exceed its limit" $here $resource $request $here $resource $limit) -}}
{{- end -}}
{{- end -}}
{{- else if not (has $key (list "config" "global" "files" "items")) -}}
{{- include "obs.checkResources" (dict "node" $value "path" $here) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Every route of the Alertmanager tree names a receiver the config defines. */}}
{{- define "obs.checkRoutes" -}}
{{- $names := .names -}}
{{- if and .route.receiver (not (has .route.receiver $names)) -}}
{{- fail (printf "%s.receiver is %q, which alertmanager.config.receivers does not define (defined: %s)" .path .route.receiver (join ", " $names)) -}}
{{- end -}}
{{- range $i, $child := (.route.routes | default list) -}}
{{- include "obs.checkRoutes" (dict "route" $child "names" $names "path" (printf "%s.routes[%d]" $.path $i)) -}}
{{- end -}}
{{- end -}}

{{/* A disruption budget that lets every replica go at once protects nothing. */}}
{{- define "obs.checkBudget" -}}
{{- if and .budget.enabled (ge (int .budget.maxUnavailable) (int .replicas)) -}}
{{- fail (printf "%s.podDisruptionBudget.maxUnavailable is %v with %v replicas: it must be below the replica count" .path .budget.maxUnavailable .replicas) -}}
{{- end -}}
{{- end -}}
