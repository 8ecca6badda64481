# syntax=docker/dockerfile:1
# otp-sidecar: a static-glibc Rust binary on distroless, non-root, no shell.
# Build from the repository root:
#   docker build -f deploy/docker/otp-sidecar.Dockerfile -t otp-sidecar:0.1.0 .

# Builder and runtime share Debian 12 (bookworm), so the binary's glibc matches.
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
# Dependencies first: this layer is rebuilt only when the manifests change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY src ./src
COPY templates ./templates
# touch: make cargo see the real sources as newer than the placeholder build.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && install -D -m 0755 target/release/otp-sidecar /out/otp-sidecar

# cc: glibc + libgcc, which a Rust binary needs; nonroot: uid/gid 65532; no shell.
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="otp-sidecar" \
      org.opencontainers.image.description="Email one-time-code step for Keycloak" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/otp-sidecar /usr/local/bin/otp-sidecar
USER 65532:65532
EXPOSE 8081
# No HEALTHCHECK: the image has no shell or HTTP client to run one. Kubernetes
# probes GET /healthz and /readyz (deploy/kubernetes); Compose checks the pod
# from the Keycloak container (deploy/compose.yaml).
ENTRYPOINT ["/usr/local/bin/otp-sidecar"]
CMD ["--config", "/etc/otp-sidecar/config.toml", "run"]
