#!/bin/sh
# run.sh - relay's main job, end to end, on this machine (README's demo):
#
#   1. build relay into build-demo/
#   2. make a test CA and a server certificate for 127.0.0.1 (openssl)
#   3. start the fake smarthost (tests/fake/fakesmtpd.py) on loopback with
#      an implicit-TLS listener and a STARTTLS listener
#   4. write a relay.conf in a temp dir: tls = auto, ca_file = the test CA,
#      the two listeners' ports as the ports tls = auto tries in order
#   5. start relayd, send a message with sendmail -t, wait for delivery
#   6. show relayctl list and show with the message sent, and the message
#      as the smarthost received it
#   7. stop everything and remove the temp dir
#
# Run as root on Debian 12 after packaging/install-deps.sh.  relayd drops
# to user nobody for the demo (its spool lives in the temp dir).  Exits 0
# only when the message was delivered.
set -eu

cd "$(dirname "$0")/../.."
src=$(pwd)
build=$src/build-demo

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: run as root (relayd drops to user nobody)" >&2
	exit 77
fi

say() { printf '\n=== %s\n' "$*"; }

tmp=$(mktemp -d /tmp/relay-demo.XXXXXX)
relayd_pid=""
fake_pid=""
fifo=$tmp/fake.in

cleanup() {
	if [ -n "$relayd_pid" ]; then
		kill -TERM "$relayd_pid" 2>/dev/null || true
		wait "$relayd_pid" 2>/dev/null || true
	fi
	if [ -n "$fake_pid" ]; then
		exec 3>&- 2>/dev/null || true
		kill -TERM "$fake_pid" 2>/dev/null || true
		wait "$fake_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "build into build-demo/"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 ||
	{ cat "$tmp/cmake.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" >"$tmp/build.log" 2>&1 ||
	{ tail -50 "$tmp/build.log"; exit 1; }
ls "$build/bin"

say "a test CA and a certificate for 127.0.0.1 and localhost"
chmod 755 "$tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 2 \
	-subj "/CN=relay demo CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/server.key" -out "$tmp/server.csr" \
	-subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/san.ext"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" \
	-CAkey "$tmp/ca.key" -CAcreateserial -days 2 \
	-extfile "$tmp/san.ext" -out "$tmp/server.pem" 2>/dev/null
chmod 644 "$tmp/ca.pem"
openssl x509 -in "$tmp/server.pem" -noout -subject -issuer

say "the fake smarthost: implicit TLS and STARTTLS on loopback"
mkdir "$tmp/received"
mkfifo "$fifo"
python3 "$src/tests/fake/fakesmtpd.py" --cert "$tmp/server.pem" \
	--key "$tmp/server.key" --listen implicit:0 --listen starttls:0 \
	--save "$tmp/received" <"$fifo" >"$tmp/fake.out" 2>&1 &
fake_pid=$!
exec 3>"$fifo"
i=0
until grep -q '^READY' "$tmp/fake.out"; do
	i=$((i + 1))
	if [ "$i" -gt 100 ]; then
		cat "$tmp/fake.out"
		exit 1
	fi
	sleep 0.1
done
implicit=$(sed -n 's/^LISTEN implicit //p' "$tmp/fake.out")
starttls=$(sed -n 's/^LISTEN starttls //p' "$tmp/fake.out")
echo "implicit TLS on 127.0.0.1:$implicit, STARTTLS on 127.0.0.1:$starttls"

say "relay.conf (tls = auto, the test CA)"
conf=$tmp/relay.conf
cat >"$conf" <<EOF
hostname = "demo.example.org"
domain = "example.org"
spool_dir = "$tmp/spool"
socket = "$tmp/run/relayd.sock"
aliases = ""
user = "nobody"
group = "nogroup"
retry {
	base = 2s
	max = 10s
}
# tls = auto tries these ports in this order, as it would 465 and 587
tls_auto_ports = {"$implicit:implicit", "$starttls:starttls"}

smarthost "demo" {
	host = "127.0.0.1"
	tls = auto
	ca_file = "$tmp/ca.pem"
}
EOF
cat "$conf"

say "relayd"
"$build/bin/relayd" -C "$conf" >"$tmp/relayd.log" 2>&1 &
relayd_pid=$!
i=0
until [ -S "$tmp/run/relayd.sock" ]; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$relayd_pid" 2>/dev/null; then
		cat "$tmp/relayd.log"
		exit 1
	fi
	sleep 0.1
done
echo "relayd running (pid $relayd_pid)"

say "sendmail -t"
"$build/bin/sendmail" -C "$conf" -t <<'EOF'
From: Demo <demo@example.org>
To: friend@example.net
Subject: relay demo

Hello from relay: sendmail -> relayd -> TLS smarthost.
EOF
echo "sendmail exited with $?"

say "waiting for the delivery"
i=0
until "$build/bin/relayctl" -C "$conf" list --state sent --json 2>/dev/null |
	grep -q '"state":"sent"'; do
	i=$((i + 1))
	if [ "$i" -gt 300 ]; then
		echo "not delivered within 30 s"
		cat "$tmp/relayd.log"
		exit 1
	fi
	sleep 0.1
done
grep 'status=' "$tmp/relayd.log" || true

say "relayctl list --state sent"
"$build/bin/relayctl" -C "$conf" list --state sent
id=$("$build/bin/relayctl" -C "$conf" list --state sent --json |
	sed -n 's/.*"id":"\([0-9A-Z]*\)".*/\1/p' | head -n 1)

say "relayctl show $id"
"$build/bin/relayctl" -C "$conf" show "$id"

say "what the smarthost received"
cat "$tmp/received/1.env"
echo
cat "$tmp/received/1.eml"

state=$("$build/bin/relayctl" -C "$conf" show "$id" --json |
	sed -n 's/^{"id":"[0-9A-Z]*"[^}]*"state":"\([a-z]*\)".*/\1/p' |
	head -n 1)
say "done: message $id is $state"
[ "$state" = "sent" ] && [ -s "$tmp/received/1.eml" ]
