{{/* The resources kube-state-metrics exports, and therefore the only ones its
     ClusterRole may list and watch. Limited to what workload, node and storage
     alerts use; Secrets and ConfigMaps are deliberately absent (cluster-wide
     read of Secrets would make this pod a credential store). */}}
{{- define "obs-kube-state-metrics.resources" -}}
cronjobs,daemonsets,deployments,horizontalpodautoscalers,jobs,namespaces,nodes,persistentvolumeclaims,persistentvolumes,poddisruptionbudgets,pods,replicasets,resourcequotas,services,statefulsets
{{- end -}}
