# syntax=docker/dockerfile:1
# The collector's image: built in a Rust image, shipped in distroless as the nonroot user
# (65532), with no shell and no package manager.
#   docker build -f packaging/docker/collector.Dockerfile --build-arg VERSION=0.1.0 -t nodecheck-collector:0.1.0 .
ARG RUST_VERSION=1.95
FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p nodecheck-collector \
 && strip target/release/nodecheck-collector

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="nodecheck-collector" \
      org.opencontainers.image.description="nodecheck's fleet collector: reports, dashboard, API, metrics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /src/target/release/nodecheck-collector /usr/bin/nodecheck-collector
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/bin/nodecheck-collector"]
CMD ["serve", "--listen=0.0.0.0:8080", "--data-dir=/var/lib/nodecheck-collector"]
