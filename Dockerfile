# syntax=docker/dockerfile:1
# One image for every service and the gateway. The Helm chart chooses what runs by command:
#   /usr/bin/tini -- node dist/services/<name>/main.js [migrate]     (a service, or its migrations)
#   /usr/bin/tini -- node dist/gateway/main.js                        (the JSON gateway)
# `docker run` without a command runs $SERVICE (or the first argument):
#   docker run -e SERVICE=users ... shop-mesh          docker run shop-mesh cart migrate
#
# PID 1 is tini: it forwards SIGTERM to node (whose platform handler drains calls for
# SHUTDOWN_GRACE) and reaps zombies. The process runs as the unprivileged `node` user (uid 1000),
# writes nothing outside /tmp, and so runs with a read-only root filesystem.

ARG NODE_IMAGE=node:20.19-bookworm-slim

# --- build: install everything, compile, then keep production dependencies only --------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY tsconfig.json ./
COPY gen ./gen
COPY platform ./platform
COPY services ./services
COPY gateway ./gateway
COPY scripts ./scripts
COPY test ./test
RUN npx tsc -b \
 && npm prune --omit=dev \
 # What the processes read at run time besides compiled code: SQL migrations and other assets
 # found next to the sources (platform/paths.ts sourcePath), never tests or benchmarks.
 && mkdir -p /out \
 && cp package.json /out/ \
 && cp -r node_modules /out/ \
 && find dist \( -path '*/test' -o -path '*/bench' \) -prune -o -type f \( -name '*.js' -o -name '*.js.map' \) -print0 | xargs -0 cp --parents -t /out \
 && find platform services gateway \( -path '*/test' -o -path '*/bench' \) -prune -o -type f ! -name '*.ts' -print0 | xargs -0 cp --parents -t /out

# --- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
# Dependencies and assets belong to root (read-only for the process); dist/ belongs to `node`
# so that Tilt's live update can sync freshly compiled files into a dev container.
COPY --from=build /out/ ./
RUN chown -R node:node /app/dist
USER node
# The ports are documentation: gRPC services 50051-50060, the gateway 8080, metrics 9464.
EXPOSE 8080 9464
ENTRYPOINT ["/usr/bin/tini", "--", "/bin/sh", "-c", "svc=\"${SERVICE:-$1}\"; if [ -z \"$SERVICE\" ] && [ $# -gt 0 ]; then shift; fi; case \"$svc\" in '') echo 'set SERVICE=<name> or pass a service name (users, cart, ..., gateway)' >&2; exit 64;; gateway) main=dist/gateway/main.js;; *) main=\"dist/services/$svc/main.js\";; esac; exec node --enable-source-maps \"$main\" \"$@\"", "shop"]
CMD []
