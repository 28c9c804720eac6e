# A zone server image: the TypeScript is built in a stage of its own; the image holds the compiled code and the
# production dependencies only, and runs as the node image's unprivileged user.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json zones.example.json ./
COPY deploy/docker/healthcheck.js ./healthcheck.js
EXPOSE 8761
# The node user by number: Kubernetes' runAsNonRoot can verify a numeric user only.
USER 1000:1000
# Healthy once startup sync is over; the start period covers a sync that waits for its peers.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["node", "healthcheck.js"]
ENTRYPOINT ["node", "dist/cli.js"]
