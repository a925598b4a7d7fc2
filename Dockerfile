# aphex-controller's container image.
#
# The build stage runs what CI runs (scripts/build-controller: scripts/install-deps, the CMake
# preset 'default' with warnings as errors) on the Debian release CI runs on, so the image holds
# the binary CI tested, linked against the same libraries. The final stage is distroless
# 'static' (CA certificates, /etc/passwd with the nonroot user, no shell, no package manager) plus
# the binary and exactly the shared libraries ldd lists for it, glibc and its loader included:
# libcurl's dependency tree has no static archives in Debian, and bringing glibc from the build
# stage means no mismatch with the base image's. docs/packaging.md has the contents and size.
#
#   docker build -t aphex-controller:0.1.0 .

FROM debian:12-slim AS build
WORKDIR /src
# The packages first, in their own layer: source changes then do not reinstall them.
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps && rm -rf /var/lib/apt/lists/*
COPY . .
RUN scripts/build-controller --no-deps --rootfs /rootfs

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /rootfs/ /
# Numeric, so that runAsNonRoot can be verified by the kubelet without reading /etc/passwd.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/aphex-controller"]
