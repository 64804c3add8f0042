#!/usr/bin/env bash
# Services the monitor's tests start on free 127.0.0.1 ports (they never use system instances):
# Debian's redis-server (shared client state across replicas) and rsyslog (the SIEM end of
# `[export] syslog`). Installs them with apt-get when missing; the tests fail, not skip, without them.
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v rsyslogd >/dev/null || [ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${missing[*]} (Debian packages) for the monitor's replica and export tests" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
        || { DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq && \
             DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
    # The packages' own system services are not used; stop them if the install started them.
    $sudo service redis-server stop >/dev/null 2>&1 || true
    $sudo service rsyslog stop >/dev/null 2>&1 || true
fi
