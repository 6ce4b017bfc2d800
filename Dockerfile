# One image for every certflow role; the command picks it:
#   npm run edge     HTTP API + MQTT broker (the default)
#   npm run worker   Temporal worker (workflows + activities)
#   certflow …       the operator CLI (e.g. `certflow tenants create acme`)
# The TypeScript sources run through tsx (a runtime dependency), so there is no compile step.

# --- dependencies: better-sqlite3 is a native addon, compiled here if no prebuilt binary fits.
FROM node:20-bookworm-slim AS deps
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime: no compiler, runs as the unprivileged `node` user (uid 1000) of the base image.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
  DATA_DIR=/data \
  NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
# /data is created here, owned by `node`, so a fresh named volume mounted there is writable
# (the edge keeps its TLS identity in $DATA_DIR/tls; SQLite, if used, lives there too).
RUN mkdir -p /data \
  && chown node:node /data \
  && chmod 755 bin/certflow.js \
  && ln -s /app/bin/certflow.js /usr/local/bin/certflow
USER node
EXPOSE 8080 1883 8883
CMD ["npm", "run", "edge"]
