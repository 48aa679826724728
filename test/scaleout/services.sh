#!/usr/bin/env bash
# PostgreSQL and an S3 server (SeaweedFS `weed mini`) on loopback, for the
# shared-lake tests: a DuckLake catalog in PostgreSQL, its files on S3.
#
#   services.sh start DIR     initialise (first time) and start both; DIR/env
#                             then holds the MALLARD_* settings that reach them
#   services.sh stop DIR      stop both
#   services.sh pg-stop|pg-start|s3-stop|s3-start DIR   one of them (outage tests)
#
# DIR/env is shell syntax (`set -a; . DIR/env`).
# Env: WEED (the weed binary), PG_BIN (PostgreSQL's bin dir), PGPORT (54329).
set -euo pipefail
cmd=$1 dir=$(mkdir -p "$2" && cd "$2" && pwd)
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PGPORT=${PGPORT:-54329}
S3PORT=${S3PORT:-8333}
MASTERPORT=${MASTERPORT:-9333}
WEED=${WEED:-weed}
# PostgreSQL refuses to run as root: run it as `postgres` then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_start() {
  if [ ! -f "$dir/pg/PG_VERSION" ]; then
    mkdir -p "$dir/pg" "$dir/pglog"
    if [ "$(id -u)" = 0 ]; then chmod o+x "$dir"; chown postgres "$dir/pg" "$dir/pglog"; chmod 700 "$dir/pg"; fi
    as_pg "$PG_BIN/initdb" -A trust -U postgres -D "$dir/pg" >/dev/null
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$dir/pg" -l "$dir/pglog/pg.log" -w \
    -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'mallard'" \
    | grep -q 1 || as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres mallard
}
pg_stop() { [ -f "$dir/pg/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null || true; }

s3_start() {
  mkdir -p "$dir/s3"
  AWS_ACCESS_KEY_ID=mallard AWS_SECRET_ACCESS_KEY=mallard-secret setsid "$WEED" mini -dir="$dir/s3" \
    -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port="$S3PORT" -master.port="$MASTERPORT" -admin.ui=false -webdav=false \
    -master.volumeSizeLimitMB=64 -bucket=lake \
    >"$dir/s3.log" 2>&1 &
  echo $! >"$dir/s3.pid"
  for _ in $(seq 1 240); do
    # Up when the master can place a write: the S3 port answers before the
    # volume server has registered its capacity.
    if curl -s "http://127.0.0.1:$MASTERPORT/dir/assign?collection=lake" | grep -q '"fid"'; then
      return 0
    fi
    sleep 0.5
  done
  echo "services.sh: S3 server did not come up; see $dir/s3.log" >&2
  exit 1
}
s3_stop() {
  if [ -f "$dir/s3.pid" ]; then
    pid=$(cat "$dir/s3.pid")
    # weed mini may take its time over SIGTERM: give it 5 s, then SIGKILL.
    kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 -- -"$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/s3.pid"
  fi
}

case $cmd in
  start)
    pg_start
    s3_start
    cat >"$dir/env" <<ENV
MALLARD_LAKE='ducklake:postgres:dbname=mallard host=127.0.0.1 port=$PGPORT user=postgres'
MALLARD_LAKE_DATA_PATH=s3://lake/events/
MALLARD_S3_ENDPOINT=127.0.0.1:$S3PORT
MALLARD_S3_KEY_ID=mallard
MALLARD_S3_SECRET=mallard-secret
MALLARD_S3_URL_STYLE=path
MALLARD_S3_USE_SSL=false
ENV
    ;;
  stop) s3_stop; pg_stop ;;
  pg-stop) pg_stop ;;
  pg-start) pg_start ;;
  s3-stop) s3_stop ;;
  s3-start) s3_start ;;
  *) echo "usage: services.sh start|stop|pg-stop|pg-start|s3-stop|s3-start DIR" >&2; exit 2 ;;
esac
