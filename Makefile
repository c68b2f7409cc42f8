# Shortcuts; the scripts are the source of truth (make is not needed to use Gatehouse).
.PHONY: test build bench fuzz mutate

# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 20s

test:
	./scripts/test.sh

fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

mutate:
	./scripts/mutate.sh

build:
	go build -o bin/gatehouse ./cmd/gatehouse

bench:
	./scripts/build-testbed.sh
	./scripts/build-helm.sh
	go test -run '^$$' -bench 'API' -benchtime 3s ./bench/...
	go test -run '^$$' -bench 'AuditedWrites' -benchtime 3000x ./sqlstore
	go test -run '^$$' -bench 'Pages$$' -benchtime 200x ./bench/...
	go test -run '^$$' -bench 'PagesAtScale' -benchtime 200x ./bench/...
	go test -run '^$$' -bench 'Metrics' -benchtime 20x ./bench/...
	go test -run '^$$' -bench 'Votes' -benchtime 2000x ./bench/...
	go test -run '^$$' -bench 'ApprovalToReady' -benchtime 20x ./bench/...
	go test -run '^$$' -bench 'DeployVsHelmCLI' -benchtime 10x -timeout 30m ./bench/...
	go test -run '^$$' -bench 'HundredApps|ThousandApps' -benchtime 1x -timeout 40m ./bench/...
	go test -run '^$$' -bench 'IdleServer' -benchtime 1x -timeout 40m ./bench/...
