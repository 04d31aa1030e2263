# oned-emu on Node 20: `serve` (the API, with or without the scheduler), `scheduler`, `migrate`, `seed --demo`, `top`.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src src
COPY sql sql
RUN npx tsc -p tsconfig.json

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production LISTEN_ADDRESS=0.0.0.0
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY sql sql
COPY --from=build /app/dist/src dist/src
# Without DATABASE_URL the embedded PostgreSQL keeps its data here (mount a volume on it to keep it).
RUN mkdir data && chown node:node data
USER node
EXPOSE 2633
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve"]
