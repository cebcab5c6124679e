#!/usr/bin/env bash
# Sets up a fresh Debian 12 / Ubuntu machine and runs Tend: a local
# PostgreSQL, the central API migrated and seeded with demo data, and the
# app pointed at it. This is the README's run command.
#
#   bash scripts/run.sh [--profile desktop|kiosk] [extra app flags...]
#
# State lives in ~/.local/share/tend-dev (database, app data, logs) and is
# kept between runs; delete that folder to start over. Without a display the
# app runs inside Xvfb and a screenshot is saved, so the command also works
# on a headless server. Ctrl-C (or closing the window) stops everything.
#
# What the demo needs and a bare machine lacks is started here, and stopped
# again when the app closes:
# - pcscd with vsmartcard-vpcd's virtual reader (scripts/services/pcscd.sh),
#   only when no pcscd is running; a running one is used as it is. The
#   virtual reader listens on all interfaces: this is the demo command, never
#   run it on a production device.
# - a Secret Service (scripts/services/keyring.sh: a private D-Bus session
#   with gnome-keyring), only when the session has none, so the vault's key
#   goes to the keyring and not to the weaker key file. Its keyring lives in
#   the state folder, so the key is there again on the next run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tend/target}"
# Absolute, so the printed tap command works from any folder.
mkdir -p "$CARGO_TARGET_DIR"
CARGO_TARGET_DIR="$(cd "$CARGO_TARGET_DIR" && pwd)"
dev="${TEND_DEV_DIR:-$HOME/.local/share/tend-dev}"
api_port="${TEND_DEV_API_PORT:-8080}"
mkdir -p "$dev"
chmod 700 "$dev"
# As root, PostgreSQL runs as the postgres user, which cannot enter /root.
pg_state="$dev/postgres"
if [ "$(id -u)" = 0 ]; then pg_state="${TEND_DEV_PG_DIR:-/var/lib/tend-dev/postgres}"; mkdir -p "$(dirname "$pg_state")"; fi

bash scripts/install-deps.sh

echo "run: building the UI, the API and the app"
(cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build)
# Built one at a time: together their features unify differently and
# would rebuild the shared dependencies a second time.
cargo build -p tend-api
cargo build -p tend-app
# Taps the demo badges on the virtual reader (printed below).
cargo build -p tend-badge --features virtual-card --bin virtual-badge

# shellcheck source=scripts/lib/api-stack.sh
. scripts/lib/api-stack.sh
# shellcheck source=scripts/lib/demo-services.sh
. scripts/lib/demo-services.sh
stop_all() {
  demo_services_stop
  api_stack_stop
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
api_stack_pg_start "$pg_state"
# Generated once and kept (0600) so the demo logins stay the same across runs.
secrets="$dev/secrets.env"
if [ ! -f "$secrets" ]; then
  # New secrets: a database left from earlier ones (as root the cluster lives
  # outside this folder) holds demo logins no one knows any more; start it over.
  psql -q "$TEND_TEST_PG_URL" -c "DROP DATABASE IF EXISTS tend WITH (FORCE)"
  (umask 077; {
    echo "TEND_APP_PASSWORD=app-$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
    echo "TEND_DEMO_PASSWORD=demo-$(head -c 9 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
  } >"$secrets")
fi
set -a
# shellcheck disable=SC1090
. "$secrets"
set +a

api="$CARGO_TARGET_DIR/debug/tend-api"
# shellcheck disable=SC2034 # read by api_stack_db (not exported: the app must not see it)
API_APP_PASSWORD="$TEND_APP_PASSWORD"
api_stack_db tend tend_api
api_stack_migrate "$api"
TEND_MIGRATE_DATABASE_URL="$API_OWNER_URL" "$api" seed-demo
API_PORT="$api_port" api_stack_serve "$api" "$dev/api.log" ||
  { echo "run: the API did not become ready; see $dev/api.log" >&2; exit 1; }

demo_services_start "$dev"

# A new code each run: codes expire after a day and are shown only once.
enrollment_code="$(API_BASE="$API_BASE" python3 scripts/lib/demo-enrollment-code.py)" ||
  enrollment_code="(none: creating it failed; see $dev/api.log)"

cat <<EOF

  Central API      http://127.0.0.1:$api_port   (OpenAPI: /api/openapi.json, log: $dev/api.log)
  Demo logins      demo.platform (platform admin) and the seeded staff, e.g. memorylane-secure.rn1
  Password         $TEND_DEMO_PASSWORD   (kept in $secrets)
  Enrollment code  $enrollment_code
                   (the app enrolls itself with it on its first start; another
                   device can use it in first-run setup)
  Badges to try    (staff of Sunrise ALF - North Campus; seed-demo's DEMO_BADGES)
                   04D3A1B2C3D401  PIN 4826   sunrise-north.rn1
                   04D3A1B2C3D402  PIN 5937   sunrise-north.rn2
                   04D3A1B2C3D403  PIN 6048   sunrise-north.cna1
                   Tap one on the virtual reader ($DEMO_READER_NOTE):
                   $CARGO_TARGET_DIR/debug/virtual-badge tap 04D3A1B2C3D401 --until-read
  Vault key        $DEMO_KEYRING_NOTE

EOF

config="$dev/tend.toml"
printf 'server_url = "http://127.0.0.1:%s"\n' "$api_port" >"$config"
app=("$CARGO_TARGET_DIR/debug/tend" --config "$config" --data-dir "$dev/app" "$@")
# Unattended set-up: a device never enrolled enrolls itself with this code.
export TEND_ENROLLMENT_CODE="${enrollment_code%% *}"  # the code, without its description
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  "${app[@]}"
else
  echo "run: no display; running the app inside Xvfb (screenshot in $dev/screenshot.png after 5 s, then every 5 s)"
  # The screenshot is refreshed while the app runs, so a tap on the virtual
  # reader shows up in it (written aside, then renamed: never half a file).
  # shellcheck disable=SC2016 # expanded by the inner bash
  xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
    shot=$1/screenshot.png; shift
    "$@" & app=$!
    sleep 5 && import -window root "$shot.tmp.png" && mv "$shot.tmp.png" "$shot" && echo "run: screenshot saved"
    while kill -0 $app 2>/dev/null; do
      sleep 5
      import -window root "$shot.tmp.png" 2>/dev/null && mv "$shot.tmp.png" "$shot"
    done
    wait $app' _ "$dev" "${app[@]}"
fi
