# One image for every node of the cluster; docker-compose.yml runs three of it (see
# docs/metrics.md for the monitoring around them). The node runs TypeScript through tsx,
# so dev dependencies are installed too.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
# The data volume belongs to the unprivileged user the node runs as (a named volume takes
# the owner of the image's directory when first created).
RUN mkdir -p /data && chown node:node /data
USER node
# 7001: client API, /metrics, dashboard; 7101: peer transport.
EXPOSE 7001 7101
ENTRYPOINT ["node", "--import", "tsx", "src/node/main.ts"]
