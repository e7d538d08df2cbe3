# syntax=docker/dockerfile:1
# ExamFee container image: the server, the candidates' web client and the operators'
# console, all built here from the sources (nothing needs building beforehand).
#   docker build -t examfee .
#   docker run -p 8080:8080 -v examfee-data:/app/data examfee
# Configuration is by environment variables (README, "Configuration"): DATABASE_URL,
# EXAMFEE_MASTER_KEY, EXAMFEE_BOOTSTRAP_ADMIN, ... For two replicas on PostgreSQL behind
# TLS see docker-compose.yml and docs/operations.md, "Container image and compose".

############################
# Build stage: every build step is scripts/build-image-contents.sh, which the test
# command also runs outside Docker (with the dev profile), so the steps are checked
# on every run even where no container engine is.
############################
FROM rust:1.95-bookworm AS builder

# npm fetches binaryen's wasm-opt for the web clients (Debian's is too old to use).
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The whole context (see .dockerignore: no target/, data/, .git, node_modules, and no
# web/dist or console/dist, which are built here).
COPY . .

# Caches of the crates registry and of cargo's output survive between builds; the
# script copies what the image needs out of them into /out.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/cache/target \
    CARGO_TARGET_DIR=/cache/target scripts/build-image-contents.sh /out --profile release

############################
# Runtime stage: the binary and the two clients, nothing to build with.
############################
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system examfee \
 && useradd --system --gid examfee --home-dir /app --no-create-home --shell /usr/sbin/nologin examfee \
 && mkdir -p /app/data \
 && chown examfee:examfee /app/data

COPY --from=builder /out/examfee /usr/local/bin/examfee
# Served from the working directory's web/dist (EXAMFEE_WEB_DIR) and console/dist.
COPY --from=builder /out/web/dist /app/web/dist
COPY --from=builder /out/console/dist /app/console/dist

WORKDIR /app
USER examfee

# The default SQLite database lives under ./data (= /app/data); mount a volume there
# (-v examfee-data:/app/data) when not using PostgreSQL. `examfee backup` writes its
# copies wherever it is told: mount a second volume for them, kept apart from the
# master key.
ENV EXAMFEE_LISTEN=0.0.0.0:8080
EXPOSE 8080

# No HEALTHCHECK: the slim image has no curl/wget. Probe GET /readyz from outside (the
# compose file's proxy does).
CMD ["examfee", "serve"]
