# syntax=docker/dockerfile:1
# goavail: build on the current Node LTS, run on a slim image with only
# production dependencies.
#
#   docker build -t goavail .
#   docker run --rm --cap-add NET_RAW \
#     -v $PWD/goavail.toml:/etc/goavail/goavail.toml:ro \
#     -e CLOUDFLARE_API_TOKEN goavail --no-dry-run
#
# ICMP probes need NET_RAW (--cap-add NET_RAW); `--type tcp` does not.
# Ports: the cluster listens on [Members] local_addr (e.g. 8081/tcp).

FROM node:24-bookworm AS build
WORKDIR /app
# raw-socket (the ICMP prober's raw sockets) is a native addon: python3, make and g++ build it.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY types ./types
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY goavail.toml /etc/goavail/goavail.toml
# The identity key (key_file, default beside the config) must be writable:
# mount /etc/goavail read-write, or set key_file to a path on a volume.
# The control token (control_token_file, beside key_file) too, or the
# agent runs without the control endpoint (goavail drain gets 503).
USER root
ENTRYPOINT ["node", "/app/dist/src/cli/main.js", "monitor", "-f", "/etc/goavail/goavail.toml"]
