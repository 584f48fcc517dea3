# Build: docker build -t aistream .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/aistream ./cmd/aistream

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aistream /aistream
# Local table state; give every replica its own volume (or none: it is
# rebuilt from the compacted table topics).
ENV AISTREAM_STATE_DIR=/var/lib/aistream AISTREAM_HTTP_ADDR=0.0.0.0:8080 AISTREAM_LOG_FORMAT=json
VOLUME /var/lib/aistream
EXPOSE 8080
ENTRYPOINT ["/aistream"]
CMD ["run"]
