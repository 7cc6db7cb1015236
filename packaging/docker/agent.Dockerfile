# syntax=docker/dockerfile:1
# The agent's image: built in a Rust image pinned to its release, shipped FROM scratch with the
# binary and the few glibc files it links (packaging/docker/rootfs.sh): no shell, no package
# manager, the very things nodecheck flags in other containers. No base image floats: the
# build image is pinned to a version and the shipped one has none. It runs as uid 0 of the
# container with all but two capabilities dropped (see packaging/kubernetes/base/agent.yaml).
#   docker build -f packaging/docker/agent.Dockerfile --build-arg VERSION=0.1.0 -t nodecheck:0.1.0 .
ARG RUST_VERSION=1.95.0
FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p nodecheck \
 && packaging/docker/rootfs.sh target/release/nodecheck /rootfs

FROM scratch
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="nodecheck" \
      org.opencontainers.image.description="Kubernetes node hardening agent and scanner" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /rootfs /
ENTRYPOINT ["/usr/bin/nodecheck"]
CMD ["agent"]
