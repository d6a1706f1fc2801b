# Keyward: a static binary on a distroless base.
#
#   docker build -t keyward .
#   docker run -p 8080:8080 -v keyward-data:/data keyward
#
# With no KEYWARD_DATABASE_URL it keeps an SQLite file in /data; set it to a
# postgres:// URL for production (see docker-compose.yml).

FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags='-s -w' -o /keyward ./cmd/keyward \
 && mkdir -p /data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /keyward /keyward
COPY --from=build --chown=65532:65532 /data /data
WORKDIR /data
VOLUME /data
ENV KEYWARD_ADDR=:8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/keyward"]
CMD ["serve"]
