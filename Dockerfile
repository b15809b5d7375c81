# Gatehouse as a container. Runs as a non-root user; needs DATABASE_URL (the embedded PostgreSQL is for
# development) and, with NODE_ENV=production, explicit secrets, an https issuer and SMTP_URL (see README).
FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production UV_THREADPOOL_SIZE=8 MALLOC_ARENA_MAX=2 PORT=3000 GATEHOUSE_DATA_DIR=/tmp/gatehouse
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY views ./views
COPY public ./public
COPY migrations ./migrations
COPY tsconfig.json ./
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/start.js"]
