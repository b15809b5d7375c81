# Gatehouse as a container. Runs as a non-root user; needs DATABASE_URL (the embedded PostgreSQL is for
# development) and, with NODE_ENV=production, explicit secrets, an https issuer and SMTP_URL (see README).
# Two stages: the first compiles TypeScript to dist/ (tsc is a dev dependency), the second holds the production
# dependencies and the compiled code only; the server runs JavaScript, no TypeScript loader at run time.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY tsconfig.json tsconfig.build.json ./
RUN npm run build

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production UV_THREADPOOL_SIZE=8 MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576 PORT=3000 GATEHOUSE_DATA_DIR=/tmp/gatehouse
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY views ./views
COPY public ./public
COPY locales ./locales
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/start.cjs"]
