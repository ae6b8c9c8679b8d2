# staymesh developer entry points.
#   make up     local infra + build + migrate + seed, then run the whole mesh (foreground)
#   make test   local infra + lint + every test (what .ci/run does)
#   make lint   buf lint, rustfmt check, clippy with warnings denied
#   make down   stop the local infra that scripts/infra.sh started
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Work from a fresh clone where the tool directories are not on PATH (CI).
PYENV_ROOT ?= $(HOME)/.pyenv
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PYENV_ROOT)/shims:$(PYENV_ROOT)/bin:$(PATH)

TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
STAYMESH := $(TARGET_DIR)/release/staymesh
NEXTEST_PROFILE ?= $(if $(CI),ci,default)

.PHONY: help up test lint down infra urls build tools chart bench bench-coupons bench-points bench-payments bench-bookings bench-queue

help:
	@echo "make up | test | lint | bench | bench-coupons | bench-points | bench-payments | bench-bookings | bench-queue | down | infra | urls"

# Every service's ports come from the binary's one list of services.
urls: build
	@$(STAYMESH) services

build:
	cargo build --release -p staymesh

infra:
	scripts/infra.sh up

tools:
	@scripts/infra.sh tools

# A signing key kept in .staymesh/ (gitignored), so tokens survive a restart of `make up`.
JWT_ENV := .staymesh/jwt.env

up: infra build
	$(STAYMESH) migrate
	$(STAYMESH) seed
	@test -s $(JWT_ENV) || $(STAYMESH) keygen --kid local | grep '^STAYMESH_JWT_SIGNING_KEYS=' > $(JWT_ENV)
	@$(MAKE) --no-print-directory urls
	set -a; . ./$(JWT_ENV); set +a; exec $(STAYMESH) all

# The e2e tests run the staymesh binary as pods; it is built before they
# start, so the first of them does not compile it while others run their
# sales on starved cores.
test: infra
	$(MAKE) --no-print-directory lint
	cargo build -p staymesh --bin staymesh
	cargo nextest run --workspace --no-fail-fast --profile $(NEXTEST_PROFILE)
	$(MAKE) --no-print-directory chart

# The Helm chart, k8s/, the alert rules, dashboards, Dockerfile and Tiltfile,
# checked offline (helm/tests; Helm's engine through helm-python-sdk,
# kubernetes-validate, kubectl kustomize, promtool).
chart: tools
	python3 -m pytest helm/tests -q -p no:cacheprovider

lint: tools
	npx --no-install buf lint
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

down:
	scripts/infra.sh down

# Load runner against a running mesh (`make up` in another terminal); prints numbers.
bench:
	cargo run --release -p staymesh-bench

# 300,000 ClaimCoupon calls selling out 100,000 coupons against the running mesh,
# next to a bare tonic echo and redis-benchmark running the claim script.
bench-coupons:
	cargo run --release -p staymesh-bench -- coupons

# GetBalance and ReservePoints+ReleasePoints on users the run funds itself,
# against the running mesh, next to a bare tonic echo.
bench-points:
	cargo run --release -p staymesh-bench -- points

# The browser's return from the sandbox PG to a PAID payment, through the edge.
bench-payments:
	cargo run --release -p staymesh-bench -- payments

# Whole bookings (create, watch, pay at the sandbox PG, CONFIRMED) through the
# saga, against the running mesh, next to pgbench's TPC-B on the same Postgres.
bench-bookings:
	cargo run --release -p staymesh-bench -- bookings

# A crowd of 50,000 at one waiting room: enters per second next to a bare
# tonic echo, the watch streams one queue process holds and its RSS, the
# admission rate against the configured one. Needs only `make infra`.
bench-queue: infra
	cargo build --release -p staymesh --bin staymesh
	cargo run --release -p staymesh-bench -- queue
