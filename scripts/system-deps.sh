#!/bin/sh
# System packages Mnemo needs outside Python: bubblewrap (bwrap), which runs every custom tool call in
# its own namespaces (docs/sandbox.md), and util-linux's setpriv (present on Debian/Ubuntu). As root on
# Debian/Ubuntu, installs what is missing with apt-get; otherwise prints what to install. `make setup`
# runs it; it never fails the build, the server itself refuses custom tools when bwrap is unusable.
set -u
missing=""
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
command -v setpriv >/dev/null 2>&1 || missing="$missing util-linux"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y --no-install-recommends $missing >/dev/null; } \
        || echo "system-deps: could not install$missing; custom tools will be refused until it is installed" >&2
else
    echo "system-deps: custom tools need$missing: install it (Debian/Ubuntu: sudo apt-get install$missing)" >&2
fi
exit 0
