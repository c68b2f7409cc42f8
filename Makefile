# Shortcuts; the scripts are the source of truth (make is not needed to use Gatehouse).
.PHONY: test build bench

test:
	./scripts/test.sh

build:
	go build -o bin/gatehouse ./cmd/gatehouse

bench:
	./scripts/build-testbed.sh
	./scripts/build-helm.sh
	go test -run '^$$' -bench . -benchtime 5x -timeout 30m ./bench/...
