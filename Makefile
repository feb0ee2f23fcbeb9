# `make demo` and `make test` do all set-up themselves (tools/setup.sh), and only what is missing.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
# tools/setup.sh prints the bin dir of a Node >= 22.13 (the system one, or a project-local copy it installed).
WITH_NODE = NODE_BIN=$$(bash tools/setup.sh) && export PATH="$$NODE_BIN:$$PWD/node_modules/.bin:$$PATH" &&

.PHONY: setup test demo bench load build zk clean slither

setup:
	@$(WITH_NODE) echo "[setup] ready: node $$(node --version), $$(.venv/bin/python -c 'import ezkl; print("ezkl", ezkl.__version__)'), $$(redis-server --version | cut -d' ' -f3)"

## Build the zk artifacts (content-addressed cache) and the contracts, generated verifiers included.
build:
	@$(WITH_NODE) tsx zk/build/prepare.ts && hardhat build --quiet

test:
	@$(WITH_NODE) tsx zk/build/prepare.ts && hardhat test

demo:
	@$(WITH_NODE) tsx zk/build/prepare.ts && hardhat build --quiet && tsx demo/main.ts $(ARGS)

## Proving, verification, inference, gas and end-to-end latency per demo model -> bench/results/latest.{json,md};
## settlement gas per way to settle (real spike verifiers and proofs) -> bench/results/gas.{json,md}.
## make bench ARGS="--runs 3" (default 5 runs; every figure is the median).
bench:
	@$(WITH_NODE) tsx zk/build/prepare.ts && hardhat build --quiet && tsx bench/main.ts $(ARGS) && tsx bench/gas.ts

## Static analysis of contracts/ (not contracts/generated/): slither, offline, on Hardhat's build output. Full report;
## fails on a High/Medium finding not in slither's triage database contracts/slither.db.json (make test checks the same).
slither:
	@$(WITH_NODE) hardhat build --quiet && tsx tools/slither.ts

## 1,000 jobs in a burst against one relayer and two operators -> bench/results/load.json (make load ARGS="--jobs N").
load:
	@$(WITH_NODE) tsx zk/build/prepare.ts && hardhat build --quiet && tsx bench/load.ts $(ARGS)

clean:
	rm -rf artifacts cache types .cache contracts/generated
