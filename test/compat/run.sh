#!/usr/bin/env bash
# Consumer compatibility: builds the library from lib/, packs it as `npm publish` would, installs
# the tarball into two small apps, each with its own Nest major, and runs a scenario in each
# (forRoot, a @Cacheable service method, a @CacheEvict, the start log line):
#
#   nest11-cjs   Nest 11, CommonJS output (what `nest new` generates for Nest 11); loads the
#                ESM-only package through Node's require(esm); compiles the README's first cache
#                and runs the docs' tests of it under Jest (CommonJS) and node:test
#   nest12-esm   Nest 12, ESM throughout, on the newest ioredis 6; also the newcomer's path: the
#                README's first cache over HTTP on a real redis-server, and the docs' tests of it
#                under Jest (ESM) and node:test
#
# An app may list, in a file named `snippets`, files of the repository (the docs' examples under
# test/docs/snippets) to copy into its src/ before compiling, so that what the README shows is
# what the app compiles against the tarball. After `node dist/main.js`, an app's compiled
# `*.node-test.js` files run under `node --test`, and its `npm test`, when it has one.
#
# Neither app installs prom-client or @nestjs/terminus: the package must work without its optional
# peers. Each app compiles with skipLibCheck off, so the published .d.ts files must type-check
# for both consumers too.
#
# Everything happens in a temp dir (the work tree's dist/ and node_modules are not touched).
# Packages come from the npm registry, preferring npm's local cache (--prefer-offline), so a warm
# cache needs no network. Prints PASS/FAIL per app and a summary; exits non-zero on any failure.
#
# Usage: bash test/compat/run.sh [app ...]     (default: every app; NDC_COMPAT_KEEP=1 keeps the temp dir;
#        NDC_COMPAT_TARBALL=path.tgz installs that tarball instead of building and packing lib/)
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
compat="$root/test/compat"
apps=("$@")
[ ${#apps[@]} -eq 0 ] && apps=(nest11-cjs nest12-esm)

work="$(mktemp -d "${TMPDIR:-/tmp}/ndc-compat.XXXXXX")"
# NDC_COMPAT_KEEP=1 keeps the work dir for a look after a failure.
[ "${NDC_COMPAT_KEEP:-}" = 1 ] || trap 'rm -rf "$work"' EXIT

echo "compat: node $(node --version), npm $(npm --version), work dir $work"

if [ -n "${NDC_COMPAT_TARBALL:-}" ]; then
  tarball="$(cd "$(dirname "$NDC_COMPAT_TARBALL")" && pwd)/$(basename "$NDC_COMPAT_TARBALL")"
  [ -f "$tarball" ] || { echo "compat: FAIL (no tarball $NDC_COMPAT_TARBALL)"; exit 1; }
  echo "compat: using $tarball ($(du -k "$tarball" | cut -f1) KiB)"
else
  # 1. Stage and pack: package.json and docs from the tree, dist/ freshly compiled from lib/.
  stage="$work/stage"
  mkdir -p "$stage"
  cp "$root/package.json" "$stage/"
  for doc in README.md CHANGELOG.md LICENSE; do
    [ -f "$root/$doc" ] && cp "$root/$doc" "$stage/"
  done
  if ! (cd "$root" && node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$stage/dist"); then
    echo "compat: FAIL (the library does not build)"
    exit 1
  fi
  if ! tarball_name="$(cd "$stage" && npm pack --silent --pack-destination "$work" | tail -n 1)"; then
    echo "compat: FAIL (npm pack failed)"
    exit 1
  fi
  tarball="$work/$tarball_name"
  echo "compat: packed $tarball_name ($(du -k "$tarball" | cut -f1) KiB)"
fi

# 2. Each app: copy, install the tarball with its own Nest, compile, run.
passed=0
failed=0
failures=()
for app in "${apps[@]}"; do
  if [ ! -d "$compat/$app" ]; then
    echo "compat: FAIL $app (no such app in test/compat)"
    failed=$((failed + 1))
    failures+=("$app")
    continue
  fi
  dir="$work/$app"
  cp -R "$compat/$app" "$dir"
  rm -rf "$dir/node_modules" "$dir/dist"
  cp "$tarball" "$dir/nestjs-distributed-cache.tgz"
  if [ -f "$dir/snippets" ]; then
    grep -v '^\s*\(#\|$\)' "$dir/snippets" | while read -r snippet; do
      cp "$root/$snippet" "$dir/src/"
    done
  fi
  log="$work/$app.log"
  echo "compat: $app"
  if (
    set -e
    cd "$dir"
    npm install --prefer-offline --no-audit --no-fund --loglevel=error >"$log" 2>&1
    echo "  installed: $(node -p "['@nestjs/core','nestjs-distributed-cache','ioredis'].map(n => n + '@' + require('./node_modules/' + n + '/package.json').version).join(', ')")"
    node node_modules/typescript/bin/tsc -p tsconfig.json >>"$log" 2>&1
    node dist/main.js
    shopt -s nullglob
    node_tests=(dist/*.node-test.js)
    if [ ${#node_tests[@]} -gt 0 ]; then
      node --test "${node_tests[@]}" >>"$log" 2>&1 || { tail -n 30 "$log"; exit 1; }
      echo "  node --test: ${#node_tests[@]} file(s) passed"
    fi
    if node -e "process.exit(require('./package.json').scripts?.test ? 0 : 1)"; then
      npm test --silent >>"$log" 2>&1 || { tail -n 40 "$log"; exit 1; }
      echo "  npm test (Jest): passed"
    fi
  ); then
    echo "compat: PASS $app"
    passed=$((passed + 1))
  else
    echo "compat: FAIL $app; install/compile output:"
    sed 's/^/    /' "$log" | tail -n 40
    failed=$((failed + 1))
    failures+=("$app")
  fi
done

[ "$failed" -gt 0 ] && echo "compat: failed apps: ${failures[*]}"
echo "compat: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
