# ExamFee container image.
#   docker build -t examfee .
#   docker run -p 8080:8080 -v examfee-data:/app/data examfee
# Configuration is by environment variables (see the API contract): DATABASE_URL,
# EXAMFEE_BOOTSTRAP_ADMIN, EXAMFEE_JWT_SECRET, EXAMFEE_MASTER_KEY, EXAMFEE_DEMO, ...

############################
# Build stage
############################
FROM rust:1.95-bookworm AS builder
WORKDIR /src

# The whole context (see .dockerignore: no target/, data/, .git, node_modules).
COPY . .

# Docker cannot COPY a path only if it exists, so make sure web/dist exists here
# (empty when no SPA was built) and copy it unconditionally into the runtime stage.
RUN cargo build --release --locked -p examfee \
 && install -D -m 0755 target/release/examfee /out/examfee \
 && mkdir -p web/dist

############################
# Runtime stage
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
COPY --from=builder /src/web/dist /app/web/dist

WORKDIR /app
USER examfee

# The default SQLite database lives under ./data (= /app/data); mount a volume there
# (-v examfee-data:/app/data) when not using PostgreSQL.
ENV EXAMFEE_LISTEN=0.0.0.0:8080
EXPOSE 8080

# No HEALTHCHECK: the slim image has no curl/wget. Probe GET /healthz from outside.
CMD ["examfee", "serve"]
