# tandem-server image: docker build -t tandem-server:2.0.0 .
# Two stages: Debian 12 (bookworm) with the build packages of scripts/install-deps.sh,
# then bookworm-slim with only the shared libraries the binary loads. tests/deploy
# checks the rules this file follows (scripts/check-dockerfile.py).

FROM debian:bookworm AS build
# The packages of scripts/install-deps.sh (build and run), from Debian bookworm.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev libssl-dev \
      libsqlite3-dev libpq-dev libhiredis-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Release, the server alone: no tests, no load generator or microbenchmarks.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DTANDEM_BUILD_TESTS=OFF -DTANDEM_BUILD_BENCH=OFF \
 && cmake --build /build --target tandem-server \
 && strip /build/tandem-server

FROM debian:bookworm-slim AS runtime
# The runtime packages of what the binary links (readelf -d; dpkg -S): Boost.JSON 1.81
# and Boost.Container (which Boost::json links; only unoptimised builds keep a reference
# to it, but it costs little to be sure), OpenSSL 3, SQLite, libpq; hiredis for cluster
# mode. libstdc++6, libgcc-s1 and libc6 are in the base image. No curl: the healthcheck
# uses bash's /dev/tcp.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libboost-json1.81.0 libboost-container1.81.0 libssl3 libsqlite3-0 libpq5 \
      libhiredis0.14 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A fixed, unprivileged uid/gid (Kubernetes' runAsUser in k8s/base/deployment.yaml).
RUN groupadd --system --gid 10001 tandem \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin tandem \
 && mkdir -p /data && chown 10001:10001 /data && chmod 0750 /data
COPY --from=build /build/tandem-server /usr/local/bin/tandem-server

ENV PORT=4001 \
    HOST=0.0.0.0 \
    DATA_DIR=/data
# DATA_DIR: the SQLite database (standalone) or the journal's spill file (PostgreSQL).
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
EXPOSE 4001
# The server drains on SIGTERM (close 1001, wait DRAIN_TIMEOUT_MS, flush the journal
# for up to 3 s): give it 15 s (docker stop -t 15, compose stop_grace_period).
STOPSIGNAL SIGTERM
# GET /health over bash's /dev/tcp: healthy when the status line says 200.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-4001} && printf 'GET /health HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 2 _ status _ <&3 && [ \"$status\" = 200 ]"]
ENTRYPOINT ["/usr/local/bin/tandem-server"]
