{{/* Helm's recommended labels; `component` is the AGF service. */}}
{{- define "agf.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "agf.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: agf
{{- end -}}

{{- define "agf.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "agf.image" -}}
{{- if .Values.image.digest -}}{{ .Values.image.repository }}@{{ .Values.image.digest }}{{- else -}}{{ .Values.image.repository }}:{{ .Values.image.tag }}{{- end -}}
{{- end -}}

{{/* A pod's Postgres credentials (.service: the AGF service): its own role with data rights on its schema and the
migration role, or the one shared URL. */}}
{{- define "agf.databaseEnv" -}}
{{- if .root.Values.postgres.serviceRoles.enabled -}}
- name: DATABASE_URL
  valueFrom: { secretKeyRef: { name: {{ printf "%s-%s" .root.Values.postgres.serviceRoles.secretPrefix .service }}, key: DATABASE_URL } }
- name: AGF_DATABASE_MIGRATION_URL
  valueFrom: { secretKeyRef: { name: {{ .root.Values.postgres.serviceRoles.migrationSecret }}, key: DATABASE_URL } }
{{- else -}}
- name: DATABASE_URL
  valueFrom: { secretKeyRef: { name: {{ .root.Values.postgres.existingSecret }}, key: {{ .root.Values.postgres.secretKey }} } }
{{- end -}}
{{- end -}}

{{/* How a pod reaches NATS (.seedSecret: the Secret holding its nkey seed, if any): the seed list, the seed file, the CA. */}}
{{- define "agf.natsEnv" -}}
- { name: NATS_URL, value: {{ .root.Values.nats.url | quote }} }
- { name: AGF_STREAM_REPLICAS, value: {{ .root.Values.nats.streamReplicas | quote }} }
{{- if .seedSecret }}
- { name: NATS_NKEY_SEED_FILE, value: /etc/agf/nats-seed/seed.nk }
{{- end }}
{{- if .root.Values.nats.tlsCaSecret }}
- { name: NATS_TLS_CA_FILE, value: /etc/agf/nats-ca/ca.pem }
{{- end }}
{{- end -}}

{{/* The volumes agf.natsEnv's files come from: only the pod's own seed (.user), and the CA. */}}
{{- define "agf.natsVolumes" -}}
{{- if .seedSecret }}
- name: nats-seed
  secret: { secretName: {{ .seedSecret }}, defaultMode: 0400, items: [{ key: {{ printf "%s.nk" .user | quote }}, path: seed.nk }] }
{{- end }}
{{- if .root.Values.nats.tlsCaSecret }}
- name: nats-ca
  secret: { secretName: {{ .root.Values.nats.tlsCaSecret }}, items: [{ key: ca.pem, path: ca.pem }] }
{{- end }}
{{- end -}}

{{- define "agf.natsVolumeMounts" -}}
{{- if .seedSecret }}
- { name: nats-seed, mountPath: /etc/agf/nats-seed, readOnly: true }
{{- end }}
{{- if .root.Values.nats.tlsCaSecret }}
- { name: nats-ca, mountPath: /etc/agf/nats-ca, readOnly: true }
{{- end }}
{{- end -}}
