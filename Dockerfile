# tidegate's container image: one image for every part (edge `serve`,
# `autoscaler`, `queue-proxy`) and the demo app (examples/hello.js), run as
# the non-root user `node` (uid 1000).
#
#   docker build -t tidegate:0.1.0 .
#   docker run --rm -p 8080:8080 -p 9090:9090 tidegate:0.1.0     # the newcomer demo
#
# Reproducible: the base image is one exact Node release (pass
# --build-arg NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:… to pin it by digest
# too), and dependencies come from package-lock.json through `npm ci`.
# uWebSockets.js ships glibc binaries, so the base is Debian, not Alpine.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# Compile TypeScript (needs the dev dependencies).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# The runtime dependencies alone, from the lockfile.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# The admin port (metrics, probes, status) listens on every address in the
# container so Prometheus and the kubelet can reach it; outside a container
# it defaults to 127.0.0.1.
ENV TIDEGATE_ADMIN_ADDRESS=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY examples ./examples
# The admin dashboard's page, script and style, read at startup (uPlot comes from node_modules).
COPY src/admin/dashboard ./src/admin/dashboard
USER node
# 8080/9090: serve's data and admin ports; 8012/9091: the queue-proxy's.
EXPOSE 8080 9090 8012 9091
# Liveness from inside the container with node itself (the slim image has no
# curl): GET /healthz on serve's admin port (ADMIN_PORT, default 9090).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "require('http').get({host:'127.0.0.1',port:process.env.ADMIN_PORT||9090,path:'/healthz',timeout:2000},r=>process.exit(r.statusCode===200?0:1)).on('timeout',function(){this.destroy()}).on('error',()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve", "--config", "config/example.yaml"]
