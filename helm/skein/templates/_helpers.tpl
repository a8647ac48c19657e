{{/* Names and labels. */}}
{{- define "skein.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "skein.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "skein.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "skein.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: skein
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "collector"). */}}
{{- define "skein.selectorLabels" -}}
app.kubernetes.io/name: {{ include "skein.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "skein.componentLabels" -}}
{{ include "skein.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "skein.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "skein.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "skein.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{/* Values that cannot work together fail the render with what to change. */}}
{{- define "skein.validate" -}}
{{- $partitions := int .Values.kafka.partitions -}}
{{- if lt $partitions 1 -}}
{{- fail "kafka.partitions must be at least 1" -}}
{{- end -}}
{{- if gt (int .Values.ingester.replicaCount) $partitions -}}
{{- fail (printf "ingester.replicaCount (%d) is above kafka.partitions (%d): a consumer group gives each partition to one ingester, so %d ingesters would sit idle. Raise kafka.partitions (a new topic, or add partitions to the existing one) or lower ingester.replicaCount." (int .Values.ingester.replicaCount) $partitions (sub (int .Values.ingester.replicaCount) $partitions)) -}}
{{- end -}}
{{- if and .Values.analytics.enabled (gt (int .Values.analytics.replicaCount) $partitions) -}}
{{- fail (printf "analytics.replicaCount (%d) is above kafka.partitions (%d): the extra workers would sit idle; lower analytics.replicaCount." (int .Values.analytics.replicaCount) $partitions) -}}
{{- end -}}
{{- if and .Values.kafka.sasl.enabled (not .Values.kafka.sasl.existingSecret) -}}
{{- fail "kafka.sasl.enabled needs kafka.sasl.existingSecret: a Secret with the SASL user name and password" -}}
{{- end -}}
{{- if and .Values.indexCleaner.enabled (lt (int .Values.indexCleaner.days) 1) -}}
{{- fail "indexCleaner.days must be at least 1: 0 would delete today's indices, which are being written" -}}
{{- end -}}
{{- if and .Values.collector.autoscaling.enabled (gt (int .Values.collector.autoscaling.minReplicas) (int .Values.collector.autoscaling.maxReplicas)) -}}
{{- fail "collector.autoscaling.minReplicas must not be above collector.autoscaling.maxReplicas" -}}
{{- end -}}
{{- end -}}

{{/* A listen address: all interfaces when on, "off" when the receiver is turned off. */}}
{{- define "skein.listen" -}}
{{- if .on -}}{{ printf "0.0.0.0:%d" (int .port) }}{{- else -}}off{{- end -}}
{{- end -}}

{{/* The skein configuration file, generated from the values. */}}
{{- define "skein.config" -}}
{{- $kafkaProps := dict -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.sasl.enabled -}}
{{- $_ := set $kafkaProps "security.protocol" "SASL_SSL" -}}
{{- else if .Values.kafka.tls.enabled -}}
{{- $_ := set $kafkaProps "security.protocol" "SSL" -}}
{{- else if .Values.kafka.sasl.enabled -}}
{{- $_ := set $kafkaProps "security.protocol" "SASL_PLAINTEXT" -}}
{{- end -}}
{{- if .Values.kafka.sasl.enabled -}}
{{- $_ := set $kafkaProps "sasl.mechanisms" .Values.kafka.sasl.mechanism -}}
{{- end -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret -}}
{{- $_ := set $kafkaProps "ssl.ca.location" (printf "/etc/skein-ca/kafka/%s" .Values.kafka.tls.caKey) -}}
{{- end -}}
{{- $kafkaProps = mustMergeOverwrite $kafkaProps (deepCopy .Values.kafka.librdkafka) -}}
{{- $es := dict "url" .Values.elasticsearch.url "index_prefix" .Values.elasticsearch.indexPrefix "shards" (int .Values.elasticsearch.shards) "replicas" (int .Values.elasticsearch.replicas) "create_templates" (not .Values.init.enabled) "trace_id_format" .Values.elasticsearch.traceIdFormat "use_aliases" .Values.elasticsearch.useAliases "retention_days" (int .Values.elasticsearch.retentionDays) -}}
{{- if .Values.elasticsearch.caSecret -}}
{{- $_ := set $es "ca_file" (printf "/etc/skein-ca/elasticsearch/%s" .Values.elasticsearch.caKey) -}}
{{- end -}}
{{- $r := .Values.collector.receivers -}}
{{- $collector := dict
  "otlp_grpc_listen" (include "skein.listen" (dict "on" $r.otlpGrpc "port" 4317))
  "otlp_http_listen" (include "skein.listen" (dict "on" $r.otlpHttp "port" 4318))
  "jaeger_grpc_listen" (include "skein.listen" (dict "on" $r.jaegerGrpc "port" 14250))
  "jaeger_thrift_http_listen" (include "skein.listen" (dict "on" $r.jaegerThriftHttp "port" 14268))
  "jaeger_compact_udp_listen" (include "skein.listen" (dict "on" $r.jaegerUdp "port" 6831))
  "jaeger_binary_udp_listen" (include "skein.listen" (dict "on" $r.jaegerUdp "port" 6832))
  "zipkin_listen" (include "skein.listen" (dict "on" $r.zipkin "port" 9411))
  "sampling_http_listen" (include "skein.listen" (dict "on" $r.sampling "port" 5778))
  "admin_listen" "0.0.0.0:14269" -}}
{{- if .Values.collector.samplingStrategies -}}
{{- $_ := set $collector "sampling_strategies_file" "/etc/skein/strategies.json" -}}
{{- end -}}
{{- $base := dict
  "kafka" (dict "brokers" .Values.kafka.brokers "spans_topic" .Values.kafka.spansTopic "dlq_topic" .Values.kafka.dlqTopic "partitions" (int .Values.kafka.partitions) "replication_factor" (int .Values.kafka.replicationFactor) "create_topics" (not .Values.init.enabled) "librdkafka" $kafkaProps)
  "elasticsearch" $es
  "collector" $collector
  "ingester" (dict "admin_listen" "0.0.0.0:14270")
  "analytics" (dict "admin_listen" "0.0.0.0:14272")
  "query" (dict "listen" "0.0.0.0:16686" "admin_listen" "0.0.0.0:16687" "collector_metrics_urls" (list (printf "http://%s-collector:14269/metrics" (include "skein.fullname" .))))
  "agent" (dict "compact_udp_listen" "0.0.0.0:6831" "binary_udp_listen" "0.0.0.0:6832" "sampling_http_listen" "0.0.0.0:5778" "admin_listen" "0.0.0.0:14271" "collector_endpoint" (printf "http://%s-collector:14250" (include "skein.fullname" .)))
  "log" (dict "level" .Values.logLevel "format" "json") -}}
{{- toYaml (mustMergeOverwrite $base (deepCopy .Values.config)) -}}
{{- end -}}

{{/* Environment every container gets: the config path and credentials from Secrets. */}}
{{- define "skein.env" -}}
- name: SKEIN_CONFIG
  value: /etc/skein/skein.yaml
{{- if .Values.elasticsearch.existingSecret }}
- name: SKEIN_ELASTICSEARCH__USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.elasticsearch.existingSecret }}
      key: {{ .Values.elasticsearch.usernameKey }}
- name: SKEIN_ELASTICSEARCH__PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.elasticsearch.existingSecret }}
      key: {{ .Values.elasticsearch.passwordKey }}
{{- end }}
{{- if .Values.kafka.sasl.enabled }}
- name: SKEIN_KAFKA__SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.usernameKey }}
- name: SKEIN_KAFKA__SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.passwordKey }}
{{- end }}
{{- end -}}

{{/* Volume mounts and volumes: (dict "root" $ "configMap" NAME). */}}
{{- define "skein.volumeMounts" -}}
- name: config
  mountPath: /etc/skein
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if and .root.Values.kafka.tls.enabled .root.Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/skein-ca/kafka
  readOnly: true
{{- end }}
{{- if .root.Values.elasticsearch.caSecret }}
- name: es-ca
  mountPath: /etc/skein-ca/elasticsearch
  readOnly: true
{{- end }}
{{- end -}}

{{- define "skein.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: tmp
  emptyDir: {}
{{- if and .root.Values.kafka.tls.enabled .root.Values.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .root.Values.kafka.tls.caSecret }}
{{- end }}
{{- if .root.Values.elasticsearch.caSecret }}
- name: es-ca
  secret:
    secretName: {{ .root.Values.elasticsearch.caSecret }}
{{- end }}
{{- end -}}

{{/* Probes on a role's admin port. */}}
{{- define "skein.probes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: admin
  periodSeconds: 10
  failureThreshold: 6
readinessProbe:
  httpGet:
    path: /readyz
    port: admin
  periodSeconds: 5
  failureThreshold: 3
startupProbe:
  httpGet:
    path: /healthz
    port: admin
  periodSeconds: 2
  failureThreshold: 60
{{- end -}}
