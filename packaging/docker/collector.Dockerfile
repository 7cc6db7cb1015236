# syntax=docker/dockerfile:1
# The collector's image: built in a Rust image pinned to its release, shipped FROM scratch
# with the binary and the few glibc files it links (packaging/docker/rootfs.sh) as the nonroot
# user (65532): no shell, no package manager, no base image that floats.
#   docker build -f packaging/docker/collector.Dockerfile --build-arg VERSION=0.1.0 -t nodecheck-collector:0.1.0 .
ARG RUST_VERSION=1.95.0
FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p nodecheck-collector \
 && packaging/docker/rootfs.sh target/release/nodecheck-collector /rootfs

FROM scratch
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="nodecheck-collector" \
      org.opencontainers.image.description="nodecheck's fleet collector: reports, dashboard, API, metrics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /rootfs /
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/bin/nodecheck-collector"]
CMD ["serve", "--listen=0.0.0.0:8080", "--data-dir=/var/lib/nodecheck-collector"]
