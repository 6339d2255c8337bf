{{/*
Named helpers shared by every template. A workload is resolved once into a dict ("shop.resolve")
and every template reads that dict, so a service is only ever described in values.yaml.
*/}}

{{- define "shop.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "shop.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The Kubernetes name of a workload (Deployment, Service, ServiceAccount...): shop-users. */}}
{{- define "shop.workloadName" -}}
{{- printf "%s-%s" (include "shop.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* A name for a dev dependency: shop-postgres. */}}
{{- define "shop.depName" -}}
{{- printf "%s-%s" (include "shop.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Deep merge of .src into .dst (mutates .dst). Unlike mergeOverwrite, false/0/"" from .src win. */}}
{{- define "shop.mergeInto" -}}
{{- $dst := .dst -}}
{{- range $k, $v := .src -}}
{{- $cur := get $dst $k -}}
{{- if and (kindIs "map" $v) (kindIs "map" $cur) -}}
{{- include "shop.mergeInto" (dict "dst" $cur "src" $v) -}}
{{- else -}}
{{- $_ := set $dst $k $v -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Fills .out with the resolved workload .name: defaults, then its entry, plus name and kubeName.
Usage: {{- $w := dict -}}{{- include "shop.resolve" (dict "root" $ "name" "users" "out" $w) -}}
*/}}
{{- define "shop.resolve" -}}
{{- $entry := index .root.Values.services .name | default dict -}}
{{- $w := .out -}}
{{- include "shop.mergeInto" (dict "dst" $w "src" (deepCopy .root.Values.defaults)) -}}
{{- include "shop.mergeInto" (dict "dst" $w "src" (deepCopy $entry)) -}}
{{- $_ := set $w "name" .name -}}
{{- $_ := set $w "kubeName" (include "shop.workloadName" (dict "root" .root "name" .name)) -}}
{{- if not $w.entrypoint -}}
{{- $_ := set $w "entrypoint" (printf "dist/services/%s/main.js" .name) -}}
{{- end -}}
{{- if not (hasKey $w "port") -}}
{{- fail (printf "services.%s.port is required" .name) -}}
{{- end -}}
{{- if and (eq $w.protocol "grpc") (not (hasKey $w "grpcService")) -}}
{{- fail (printf "services.%s.grpcService is required (e.g. shop.%s.v1.Service)" .name .name) -}}
{{- end -}}
{{- end -}}

{{/* Names of the enabled workloads, comma-joined (range over splitList). */}}
{{- define "shop.enabledWorkloads" -}}
{{- $names := list -}}
{{- range $name, $entry := .Values.services -}}
{{- $enabled := true -}}
{{- if and (kindIs "map" $entry) (hasKey $entry "enabled") -}}{{- $enabled = $entry.enabled -}}{{- else -}}{{- $enabled = $.Values.defaults.enabled -}}{{- end -}}
{{- if $enabled -}}{{- $names = append $names $name -}}{{- end -}}
{{- end -}}
{{- join "," $names -}}
{{- end -}}

{{- define "shop.chartLabel" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of a workload's objects. .root, .w (resolved workload), .version (optional). */}}
{{- define "shop.labels" -}}
helm.sh/chart: {{ include "shop.chartLabel" .root }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: shop
app.kubernetes.io/component: {{ get . "component" | default (ternary "gateway" "service" (eq .w.protocol "http")) }}
{{ include "shop.selectorLabels" . }}
app: {{ .w.name }}
{{- end -}}

{{- define "shop.selectorLabels" -}}
app.kubernetes.io/name: {{ .w.name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Labels of a dev dependency's objects. .root, .name */}}
{{- define "shop.depLabels" -}}
helm.sh/chart: {{ include "shop.chartLabel" .root }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: shop
app.kubernetes.io/component: {{ get . "component" | default "dev-dependency" }}
{{ include "shop.depSelectorLabels" . }}
{{- end -}}

{{- define "shop.depSelectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "shop.image" -}}
{{- $tag := .tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" .root.Values.image.repository $tag -}}
{{- end -}}

{{/* host:port of a workload inside the namespace. */}}
{{- define "shop.addr" -}}
{{- $peer := dict -}}
{{- include "shop.resolve" (dict "root" .root "name" .name "out" $peer) -}}
{{- printf "%s:%d" $peer.kubeName (int $peer.port) -}}
{{- end -}}

{{/* The SPIFFE principal of a workload's service account, as Istio names callers. */}}
{{- define "shop.principal" -}}
{{- printf "%s/ns/%s/sa/%s" .root.Values.mesh.trustDomain .root.Release.Namespace (include "shop.workloadName" .) -}}
{{- end -}}

{{- define "shop.secretName" -}}
{{- if .w.existingSecret -}}{{- .w.existingSecret -}}{{- else -}}{{- .w.kubeName -}}{{- end -}}
{{- end -}}

{{/* The password of a service's own user on the dev PostgreSQL (deterministic, dev only). */}}
{{- define "shop.devDbPassword" -}}
{{- printf "%s:%s" .root.Values.dev.postgres.passwordSeed .name | sha256sum | trunc 24 -}}
{{- end -}}

{{- define "shop.otlpEndpoint" -}}
{{- if .Values.dev.jaeger.enabled -}}
{{- printf "http://%s:4318" (include "shop.depName" (dict "root" . "name" "jaeger")) -}}
{{- else -}}
{{- .Values.otlpEndpoint -}}
{{- end -}}
{{- end -}}

{{/*
The plain environment of workload .w (ConfigMap data). Fills .out; values are strings.
Order of precedence: sharedEnv, serviceEnv (gRPC services), chart-derived, the entry's env.
*/}}
{{- define "shop.configEnv" -}}
{{- $root := .root -}}
{{- $w := .w -}}
{{- $out := .out -}}
{{- range $k, $v := $root.Values.sharedEnv }}{{- $_ := set $out $k (toString $v) -}}{{- end -}}
{{- if eq $w.protocol "grpc" -}}
{{- range $k, $v := $root.Values.serviceEnv }}{{- $_ := set $out $k (toString $v) -}}{{- end -}}
{{- $_ := set $out "USERS_ADDR" (include "shop.addr" (dict "root" $root "name" "users")) -}}
{{- if $w.postgres -}}
{{- $migrateAtStart := or (not $root.Values.migrations.enabled) $root.Values.dev.postgres.enabled -}}
{{- $_ := set $out "MIGRATE_ON_START" (toString $migrateAtStart) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $out $w.portEnv (toString (int $w.port)) -}}
{{- range $peer, $_methods := $w.calls -}}
{{- $_ := set $out (printf "%s_ADDR" (upper $peer)) (include "shop.addr" (dict "root" $root "name" $peer)) -}}
{{- end -}}
{{- $otlp := include "shop.otlpEndpoint" $root -}}
{{- if $otlp -}}{{- $_ := set $out "OTEL_EXPORTER_OTLP_ENDPOINT" $otlp -}}{{- end -}}
{{- if $root.Values.metrics.enabled -}}{{- $_ := set $out "METRICS_PORT" (toString (int $root.Values.metrics.port)) -}}{{- end -}}
{{- range $k, $v := $w.env }}{{- $_ := set $out $k (toString $v) -}}{{- end -}}
{{- end -}}

{{/* The secret environment of workload .w (Secret data, not yet base64). Fills .out. */}}
{{- define "shop.secretEnv" -}}
{{- $root := .root -}}
{{- $w := .w -}}
{{- $out := .out -}}
{{- if $w.postgres -}}
{{- if $root.Values.dev.postgres.enabled -}}
{{- $host := include "shop.depName" (dict "root" $root "name" "postgres") -}}
{{- $_ := set $out "DATABASE_URL" (printf "postgres://%s:%s@%s:5432/%s" $w.name (include "shop.devDbPassword" (dict "root" $root "name" $w.name)) $host $w.name) -}}
{{- else -}}
{{- $url := index $root.Values.external.postgres.urls $w.name | default "" -}}
{{- $_ := set $out "DATABASE_URL" (required (printf "external.postgres.urls.%s is required when dev.postgres is off (or set services.%s.existingSecret)" $w.name $w.name) $url) -}}
{{- end -}}
{{- end -}}
{{- if $w.amqp -}}
{{- if $root.Values.dev.rabbitmq.enabled -}}
{{- $r := $root.Values.dev.rabbitmq -}}
{{- $_ := set $out "AMQP_URL" (printf "amqp://%s:%s@%s:5672" $r.username $r.password (include "shop.depName" (dict "root" $root "name" "rabbitmq"))) -}}
{{- else -}}
{{- $_ := set $out "AMQP_URL" (required (printf "external.rabbitmq.url is required when dev.rabbitmq is off (or set services.%s.existingSecret)" $w.name) $root.Values.external.rabbitmq.url) -}}
{{- end -}}
{{- end -}}
{{- if $w.mongodb -}}
{{- if $root.Values.dev.mongodb.enabled -}}
{{- $m := $root.Values.dev.mongodb -}}
{{- $_ := set $out "MONGODB_URL" (printf "mongodb://%s:%s@%s:27017/%s?authSource=admin&directConnection=true" $m.username $m.password (include "shop.depName" (dict "root" $root "name" "mongodb")) $w.name) -}}
{{- else -}}
{{- $url := index $root.Values.external.mongodb.urls $w.name | default "" -}}
{{- $_ := set $out "MONGODB_URL" (required (printf "external.mongodb.urls.%s is required when dev.mongodb is off (or set services.%s.existingSecret)" $w.name $w.name) $url) -}}
{{- end -}}
{{- end -}}
{{- range $k, $v := $w.secretEnv }}{{- $_ := set $out $k (toString $v) -}}{{- end -}}
{{- end -}}

{{/* True (non-empty) when any enabled workload needs MongoDB. */}}
{{- define "shop.anyMongo" -}}
{{- range $name := splitList "," (include "shop.enabledWorkloads" .) -}}
{{- $w := dict -}}
{{- include "shop.resolve" (dict "root" $ "name" $name "out" $w) -}}
{{- if $w.mongodb -}}yes{{- end -}}
{{- end -}}
{{- end -}}

{{/* The pod's security context (the container's comes from the workload's securityContext). */}}
{{- define "shop.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The container command: tini reaps and forwards SIGTERM so the platform drains. .w, .args */}}
{{- define "shop.command" -}}
- /usr/bin/tini
- --
- node
{{- range .w.nodeFlags }}
- {{ . | quote }}
{{- end }}
- {{ .w.entrypoint }}
{{- range .args }}
- {{ . }}
{{- end }}
{{- end -}}

{{/* A gRPC method path: names are qualified with the workload's service, paths kept. .w, .method */}}
{{- define "shop.methodPath" -}}
{{- if hasPrefix "/" .method -}}{{- .method -}}{{- else -}}{{- printf "/%s/%s" .w.grpcService .method -}}{{- end -}}
{{- end -}}
