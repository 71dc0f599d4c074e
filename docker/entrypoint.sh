#!/bin/sh
# Role wrapper for docker/compose.yaml (the image's ENTRYPOINT is the plain CLI; compose
# sets `entrypoint: ["/app/docker/entrypoint.sh"]` for the services that need set-up):
#
#   init            make the release key, the fleet swarm key, a sample bundle and a
#                   signed rollout policy in $SHARED (idempotent: existing files stay)
#   super-hub ARGS  fix the super hub's peer id (persisted in $DATA), publish it in
#                   $SHARED/super-hub.peer-id, then run `storemesh super-hub ARGS`
#   hub ARGS        queue the sample policy for WAN pre-staging, find the super hub
#                   (peer id from $SHARED, address from the compose DNS name), then run
#                   `storemesh hub run --super <multiaddr> ARGS`
#   anything else   `storemesh ARGS`
#
# Every storemesh invocation below is one line starting with `storemesh ` or
# `exec storemesh `: test/unit/deploy/deploy-files.test.ts checks their flags against
# the real CLI's --help.
set -eu

DATA=${STOREMESH_DATA:-/var/lib/storemesh}
SHARED=${STOREMESH_SHARED:-/srv/storemesh}
SUPER_HOST=${STOREMESH_SUPER_HOST:-super-hub}
SUPER_PORT=${STOREMESH_SUPER_PORT:-4310}
SAMPLE_MIB=${STOREMESH_SAMPLE_MIB:-32}
# bounded waits: a missing super hub is a start-up error, not a hang
WAIT_TRIES=${STOREMESH_WAIT_TRIES:-120}

log () { printf '%s entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

do_init () {
  mkdir -p "$SHARED/bundles" "$SHARED/work"
  if [ ! -f "$SHARED/release.key" ]; then
    storemesh keygen --out "$SHARED/release.key" --public "$SHARED/release.pub"
  fi
  if [ ! -f "$SHARED/swarm.key" ]; then
    storemesh keygen --swarm --out "$SHARED/swarm.key"
  fi
  bundle="$SHARED/bundles/pos-app-1.0.0"
  if [ ! -f "$bundle/bundle.json" ]; then
    head -c "$((SAMPLE_MIB * 1024 * 1024))" /dev/urandom > "$SHARED/work/app.img"
    storemesh bundle build "$SHARED/work/app.img" --key "$SHARED/release.key" --name pos-app --version 1.0.0 --device-class pos --cycle compose --expires 30d --json --out "$bundle" > "$SHARED/work/bundle.json"
    rm -f "$SHARED/work/app.img"
  fi
  if [ ! -f "$SHARED/policy.signed.json" ]; then
    id=$(node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(j.id ?? j.bundleId)' "$SHARED/work/bundle.json")
    cat > "$SHARED/work/policy.yaml" <<POLICY
apiVersion: storemesh/v1
kind: RolloutPolicy
metadata: { name: pos-app-compose, wave: 1 }
spec:
  bundle: { id: "$id", version: 1.0.0 }
  targets: { deviceClass: pos, percentage: 100 }
POLICY
    storemesh policy sign "$SHARED/work/policy.yaml" --key "$SHARED/release.key" --out "$SHARED/policy.signed.json"
  fi
  log "shared material ready in $SHARED"
}

do_super_hub () {
  # the store hubs dial the super hub by peer id: create (or load) its persisted identity
  # now and publish only the public peer id, never the key
  peer_id=$(node --input-type=module -e "
    const { loadOrCreatePeerKey, peerKeyPath } = await import('/app/dist/net/identity.js')
    const { readFileSync } = await import('node:fs')
    await loadOrCreatePeerKey(process.argv[1])
    process.stdout.write(JSON.parse(readFileSync(peerKeyPath(process.argv[1]), 'utf8')).peerId)
  " "$DATA")
  printf '%s\n' "$peer_id" > "$SHARED/super-hub.peer-id.tmp"
  mv "$SHARED/super-hub.peer-id.tmp" "$SHARED/super-hub.peer-id"
  log "super hub peer id $peer_id"
  exec storemesh super-hub --data "$DATA" --bundles "$SHARED/bundles" --swarm-key "$SHARED/swarm.key" --trust "$SHARED/release.pub" "$@"
}

do_hub () {
  storemesh hub prefetch --data "$DATA" --policy "$SHARED/policy.signed.json" --trust "$SHARED/release.pub"
  tries=0
  while [ ! -s "$SHARED/super-hub.peer-id" ] || ! getent ahostsv4 "$SUPER_HOST" > /dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge "$WAIT_TRIES" ]; then log "no super hub after $WAIT_TRIES s"; exit 69; fi
    sleep 1
  done
  peer_id=$(cat "$SHARED/super-hub.peer-id")
  # an /ip4 address rather than /dns4: resolved once here, so the hub never depends on
  # DNS support in the libp2p dialer
  ip=$(getent ahostsv4 "$SUPER_HOST" | awk '{ print $1; exit }')
  exec storemesh hub run --data "$DATA" --swarm-key "$SHARED/swarm.key" --trust "$SHARED/release.pub" --super "/ip4/$ip/tcp/$SUPER_PORT/p2p/$peer_id" "$@"
}

mode=${1:-}
case "$mode" in
  init) do_init ;;
  super-hub) shift; do_super_hub "$@" ;;
  hub) shift; do_hub "$@" ;;
  *) exec storemesh "$@" ;;
esac
