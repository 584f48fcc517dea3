# aistream — the two commands that matter:
#   make run    the whole pipeline in one process: embedded broker, demo traffic, views
#   make test   every test, against a real Apache Kafka broker and the embedded one
.PHONY: run test build lint bench broker-start broker-stop clean

GO ?= go

# Builds first (go build -v names each package as it compiles: the first
# build downloads modules and takes a few minutes), then execs the binary,
# so Ctrl-C stops aistream itself and make exits 0.
run:
	@echo "building bin/aistream (first time: downloads modules and compiles every package, a few minutes)..."
	$(GO) build -v -o bin/aistream ./cmd/aistream
	@echo "starting bin/aistream dev --demo (Ctrl-C to stop)"
	@exec bin/aistream dev --demo

test:
	scripts/test.sh

build:
	$(GO) build -o bin/aistream ./cmd/aistream

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

# Benchmarks against the real broker, each beside a plain-client baseline
# measured in the same run.
bench:
	scripts/bench.sh

broker-start:
	scripts/kafka-broker.sh start

broker-stop:
	scripts/kafka-broker.sh stop

clean:
	rm -rf bin .aistream-dev
