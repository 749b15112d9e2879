# syntax=docker/dockerfile:1
# Stage 1: build the single volsnap binary (deno compile embeds the sources,
# node_modules and db/migrations).
FROM denoland/deno:2.9.6 AS build
WORKDIR /src
COPY deno.json deno.lock ./
COPY main.ts ./
COPY src ./src
COPY routes ./routes
COPY cli ./cli
COPY db ./db
RUN deno install
RUN deno task compile && mkdir -p /out && cp dist/volsnap /out/volsnap

# Stage 2: a slim glibc runtime (the libsql native addon needs glibc). zstd: the
# archive reader decodes zstd with the zstd CLI, which reports corrupt and
# truncated frames (Deno 2.9's streaming decoder does not, safely).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates zstd \
  && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/volsnap /volsnap
VOLUME /var/lib/volsnap
ENV VOLSNAP_DATA_DIR=/var/lib/volsnap
# Operator choice: inside a container, listening on loopback only is unreachable
# from outside. Publish the port only on a trusted interface; the API holds the
# keys to all your data (bearer token in /var/lib/volsnap/token).
# ENV VOLSNAP_LISTEN=0.0.0.0:7780
EXPOSE 7780
# Run with the Docker socket and the volume paths mounted at their host paths, e.g.
#   docker run -v /var/run/docker.sock:/var/run/docker.sock \
#     -v /var/lib/docker/volumes:/var/lib/docker/volumes -v volsnap:/var/lib/volsnap \
#     -e VOLSNAP_LISTEN=0.0.0.0:7780 -p 127.0.0.1:7780:7780 volsnap
ENTRYPOINT ["/volsnap", "serve"]
