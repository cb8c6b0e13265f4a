# Multi-stage build: compile TypeScript, then a slim runtime image that runs
# `tidegate serve` as a non-root user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# The admin port (metrics, probes, status) listens on every address in the
# container so Prometheus can scrape it; outside a container it defaults to 127.0.0.1.
ENV TIDEGATE_ADMIN_ADDRESS=0.0.0.0
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY examples ./examples
USER node
EXPOSE 8080 9090
# Liveness from inside the container (the image needs no curl).
HEALTHCHECK --interval=10s --timeout=2s CMD node -e "fetch('http://127.0.0.1:9090/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve", "--config", "config/example.yaml"]
