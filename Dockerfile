# ggscale server image: `docker build --build-arg GGSCALE_COMMIT=$(git rev-parse HEAD) -t ggscale .`
# then `docker run -p 8080:8080 -v ggscale-data:/data ggscale` (embedded PostgreSQL in /data), or pass
# DATABASE_URL / CACHE_BACKEND=redis REDIS_URL to use external services.
#
# Both stages use the same base image, pinned by tag (Node 24, the current LTS, on Debian 12 bookworm).
# The public repository's release process should also pin it by digest
# (node:24-bookworm-slim@sha256:...) and let Dependabot/Renovate bump the digest; keep both FROM lines equal.

# ---- build: all dependencies, bundle src/ into dist/, then drop the dev dependencies ----
FROM node:24-bookworm-slim AS build
WORKDIR /app

# Dependencies first so this layer is cached until the lock file changes. Scripts are skipped because
# `prepare` (the build) needs the sources that are not copied yet; esbuild's own install script is the
# only one in the tree, so it is run explicitly.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild esbuild

COPY tsconfig.json ./
COPY scripts/ scripts/
COPY src/ src/
COPY migrations/ migrations/

# The commit recorded in dist/build-info.json (and reported by /v1/healthz); .git is not in the context.
ARG GGSCALE_COMMIT=unknown
RUN GGSCALE_COMMIT="${GGSCALE_COMMIT}" node scripts/build.mjs \
 && test -s dist/cli.js \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: the bundle, the migrations, production node_modules; no build tools, no root ----
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    GGSCALE_DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app

# Application files stay owned by root (read-only for the server); only /data is writable by it.
# The server finds its package root by walking up to package.json, and reads migrations/ beside dist/.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/migrations ./migrations

# The official image's unprivileged `node` user (uid 1000) owns the data folder; a named volume mounted
# there starts with this ownership. A bind mount must be writable by uid 1000.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]

EXPOSE 8080

# Liveness only (no dependency is touched); slim images have no curl, so node itself probes.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/v1/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# node runs as PID 1 and handles SIGTERM itself (graceful shutdown, exit 0); `docker run --init` adds a
# reaper if child processes are ever spawned.
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
