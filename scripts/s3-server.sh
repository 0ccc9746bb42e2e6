#!/usr/bin/env bash
# A throwaway single-node Ceph cluster (mon + memstore osd + radosgw) serving S3 on loopback.
#
#   scripts/s3-server.sh start DIR PORT   fresh cluster in DIR (must not exist or be empty);
#                                          radosgw (beast) on 127.0.0.1:PORT; prints
#                                          S3_ENDPOINT=... S3_ACCESS_KEY=... S3_SECRET_KEY=... S3_REGION=...
#                                          one per line on stdout (progress and errors go to stderr)
#   scripts/s3-server.sh stop DIR         SIGTERM the daemons by the PIDs they wrote, SIGKILL after
#                                          a few seconds, then remove DIR
#
# Needs: ceph-mon ceph-osd radosgw ceph-common (monmaptool, ceph, radosgw-admin) and curl.
# Optional environment:
#   S3_ACCESS_KEY / S3_SECRET_KEY   the S3 user's keys (defaults below)
#   S3_MON_PORT                     the monitor's port (default: a free random one in 10000-32000)
#   S3_MEMSTORE_BYTES               size memstore reports to ceph (default 8 GiB; RAM is used only
#                                   for what is stored)
#   S3_SERVER_VERBOSE=1             log each step's time to stderr
#   S3_START_TIMEOUT                seconds to wait for a signed request to succeed (default 60)
# Several clusters can run side by side: each has its own DIR, fsid, mon port and sockets.
set -euo pipefail

ACCESS_KEY=${S3_ACCESS_KEY:-TSDOCKERTESTACCESS01}
SECRET_KEY=${S3_SECRET_KEY:-tsdockerTestSecretKey0123456789abcdefghij}
REGION=us-east-1
MEMSTORE_BYTES=${S3_MEMSTORE_BYTES:-8589934592}
START_TIMEOUT=${S3_START_TIMEOUT:-60}

log() { echo "s3-server: $*" >&2; }
# With S3_SERVER_VERBOSE=1, the time since start at each step goes to stderr.
step() { [[ ${S3_SERVER_VERBOSE:-} != 1 ]] || log "+$(($(now_ms) - t0)) ms: $*"; }
die() { log "$*"; exit 1; }

usage() {
  echo "usage: $0 start DIR PORT | stop DIR" >&2
  exit 2
}

now_ms() { date +%s%3N; }

# Is something listening on 127.0.0.1:$1 (TCP)?
port_in_use() {
  ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

pick_mon_port() {
  local p i
  for i in $(seq 1 50); do
    p=$((10000 + RANDOM % 22000))
    if ! port_in_use "$p"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# The PID in a pid file, if that process is alive and is one of this cluster's daemons (its command
# line names this cluster's ceph.conf), so a recycled PID is never signalled.
live_pid() {
  local pidfile=$1 conf=$2 pid
  [[ -f $pidfile ]] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  [[ -n $pid ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$conf" || return 1
  echo "$pid"
}

# Is the process alive? A zombie is not: it has exited and released everything, and waits only for
# its reaper (the daemons are reparented to PID 1, which may reap late).
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# SIGTERM the given PIDs, wait up to $1 tenths of a second, SIGKILL what is left, wait for that.
terminate() {
  local tenths=$1 pid i alive
  shift
  (($#)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < tenths; i++)); do
    alive=0
    for pid in "$@"; do running "$pid" && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  for pid in "$@"; do
    if running "$pid"; then
      log "pid $pid did not exit after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for ((i = 0; i < 50; i++)); do
    alive=0
    for pid in "$@"; do running "$pid" && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  log "pids $* still running after SIGKILL"
}

# Stop the daemons gateway first, monitor last: an OSD that cannot reach its monitor waits
# 'osd mon shutdown timeout' before exiting, and radosgw waits for its OSD ops.
stop_cluster() {
  local dir=$1 conf group f pid pids
  conf="$dir/ceph.conf"
  for group in 'client.*' 'osd.*' 'mon.*' '*'; do
    pids=()
    for f in "$dir"/run/$group.pid; do
      [[ -e $f ]] || continue
      if pid=$(live_pid "$f" "$conf"); then pids+=("$pid"); fi
    done
    terminate 30 "${pids[@]}"
  done
  rm -rf -- "$dir"
}

write_conf() {
  local dir=$1 fsid=$2 mon_port=$3 rgw_port=$4
  cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_port]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
keyring = $dir/keyring
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
mon cluster log file = $dir/log/cluster.log
log to stderr = false
err to stderr = true
log to syslog = false
crash dir = $dir/crash
exporter sock dir = $dir/run
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
# the mon's store is tiny; do not warn (or refuse to run) because the machine's disk is fairly full
mon data avail warn = 2
mon data avail crit = 1
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES

[mon]
mon data = $dir/mon/\$cluster-\$id
paxos propose interval = 0.05
# fail fast when the port is taken (the script then retries with another one)
ms bind retry count = 1
mon allow pool delete = true

[osd]
osd mon shutdown timeout = 1
osd data = $dir/osd/\$cluster-\$id
osd crush update on start = true

[client]
ms mon client mode = crc

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw data = $dir/rgw
rgw enable usage log = false
# The lifecycle thread sleeps 5 s at a time and would hold up shutdown by that long.
rgw enable lc threads = false
rgw gc obj min wait = 30
rgw gc processor period = 30
EOF
  : >"$dir/keyring"
}

# A signed (SigV4) ListBuckets against the endpoint; succeeds only with a 200.
signed_request_ok() {
  local endpoint=$1 code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
    "$endpoint/" 2>/dev/null) || return 1
  [[ $code == 200 ]]
}

start_cluster() {
  local dir=$1 port=$2 fsid mon_port osd_uuid osd_id t0 deadline endpoint attempt conf rgw_pid
  [[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number: $port"
  for p in ceph-mon ceph-osd radosgw monmaptool ceph radosgw-admin curl ss; do
    command -v "$p" >/dev/null || die "$p is not installed"
  done
  if [[ -e $dir ]] && [[ -n $(ls -A "$dir" 2>/dev/null) ]]; then die "$dir exists and is not empty"; fi
  t0=$(now_ms)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  conf="$dir/ceph.conf"
  # From here on, any failure tears the cluster down (after showing the logs).
  trap 'exit 1' INT TERM HUP
  trap 'rc=$?; if ((rc)); then log "start failed (exit $rc)"; for f in "$dir"/log/*.log; do [[ -e $f ]] && { echo "--- $f (tail)" >&2; tail -n 30 "$f" >&2; }; done; stop_cluster "$dir"; fi' EXIT
  mkdir -p "$dir/run" "$dir/log" "$dir/mon" "$dir/osd" "$dir/rgw" "$dir/crash"
  fsid=$(uuidgen)

  # The monitor. A random port could be taken between the check and the bind; retry a few times.
  for attempt in 1 2 3 4 5; do
    mon_port=${S3_MON_PORT:-$(pick_mon_port)} || die "no free port for the monitor"
    write_conf "$dir" "$fsid" "$mon_port" "$port"
    rm -rf "$dir/mon/ceph-a" "$dir/monmap"
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null 2>&1 \
      || die "monmaptool failed"
    mkdir -p "$dir/mon/ceph-a"
    ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/monmap" >>"$dir/log/setup.log" 2>&1 || die "ceph-mon --mkfs failed"
    if ceph-mon -c "$conf" -i a >>"$dir/log/setup.log" 2>&1; then break; fi
    [[ -n ${S3_MON_PORT:-} ]] && die "ceph-mon did not start on port $mon_port"
    ((attempt < 5)) || die "ceph-mon did not start (last port tried: $mon_port)"
    log "ceph-mon did not start on port $mon_port; retrying with another"
  done

  step "mon up"
  # The OSD (memstore: data in RAM).
  osd_uuid=$(uuidgen)
  osd_id=$(timeout 30 ceph -c "$conf" --connect-timeout 20 osd new "$osd_uuid" 2>>"$dir/log/setup.log") \
    || die "ceph osd new failed"
  [[ $osd_id =~ ^[0-9]+$ ]] || die "ceph osd new printed '$osd_id'"
  step "osd created"
  mkdir -p "$dir/osd/ceph-$osd_id"
  ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/setup.log" 2>&1 || die "ceph-osd --mkfs failed"
  step "osd mkfs done"
  ceph-osd -c "$conf" -i "$osd_id" >>"$dir/log/setup.log" 2>&1 || die "ceph-osd did not start"

  step "osd started"
  # The gateway.
  radosgw -c "$conf" -n client.rgw >>"$dir/log/setup.log" 2>&1 || die "radosgw did not start"
  endpoint="http://127.0.0.1:$port"
  deadline=$(($(date +%s) + START_TIMEOUT))
  # radosgw's parent returns before the daemon has written its pid file.
  until rgw_pid=$(live_pid "$dir/run/client.rgw.pid" "$conf"); do
    (($(date +%s) < deadline)) || die "radosgw wrote no pid file within ${START_TIMEOUT}s"
    sleep 0.02
  done
  until curl -s -o /dev/null --max-time 2 "$endpoint/"; do
    (($(date +%s) < deadline)) || die "radosgw did not answer on $endpoint within ${START_TIMEOUT}s"
    running "$rgw_pid" || die "radosgw exited (is port $port taken?)"
    sleep 0.05
  done
  step "rgw answers"
  timeout 60 radosgw-admin -c "$conf" user create --uid=test --display-name=test \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >>"$dir/log/setup.log" 2>&1 \
    || die "radosgw-admin user create failed"
  step "user created"
  until signed_request_ok "$endpoint"; do
    (($(date +%s) < deadline)) || die "no signed request succeeded on $endpoint within ${START_TIMEOUT}s"
    sleep 0.05
  done
  step "signed request ok"
  trap - EXIT INT TERM HUP
  log "cluster in $dir up in $(($(now_ms) - t0)) ms (mon port $mon_port)"
  echo "S3_ENDPOINT=$endpoint"
  echo "S3_ACCESS_KEY=$ACCESS_KEY"
  echo "S3_SECRET_KEY=$SECRET_KEY"
  echo "S3_REGION=$REGION"
}

case "${1:-}" in
  start)
    [[ $# -eq 3 ]] || usage
    start_cluster "$2" "$3"
    ;;
  stop)
    [[ $# -eq 2 ]] || usage
    [[ -d $2 ]] || exit 0
    t0=$(now_ms)
    stop_cluster "$(cd "$2" && pwd -P)"
    log "stopped in $(($(now_ms) - t0)) ms"
    ;;
  *) usage ;;
esac
