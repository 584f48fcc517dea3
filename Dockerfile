# Build: docker build -t aistream .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/aistream ./cmd/aistream
# The state directory, owned by the runtime user: distroless has no shell to
# create it, and a volume mounted there takes this ownership when new.
RUN mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aistream /aistream
# Local table state; give every replica its own volume (or none: it is
# rebuilt from the compacted table topics). The uid:gid here is the image's
# nonroot user; deploy/k8s runs as it with the same fsGroup
# (scripts/validate-deploy.sh checks both agree).
COPY --from=build --chown=65532:65532 /out/state /var/lib/aistream
USER 65532:65532
ENV AISTREAM_STATE_DIR=/var/lib/aistream AISTREAM_HTTP_ADDR=0.0.0.0:8080 AISTREAM_LOG_FORMAT=json
VOLUME /var/lib/aistream
EXPOSE 8080
ENTRYPOINT ["/aistream"]
CMD ["run"]
