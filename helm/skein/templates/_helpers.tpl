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
{{- if and .Values.tls.admin.clientCaSecret (eq .Values.tls.admin.clientAuth "required") -}}
{{- fail "tls.admin.clientAuth required would refuse the kubelet's probes, which send no client certificate; use optional (and auth.admin for /metrics)" -}}
{{- end -}}
{{- range $group := list "receivers" "query" "admin" -}}
{{- $tls := index $.Values.tls $group -}}
{{- if and $tls.clientCaSecret (not $tls.secret) -}}
{{- fail (printf "tls.%s.clientCaSecret needs tls.%s.secret: client certificates are asked only over TLS" $group $group) -}}
{{- end -}}
{{- if not (has $tls.clientAuth (list "optional" "required")) -}}
{{- fail (printf "tls.%s.clientAuth must be optional or required, not %q" $group $tls.clientAuth) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.tenancy.enabled (not .Values.tenancy.tenants) -}}
{{- fail "tenancy.enabled needs tenancy.tenants: the allow-list of tenant names" -}}
{{- end -}}
{{- if and .Values.tenancy.enabled .Values.collector.receivers.jaegerUdp (not .Values.tenancy.udpTenant) -}}
{{- fail "tenancy.enabled with collector.receivers.jaegerUdp needs tenancy.udpTenant: Jaeger UDP carries no tenant header; set it, or turn jaegerUdp off" -}}
{{- end -}}
{{- if and .Values.tenancy.enabled .Values.agent.enabled (not (or .Values.agent.tenant .Values.tenancy.udpTenant)) -}}
{{- fail "tenancy.enabled with agent.enabled needs agent.tenant (or tenancy.udpTenant): the tenant the agent sends its spans as" -}}
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
{{- /* TLS through kafka.tls (SASL_SSL when SASL is on too); SASL's mechanism through librdkafka. */ -}}
{{- if and .Values.kafka.sasl.enabled (not .Values.kafka.tls.enabled) -}}
{{- $_ := set $kafkaProps "security.protocol" "SASL_PLAINTEXT" -}}
{{- end -}}
{{- if .Values.kafka.sasl.enabled -}}
{{- $_ := set $kafkaProps "sasl.mechanisms" .Values.kafka.sasl.mechanism -}}
{{- end -}}
{{- $kafkaProps = mustMergeOverwrite $kafkaProps (deepCopy .Values.kafka.librdkafka) -}}
{{- $kafkaTls := dict "enabled" .Values.kafka.tls.enabled -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret -}}
{{- $_ := set $kafkaTls "ca_file" (printf "/etc/skein-ca/kafka/%s" .Values.kafka.tls.caKey) -}}
{{- end -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.clientSecret -}}
{{- $_ := set $kafkaTls "cert_file" "/etc/skein-tls/kafka-client/tls.crt" -}}
{{- $_ := set $kafkaTls "key_file" "/etc/skein-tls/kafka-client/tls.key" -}}
{{- end -}}
{{- $es := dict "url" .Values.elasticsearch.url "index_prefix" .Values.elasticsearch.indexPrefix "shards" (int .Values.elasticsearch.shards) "replicas" (int .Values.elasticsearch.replicas) "create_templates" (not .Values.init.enabled) "trace_id_format" .Values.elasticsearch.traceIdFormat "use_aliases" .Values.elasticsearch.useAliases "retention_days" (int .Values.elasticsearch.retentionDays) -}}
{{- if .Values.elasticsearch.caSecret -}}
{{- $_ := set $es "ca_file" (printf "/etc/skein-ca/elasticsearch/%s" .Values.elasticsearch.caKey) -}}
{{- end -}}
{{- if .Values.elasticsearch.clientSecret -}}
{{- $_ := set $es "cert_file" "/etc/skein-tls/elasticsearch-client/tls.crt" -}}
{{- $_ := set $es "key_file" "/etc/skein-tls/elasticsearch-client/tls.key" -}}
{{- end -}}
{{- $listeners := dict -}}
{{- range $group := list "receivers" "query" "admin" -}}
{{- $tls := index $.Values.tls $group -}}
{{- $auth := index $.Values.auth $group -}}
{{- $g := dict -}}
{{- if $tls.secret -}}
{{- $t := dict "cert_file" (printf "/etc/skein-tls/%s/tls.crt" $group) "key_file" (printf "/etc/skein-tls/%s/tls.key" $group) -}}
{{- if $tls.clientCaSecret -}}
{{- $_ := set $t "client_ca_file" (printf "/etc/skein-tls/%s-client-ca/%s" $group $tls.clientCaKey) -}}
{{- $_ := set $t "client_auth" $tls.clientAuth -}}
{{- end -}}
{{- $_ := set $g "tls" $t -}}
{{- end -}}
{{- $a := dict -}}
{{- if $auth.bearerTokensSecret -}}
{{- $_ := set $a "bearer_tokens_file" (printf "/etc/skein-auth/%s-tokens/tokens" $group) -}}
{{- end -}}
{{- if $auth.basicUsersSecret -}}
{{- $_ := set $a "basic_users_file" (printf "/etc/skein-auth/%s-users/users" $group) -}}
{{- end -}}
{{- if $a -}}
{{- $_ := set $g "auth" $a -}}
{{- end -}}
{{- if $g -}}
{{- $_ := set $listeners $group $g -}}
{{- end -}}
{{- end -}}
{{- $adminScheme := ternary "https" "http" (not (empty .Values.tls.admin.secret)) -}}
{{- $agent := dict "compact_udp_listen" "0.0.0.0:6831" "binary_udp_listen" "0.0.0.0:6832" "sampling_http_listen" "0.0.0.0:5778" "admin_listen" "0.0.0.0:14271" "collector_endpoint" (printf "%s://%s-collector:14250" (ternary "https" "http" (not (empty .Values.tls.receivers.secret))) (include "skein.fullname" .)) -}}
{{- $agentTls := dict -}}
{{- if .Values.agent.collectorTls.caSecret -}}
{{- $_ := set $agentTls "ca_file" (printf "/etc/skein-ca/collector/%s" .Values.agent.collectorTls.caKey) -}}
{{- end -}}
{{- if .Values.agent.collectorTls.clientSecret -}}
{{- $_ := set $agentTls "cert_file" "/etc/skein-tls/agent-client/tls.crt" -}}
{{- $_ := set $agentTls "key_file" "/etc/skein-tls/agent-client/tls.key" -}}
{{- end -}}
{{- if $agentTls -}}
{{- $_ := set $agent "collector_tls" $agentTls -}}
{{- end -}}
{{- if .Values.tenancy.enabled -}}
{{- $_ := set $agent "tenant" (default .Values.tenancy.udpTenant .Values.agent.tenant) -}}
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
  "kafka" (dict "brokers" .Values.kafka.brokers "spans_topic" .Values.kafka.spansTopic "dlq_topic" .Values.kafka.dlqTopic "partitions" (int .Values.kafka.partitions) "replication_factor" (int .Values.kafka.replicationFactor) "create_topics" (not .Values.init.enabled) "librdkafka" $kafkaProps "tls" $kafkaTls)
  "elasticsearch" $es
  "collector" $collector
  "ingester" (dict "admin_listen" "0.0.0.0:14270")
  "analytics" (dict "admin_listen" "0.0.0.0:14272")
  "query" (dict "listen" "0.0.0.0:16686" "admin_listen" "0.0.0.0:16687" "collector_metrics_urls" (list (printf "%s://%s-collector:14269/metrics" $adminScheme (include "skein.fullname" .))))
  "agent" $agent
  "log" (dict "level" .Values.logLevel "format" "json") -}}
{{- if $listeners -}}
{{- $_ := set $base "listeners" $listeners -}}
{{- end -}}
{{- if .Values.tenancy.enabled -}}
{{- $tenancy := dict "enabled" true "header" .Values.tenancy.header "tenants" .Values.tenancy.tenants "rate_limit_spans_per_second" (int .Values.tenancy.rateLimitSpansPerSecond) "rate_limits" .Values.tenancy.rateLimits -}}
{{- if .Values.tenancy.udpTenant -}}
{{- $_ := set $tenancy "udp_tenant" .Values.tenancy.udpTenant -}}
{{- end -}}
{{- $_ := set $base "tenancy" $tenancy -}}
{{- end -}}
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

{{/* Every Secret mounted as files, as a YAML list of {name, secret, path}. */}}
{{- define "skein.secretFiles" -}}
{{- $v := .Values -}}
{{- $files := list -}}
{{- if and $v.kafka.tls.enabled $v.kafka.tls.caSecret -}}{{- $files = append $files (dict "name" "kafka-ca" "secret" $v.kafka.tls.caSecret "path" "/etc/skein-ca/kafka") -}}{{- end -}}
{{- if and $v.kafka.tls.enabled $v.kafka.tls.clientSecret -}}{{- $files = append $files (dict "name" "kafka-client" "secret" $v.kafka.tls.clientSecret "path" "/etc/skein-tls/kafka-client") -}}{{- end -}}
{{- if $v.elasticsearch.caSecret -}}{{- $files = append $files (dict "name" "es-ca" "secret" $v.elasticsearch.caSecret "path" "/etc/skein-ca/elasticsearch") -}}{{- end -}}
{{- if $v.elasticsearch.clientSecret -}}{{- $files = append $files (dict "name" "es-client" "secret" $v.elasticsearch.clientSecret "path" "/etc/skein-tls/elasticsearch-client") -}}{{- end -}}
{{- range $group := list "receivers" "query" "admin" -}}
{{- $tls := index $v.tls $group -}}
{{- $auth := index $v.auth $group -}}
{{- if $tls.secret -}}{{- $files = append $files (dict "name" (printf "tls-%s" $group) "secret" $tls.secret "path" (printf "/etc/skein-tls/%s" $group)) -}}{{- end -}}
{{- if and $tls.secret $tls.clientCaSecret -}}{{- $files = append $files (dict "name" (printf "tls-%s-client-ca" $group) "secret" $tls.clientCaSecret "path" (printf "/etc/skein-tls/%s-client-ca" $group)) -}}{{- end -}}
{{- if $auth.bearerTokensSecret -}}{{- $files = append $files (dict "name" (printf "auth-%s-tokens" $group) "secret" $auth.bearerTokensSecret "path" (printf "/etc/skein-auth/%s-tokens" $group)) -}}{{- end -}}
{{- if $auth.basicUsersSecret -}}{{- $files = append $files (dict "name" (printf "auth-%s-users" $group) "secret" $auth.basicUsersSecret "path" (printf "/etc/skein-auth/%s-users" $group)) -}}{{- end -}}
{{- end -}}
{{- if $v.agent.collectorTls.caSecret -}}{{- $files = append $files (dict "name" "collector-ca" "secret" $v.agent.collectorTls.caSecret "path" "/etc/skein-ca/collector") -}}{{- end -}}
{{- if $v.agent.collectorTls.clientSecret -}}{{- $files = append $files (dict "name" "agent-client" "secret" $v.agent.collectorTls.clientSecret "path" "/etc/skein-tls/agent-client") -}}{{- end -}}
{{- toYaml $files -}}
{{- end -}}

{{/* Volume mounts and volumes: (dict "root" $ "configMap" NAME). Secrets are mounted as
directories (no subPath), so that a changed Secret reaches the files skein re-reads. */}}
{{- define "skein.volumeMounts" -}}
- name: config
  mountPath: /etc/skein
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- range (include "skein.secretFiles" .root | fromYamlArray) }}
- name: {{ .name }}
  mountPath: {{ .path }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "skein.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: tmp
  emptyDir: {}
{{- range (include "skein.secretFiles" .root | fromYamlArray) }}
- name: {{ .name }}
  secret:
    secretName: {{ .secret }}
{{- end }}
{{- end -}}

{{/* Probes on a role's admin port. */}}
{{- define "skein.probes" -}}
{{- $scheme := ternary "HTTPS" "HTTP" (not (empty .Values.tls.admin.secret)) -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: admin
    scheme: {{ $scheme }}
  periodSeconds: 10
  failureThreshold: 6
readinessProbe:
  httpGet:
    path: /readyz
    port: admin
    scheme: {{ $scheme }}
  periodSeconds: 5
  failureThreshold: 3
startupProbe:
  httpGet:
    path: /healthz
    port: admin
    scheme: {{ $scheme }}
  periodSeconds: 2
  failureThreshold: 60
{{- end -}}
