{{/* Names and labels. */}}
{{- define "staymesh.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "staymesh.fullname" -}}
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

{{- define "staymesh.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object; call with (dict "root" $ "component" "user"). */}}
{{- define "staymesh.labels" -}}
helm.sh/chart: {{ include "staymesh.chart" .root }}
{{ include "staymesh.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: staymesh
{{- end -}}

{{- define "staymesh.selectorLabels" -}}
app.kubernetes.io/name: {{ include "staymesh.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "staymesh.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "staymesh.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "staymesh.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "staymesh.configName" -}}{{ include "staymesh.fullname" . }}-config{{- end -}}

{{- define "staymesh.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- include "staymesh.fullname" . }}-secrets
{{- end -}}
{{- end -}}

{{/* `NAME` of STAYMESH_<NAME>_PORT for a service name. */}}
{{- define "staymesh.envName" -}}
{{- . | upper | replace "-" "_" -}}
{{- end -}}

{{/*
The services with serviceDefaults merged in, as YAML: {services: [...]}.
Each entry gets metricsPort (91xx) when it has none.
*/}}
{{- define "staymesh.services" -}}
{{- $out := list -}}
{{- range $entry := .Values.services -}}
{{- if not $entry.name -}}{{- fail "every entry of services needs a name" -}}{{- end -}}
{{- if not $entry.port -}}{{- fail (printf "service %s needs a port" $entry.name) -}}{{- end -}}
{{- $s := mergeOverwrite (deepCopy $.Values.serviceDefaults) (deepCopy $entry) -}}
{{- if not $s.metricsPort -}}
{{- $_ := set $s "metricsPort" (add 9100 (mod (int $s.port) 100)) -}}
{{- end -}}
{{- $out = append $out $s -}}
{{- end -}}
{{- toYaml (dict "services" $out) -}}
{{- end -}}

{{/* The Service (DNS name) of a gRPC service: (dict "root" $ "name" "user"). */}}
{{- define "staymesh.serviceHost" -}}
{{- printf "%s-%s" (include "staymesh.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Kafka topics: every service's owned topics and their dead-letter twins. */}}
{{- define "staymesh.topics" -}}
{{- $topics := list -}}
{{- range $s := (include "staymesh.services" . | fromYaml).services -}}
{{- range $kind := $s.topics -}}
{{- $t := printf "%s.%s.%s" $.Values.kafka.prefix $s.name $kind -}}
{{- $topics = append $topics $t -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "topics" $topics) -}}
{{- end -}}

{{- define "staymesh.postgresHost" -}}
{{- if .Values.postgres.internal.enabled -}}
{{- include "staymesh.fullname" . }}-postgres
{{- else -}}
{{- .Values.postgres.host -}}
{{- end -}}
{{- end -}}

{{- define "staymesh.postgresUrl" -}}
{{- $p := .Values.postgres -}}
{{- if and $p.url (not $p.internal.enabled) -}}
{{- $p.url -}}
{{- else -}}
{{- $password := ternary $p.internal.password $p.password $p.internal.enabled -}}
{{- $auth := $p.user | urlquery -}}
{{- if $password -}}{{- $auth = printf "%s:%s" $auth ($password | urlquery) -}}{{- end -}}
{{- printf "postgres://%s@%s:%v/%s" $auth (include "staymesh.postgresHost" .) $p.port $p.database -}}
{{- end -}}
{{- end -}}

{{- define "staymesh.redisUrl" -}}
{{- $r := .Values.redis -}}
{{- if $r.internal.enabled -}}
{{- printf "redis://%s-redis:6379" (include "staymesh.fullname" .) -}}
{{- else if $r.url -}}
{{- $r.url -}}
{{- else if $r.password -}}
{{- printf "redis://:%s@%s:%v" ($r.password | urlquery) $r.host $r.port -}}
{{- else -}}
{{- printf "redis://%s:%v" $r.host $r.port -}}
{{- end -}}
{{- end -}}

{{- define "staymesh.kafkaBrokers" -}}
{{- if .Values.kafka.internal.enabled -}}
{{- include "staymesh.fullname" . }}-kafka:9092
{{- else -}}
{{- required "kafka.brokers is required" .Values.kafka.brokers -}}
{{- end -}}
{{- end -}}

{{- define "staymesh.gatewayPublicUrl" -}}
{{- if .Values.gateway.publicUrl -}}
{{- .Values.gateway.publicUrl | trimSuffix "/" -}}
{{- else if .Values.ingress.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .Values.ingress.tls) 0)) .Values.ingress.host -}}
{{- else -}}
{{- printf "http://127.0.0.1:%v" .Values.gateway.httpPort -}}
{{- end -}}
{{- end -}}

{{- define "staymesh.pgSandboxHost" -}}{{ include "staymesh.fullname" . }}-pg-sandbox{{- end -}}

{{- define "staymesh.paymentPgUrl" -}}
{{- if .Values.payment.pgUrl -}}
{{- .Values.payment.pgUrl -}}
{{- else if .Values.pgSandbox.enabled -}}
{{- printf "http://%s:%v" (include "staymesh.pgSandboxHost" .) .Values.pgSandbox.port -}}
{{- else -}}
{{- fail "payment.pgUrl is required when pgSandbox.enabled is false (the payment service needs a PG)" -}}
{{- end -}}
{{- end -}}

{{/* terminationGracePeriodSeconds: preStop sleep + drain + margin. */}}
{{- define "staymesh.gracePeriod" -}}
{{- $s := .Values.shutdown -}}
{{- add $s.preStopSleepSeconds $s.drainTimeoutSeconds $s.graceMarginSeconds -}}
{{- end -}}

{{/* Pod-level pieces every staymesh pod shares. */}}
{{/* Call with the root context, or (dict "root" $ "serviceAccount" name). */}}
{{- define "staymesh.podCommon" -}}
{{- $root := .root | default . -}}
serviceAccountName: {{ .serviceAccount | default (include "staymesh.serviceAccountName" $root) }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Environment every staymesh process gets: the ConfigMap and the store URLs. */}}
{{- define "staymesh.envFrom" -}}
envFrom:
  - configMapRef:
      name: {{ include "staymesh.configName" . }}
{{- end -}}

{{- define "staymesh.storeEnv" -}}
- name: STAYMESH_POSTGRES_URL
  valueFrom:
    secretKeyRef: {name: {{ include "staymesh.secretName" . }}, key: STAYMESH_POSTGRES_URL}
- name: STAYMESH_REDIS_URL
  valueFrom:
    secretKeyRef: {name: {{ include "staymesh.secretName" . }}, key: STAYMESH_REDIS_URL}
{{- end -}}

{{- define "staymesh.lifecycle" -}}
lifecycle:
  preStop:
    sleep:
      seconds: {{ .Values.shutdown.preStopSleepSeconds }}
{{- end -}}

{{- define "staymesh.tmpVolumeMount" -}}
volumeMounts:
  - {name: tmp, mountPath: /tmp}
{{- end -}}

{{- define "staymesh.tmpVolume" -}}
volumes:
  - name: tmp
    emptyDir: {sizeLimit: 64Mi}
{{- end -}}

{{/* Annotations that make Prometheus scrape a pod's metrics port. */}}
{{- define "staymesh.scrapeAnnotations" -}}
{{- if .root.Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}
