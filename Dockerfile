# One image for every node of the cluster; docker-compose.yml runs three of it.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
EXPOSE 7001 7101
ENTRYPOINT ["node", "--import", "tsx", "src/node/main.ts"]
