#!/usr/bin/env bash
# Start the machine's Postgres, Redis and NATS (JetStream) when they are installed but not running.
# Never fatal here: the test plugin fails the run with a precise message if one is still unreachable.
set -uo pipefail

up() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

if ! up 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! up 6379 && command -v redis-server >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
fi
if ! up 4222; then
  nats=$(command -v nats-server || echo .venv/bin/nats-server)
  if [ -x "$nats" ]; then
    mkdir -p .run/nats && nohup "$nats" -js -a 127.0.0.1 -p 4222 -sd .run/nats >.run/nats.log 2>&1 &
  fi
fi
for _ in $(seq 1 50); do up 5432 && up 6379 && up 4222 && exit 0; sleep 0.2; done
exit 0
