#!/usr/bin/env bash
# Start-up time and memory of the Tend window, under its own Xvfb 1280x800x24.
#
#   bash scripts/bench-startup.sh [--release] [--runs N] [BINARY]
#
# Each run starts the app with a fresh data dir (desktop profile) and measures
#   cold start = spawn (epoch ms taken just before exec) → the app's `ui ready`
#                log line (epoch_ms, logged when the UI has painted)
#   memory     = 5 s after spawn, RSS and PSS summed over the app and all its
#                descendants (WebKitWebProcess, WebKitNetworkProcess) from
#                /proc/<pid>/smaps_rollup. PSS is the honest total: RSS counts
#                shared WebKit pages once per process.
# Default binary: $CARGO_TARGET_DIR/{debug,release}/tend, CARGO_TARGET_DIR
# defaulting to ~/.cache/tend/target. "Cold" means a new process and data dir;
# the OS page cache is warm after the first run.
set -euo pipefail

profile=debug
runs=5
bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=release ;;
    --runs | -n) runs="$2"; shift ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench-startup: unknown option $1" >&2; exit 2 ;;
    *) bin="$1" ;;
  esac
  shift
done
target_dir="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
bin="${bin:-$target_dir/$profile/tend}"
[ -x "$bin" ] || { echo "bench-startup: $bin not found; build it first (ui/dist, then cargo build -p tend-app${profile/debug/})" >&2; exit 1; }
command -v Xvfb >/dev/null || { echo "bench-startup: Xvfb missing; run scripts/install-deps.sh" >&2; exit 1; }

TARGET_START_MS=1500
TARGET_PSS_MB=200
work=$(mktemp -d /tmp/tend-bench-startup.XXXXXX)
xvfb_pid=""
app_pid=""

descendants() { # pid → pid and all its descendants
  local all
  all=$(ps -e -o pid=,ppid=)
  local queue=("$1") out=()
  while [ ${#queue[@]} -gt 0 ]; do
    local p=${queue[0]}
    queue=("${queue[@]:1}")
    out+=("$p")
    while read -r child; do queue+=("$child"); done < <(awk -v p="$p" '$2 == p {print $1}' <<<"$all")
  done
  echo "${out[@]}"
}

stop_app() {
  [ -n "$app_pid" ] || return 0
  local pids
  pids=$(descendants "$app_pid")
  kill -TERM $pids 2>/dev/null || true
  for _ in $(seq 30); do
    kill -0 $pids 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL $pids 2>/dev/null || true
  wait "$app_pid" 2>/dev/null || true
  app_pid=""
}

cleanup() {
  stop_app
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

Xvfb -displayfd 5 -screen 0 1280x800x24 -nolisten tcp 5>"$work/display" 2>/dev/null &
xvfb_pid=$!
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.05; done
[ -s "$work/display" ] || { echo "bench-startup: Xvfb did not start" >&2; exit 1; }
export DISPLAY=":$(head -1 "$work/display")"

echo "binary: $bin ($profile, $(du -m "$bin" | cut -f1) MB), Xvfb 1280x800x24 on $DISPLAY, $(nproc) cores"
printf '%-4s %14s %10s %10s %9s  %s\n' run "first paint ms" "RSS MB" "PSS MB" processes "PSS by process (MB)"
starts=()
psses=()
for run in $(seq "$runs"); do
  data="$work/data-$run"
  (
    date +%s%3N >"$work/start-$run"
    exec env -u TEND_PROFILE -u TEND_DATA_DIR -u TEND_CONFIG XDG_CONFIG_HOME="$work/no-config" \
      "$bin" --profile desktop --data-dir "$data"
  ) >"$work/out-$run" 2>&1 &
  app_pid=$!
  ready=""
  for _ in $(seq 300); do
    ready=$(grep -h "ui ready" "$data"/logs/*.log 2>/dev/null | head -1 || true)
    [ -n "$ready" ] && break
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$ready" ]; then
    echo "bench-startup: run $run: no 'ui ready' within 15 s; app output:" >&2
    cat "$work/out-$run" >&2
    exit 1
  fi
  start=$(cat "$work/start-$run")
  painted=$(sed -E 's/.*epoch_ms=([0-9]+).*/\1/' <<<"$ready")
  start_ms=$((painted - start))
  sleep "$(awk -v s="$start" -v now="$(date +%s%3N)" 'BEGIN { d = (s + 5000 - now) / 1000; print (d > 0 ? d : 0) }')"
  rss=0 pss=0 count=0 detail=""
  for pid in $(descendants "$app_pid"); do
    read -r r p < <(awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r+0, p+0}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo "0 0")
    [ "$r" -gt 0 ] || continue
    rss=$((rss + r)) pss=$((pss + p)) count=$((count + 1))
    detail+="$(cat "/proc/$pid/comm" 2>/dev/null) $((p / 1024)), "
  done
  stop_app
  printf '%-4s %14s %10s %10s %9s  %s\n' "$run" "$start_ms" "$((rss / 1024))" "$((pss / 1024))" "$count" "${detail%, }"
  starts+=("$start_ms")
  psses+=("$((pss / 1024))")
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2))}'; }
m_start=$(median "${starts[@]}")
m_pss=$(median "${psses[@]}")
verdict() { [ "$1" -le "$2" ] && echo met || echo "NOT met"; }
echo "median: first paint ${m_start} ms (target ≤ ${TARGET_START_MS} ms: $(verdict "$m_start" "$TARGET_START_MS")), PSS ${m_pss} MB (target ≤ ${TARGET_PSS_MB} MB: $(verdict "$m_pss" "$TARGET_PSS_MB"))"
