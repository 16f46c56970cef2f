# Escalator — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c

export PATH := $(HOME)/.local/bin:$(PATH)
UV ?= uv
RUN := $(UV) run --frozen
LOCAL := deploy/local

FILE ?= ../shared/datasets/dev.jsonl
SUB ?= alice
ROLE ?= admin
TENANT ?= demo

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

.PHONY: uv
uv: ## Install uv (from PyPI) when it is missing
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet --user uv \
	  || python3 -m pip install --quiet --user --break-system-packages uv

.PHONY: install
install: uv ## Install every Python dependency (locked) into .venv
	@$(UV) sync --frozen --quiet

.PHONY: infra
infra: install ## Start Kafka and PostgreSQL locally (idempotent) and create the topics
	@$(LOCAL)/kafka.sh start >/dev/null
	$(LOCAL)/postgres.sh start >/dev/null
	KAFKA_BOOTSTRAP_SERVERS=$$($(LOCAL)/kafka.sh start 2>/dev/null | tail -n1 | cut -d= -f2) \
	  $(RUN) python -m escalator_runtime.topics

.PHONY: run
run: infra ## Start the whole stack in the background and print where to look
	@export $$($(LOCAL)/kafka.sh start 2>/dev/null | tail -n1) $$($(LOCAL)/postgres.sh start 2>/dev/null | tail -n1)
	$(LOCAL)/services.sh start
	echo
	echo "Escalator is running."
	echo "  Workspace       http://127.0.0.1:8000/queue   (sign in: alice / demo / admin)"
	echo "  Settings        http://127.0.0.1:8000/settings?agent=support-bot   (preview chat: /preview)"
	echo "  Queue API       http://127.0.0.1:8000/api/v1/escalations   (OpenAPI: /docs)"
	echo "  Health          http://127.0.0.1:800{0..4}/readyz           (metrics: /metrics)"
	echo "  Kafka           $$KAFKA_BOOTSTRAP_SERVERS"
	echo "  PostgreSQL      $$DATABASE_URL"
	echo "  Emails          .run/mail/"
	echo "  Logs            .run/logs/"
	echo "  Token           make token SUB=alice ROLE=admin TENANT=demo"
	echo '  Try             curl -s -H "Authorization: Bearer $$(make -s token)" http://127.0.0.1:8000/api/v1/escalations'

TEST_KAFKA := ESCALATOR_STATE_DIR="$${XDG_STATE_HOME:-$$HOME/.local/state}/escalator-test" \
	KAFKA_PORT=19092 KAFKA_CONTROLLER_PORT=19093
# The chaos suite stops and starts a broker and a PostgreSQL of its own (tests/chaos/infra.py).
CHAOS_STATE := ESCALATOR_STATE_DIR="$${XDG_STATE_HOME:-$$HOME/.local/state}/escalator-chaos"
# The benchmarks' broker: no test run's services on it (bench/stack.py).
BENCH_KAFKA := ESCALATOR_STATE_DIR="$${XDG_STATE_HOME:-$$HOME/.local/state}/escalator-bench" \
	KAFKA_PORT=39092 KAFKA_CONTROLLER_PORT=39093

.PHONY: down
down: ## Stop everything `make run` started, and the tests' broker (data is kept)
	@$(LOCAL)/services.sh stop
	$(LOCAL)/kafka.sh stop
	$(TEST_KAFKA) $(LOCAL)/kafka.sh stop
	$(CHAOS_STATE) KAFKA_PORT=29092 KAFKA_CONTROLLER_PORT=29093 $(LOCAL)/kafka.sh stop
	$(CHAOS_STATE) $(LOCAL)/postgres.sh stop
	$(BENCH_KAFKA) $(LOCAL)/kafka.sh stop
	$(LOCAL)/postgres.sh stop

.PHONY: clean
clean: down ## Stop everything and delete local Kafka and PostgreSQL data
	@rm -rf "$${ESCALATOR_STATE_DIR:-$${XDG_STATE_HOME:-$$HOME/.local/state}/escalator}" .run \
	  "$${XDG_STATE_HOME:-$$HOME/.local/state}/escalator-test" \
	  "$${XDG_STATE_HOME:-$$HOME/.local/state}/escalator-chaos" \
	  "$${XDG_STATE_HOME:-$$HOME/.local/state}/escalator-bench"

.PHONY: status
status: ## Which services are ready
	@$(LOCAL)/services.sh status

.PHONY: token
token: ## Print a bearer token: make token SUB=alice ROLE=admin TENANT=acme
	@$(RUN) --quiet python -m queue_api.tokens --sub "$(SUB)" --role "$(ROLE)" --tenant "$(TENANT)"

.PHONY: browser
browser: ## Install Debian's Chromium for the browser tests (idempotent)
	@$(LOCAL)/chromium.sh >/dev/null

.PHONY: test
test: install browser ## Install what is needed, start Kafka and PostgreSQL, run the whole suite
	@$(RUN) python -m escalator_schemas.publish --check
	$(RUN) pytest -q

.PHONY: chaos
chaos: install ## Fault injection (kills, broker restart, database outage, poison, claims); prints counts
	@$(RUN) pytest -s -q tests/chaos

.PHONY: lint
lint: install ## ruff and mypy (strict)
	@$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy -p escalator_schemas -p escalator_runtime -p detector -p router -p queue_api \
	  -p notifier -p webhook_dispatcher -p tests -p bench

.PHONY: eval
eval: install ## Detection quality over a labelled JSON-lines file: make eval FILE=…
	@$(RUN) python -m detector.evaluate "$(FILE)" $(if $(VERBOSE),--verbose)

.PHONY: backtest
# Through the environment, so changes may hold any quotes (e.g. JSON keyword lists).
backtest: export BACKTEST_SET = $(SET)
backtest: export BACKTEST_AGAINST = $(AGAINST)
backtest: install ## A changed policy on a JSON-lines file: make backtest FILE=… SET="…" AGAINST="…"
	@$(RUN) python -m detector.backtest "$(FILE)" --set "$$BACKTEST_SET" \
	  --against "$$BACKTEST_AGAINST" $(if $(NO_MODEL),--no-model)

.PHONY: bench
bench: install ## Benchmarks in one table, each figure next to a baseline of the same run (JSON too)
	@$(RUN) python -m bench

.PHONY: schemas
schemas: install ## Regenerate the published JSON Schema and AsyncAPI files
	@$(RUN) python -m escalator_schemas.publish
