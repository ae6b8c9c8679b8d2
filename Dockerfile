# syntax=docker/dockerfile:1
# The one staymesh image: every Deployment runs `staymesh <service>`.
#   docker build -t staymesh:dev .
# Stages: chef (cargo-chef on the Rust toolchain) -> planner (the dependency
# recipe from the manifests) -> build (dependencies first, cached until
# Cargo.toml or Cargo.lock change; then the workspace) -> runtime.
ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS chef
# rdkafka-sys builds librdkafka from source (./configure and make; no cmake).
RUN apt-get update \
 && apt-get install -y --no-install-recommends make g++ pkg-config zlib1g-dev perl python3 \
 && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked --version 0.1.77
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# The dependency layer: only the recipe (manifests and lock file) goes in.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked -p staymesh \
 && strip target/release/staymesh

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# The binary links glibc, libgcc, libstdc++ and zlib (all in the slim image);
# ca-certificates for https URLs such as a real PG's.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 staymesh \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin staymesh
COPY --from=build /src/target/release/staymesh /usr/local/bin/staymesh
USER 10001:10001
# In a pod the servers listen on every address (the default is 127.0.0.1).
ENV STAYMESH_BIND_HOST=0.0.0.0
# gRPC 50051-50059, metrics 9151-9159, the edge 8080 (metrics 9180), sandbox PG 8090.
EXPOSE 8080 8090 9180 50051-50059 9151-9159
ENTRYPOINT ["/usr/local/bin/staymesh"]
CMD ["--help"]
