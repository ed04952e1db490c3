#!/bin/sh
# System packages the tests need beyond Python: Debian's chromium (the web survey's browser test)
# and postgresql (its PostgreSQL load test). Idempotent: does nothing when they are there.
# Installs only as root with apt-get; otherwise says what is missing (the browser test then fails
# loudly, the PostgreSQL test skips with its reason).
set -u
need=""
[ -x /usr/bin/chromium ] || need="$need chromium"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need="$need postgresql"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    if ! apt-get install -y -qq --no-install-recommends $need >/dev/null; then
        echo "warning: could not install$need with apt-get" >&2
    fi
else
    echo "warning: missing system packages:$need (install them with apt-get as root)" >&2
fi
exit 0
