#!/usr/bin/env bash
# Starts the sample app the way the README does (embedded memory L2), asks for one product twice
# and checks the second answer came from the cache, then stops the app with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
npm run build:sample >/dev/null
PORT=$port node sample-app/dist/main.js >/tmp/sample-app-smoke.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/products/1" >/dev/null 2>&1 && break
  sleep 0.1
done
first=$(curl -sf "http://127.0.0.1:$port/products/1")
second=$(curl -sf "http://127.0.0.1:$port/products/1")
stats=$(curl -sf "http://127.0.0.1:$port/cache/stats")
[ "$first" = "$second" ] || { echo "smoke: answers differ: $first / $second"; exit 1; }
echo "$stats" | grep -q '"l1Hits":[1-9]' || { echo "smoke: no L1 hit in $stats"; cat /tmp/sample-app-smoke.log; exit 1; }
kill -TERM $pid
wait $pid || true
trap - EXIT
echo "smoke: sample app served $first twice, second from L1 ($stats)"
