#!/usr/bin/env bash
# practice/latency-selftest.sh — practice/latency.py(NFQUEUE 지연기)의 자체 측정.
#
# 임시 topology(bridge lat-testbr 10.78.0.1/24, netns lat-test1 10.78.0.11, veth lat-test1h/lat-test1n)를
# 만들고, 지연기 없이/있이 ping RTT·TCP connect·1 MiB 전송·100 connection burst(daemon CPU, drop)를
# 측정한 뒤 모두 지운다 (trap). 지연 RTT가 40–80 ms 밖이거나 drop·오류가 있으면 exit 1.
#
#   practice/latency-selftest.sh [--symmetric]      # root, 약 30초
# 환경 변수: LAT_TEST_QUEUE (기본 4077), LAT_TEST_DELAY_MS (기본 25 = RTT 50 ms)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
QUEUE="${LAT_TEST_QUEUE:-4077}"
DELAY_MS="${LAT_TEST_DELAY_MS:-25}"
BR=lat-testbr NS=lat-test1 VH=lat-test1h VN=lat-test1n
SUBNET=10.78.0.0/24 BR_IP=10.78.0.1 NODE_IP=10.78.0.11
PY=/usr/bin/python3
SYM=()
[[ "${1:-}" == "--symmetric" ]] && SYM=(--symmetric)

[[ $EUID -eq 0 ]] || { echo "root 권한이 필요합니다." >&2; exit 2; }

TMP="" DAEMON_PID="" SERVER_PID=""
cleanup() {
  set +e
  [[ -n "$TMP" ]] && python3 "$HERE/latency.py" rules del --queue "$QUEUE" --subnet "$SUBNET" 2>/dev/null
  [[ -n "$DAEMON_PID" ]] && kill -TERM "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null  # leftovers of an interrupted earlier run
  ip netns del "$NS" 2>/dev/null
  ip link del "$VH" 2>/dev/null
  ip link del "$BR" 2>/dev/null
  [[ -n "$TMP" ]] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$HERE/latency-setup.sh"
cleanup  # idempotent: remove what an interrupted earlier run may have left
if awk -v q="$QUEUE" '$1 == q {f = 1} END {exit !f}' /proc/net/netfilter/nfnetlink_queue; then
  echo "queue $QUEUE 은(는) 이미 다른 프로세스가 쓰고 있습니다. LAT_TEST_QUEUE 로 바꾸세요." >&2
  exit 2
fi
TMP="$(mktemp -d /tmp/lat-test.XXXXXX)"

# --- topology ---------------------------------------------------------------
ip link add "$BR" type bridge
ip addr add "$BR_IP/24" dev "$BR"
ip link set "$BR" up
ip netns add "$NS"
ip link add "$VH" type veth peer name "$VN"
ip link set "$VH" master "$BR" up
ip link set "$VN" netns "$NS"
ip -n "$NS" addr add "$NODE_IP/24" dev "$VN"
ip -n "$NS" link set "$VN" up
ip -n "$NS" link set lo up

# --- helper: echo/source/sink server and the client measurements --------------
cat >"$TMP/h.py" <<'EOF'
import asyncio, socket, statistics, sys, threading, time

MiB = 1 << 20


def server() -> None:
    def loop(port, handler):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(1024)
        while True:
            c, _ = s.accept()
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    def echo(c):
        with c:
            while d := c.recv(65536):
                c.sendall(d)

    def source(c):
        with c:
            c.sendall(b"x" * MiB)

    def sink(c):
        with c:
            n = 0
            while d := c.recv(65536):
                n += len(d)
            c.sendall(str(n).encode())

    for port, h in ((7001, source), (7002, sink)):
        threading.Thread(target=loop, args=(port, h), daemon=True).start()
    loop(7000, echo)


def tcp(host: str) -> None:
    times = []
    for _ in range(20):
        t = time.perf_counter()
        socket.create_connection((host, 7000), timeout=5).close()
        times.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    s = socket.create_connection((host, 7001), timeout=10)
    n = 0
    while d := s.recv(65536):
        n += len(d)
    down = (time.perf_counter() - t) * 1000
    assert n == MiB, n
    t = time.perf_counter()
    s = socket.create_connection((host, 7002), timeout=10)
    s.sendall(b"y" * MiB)
    s.shutdown(socket.SHUT_WR)
    assert int(s.recv(64)) == MiB
    up = (time.perf_counter() - t) * 1000
    print(f"{statistics.median(times):.1f} {down:.0f} {up:.0f}")


async def burst(host: str, nconn: int, rounds: int) -> None:
    lat, errs = [], []

    async def worker(i):
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(host, 7000), 10)
            for k in range(rounds):
                msg = b"req %05d %05d\n" % (i, k)
                t = time.perf_counter()
                w.write(msg)
                await w.drain()
                if await asyncio.wait_for(r.readexactly(len(msg)), 10) != msg:
                    raise ValueError("echo mismatch")
                lat.append((time.perf_counter() - t) * 1000)
            w.close()
            await w.wait_closed()
        except Exception as exc:
            errs.append(repr(exc))

    t = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(nconn)))
    p99 = statistics.quantiles(lat, n=100)[98] if len(lat) > 1 else 0.0
    med = statistics.median(lat) if lat else 0.0
    print(f"{(time.perf_counter() - t) * 1000:.0f} {len(errs)} {med:.1f} {p99:.1f}")


if sys.argv[1] == "server":
    server()
elif sys.argv[1] == "tcp":
    tcp(sys.argv[2])
else:
    asyncio.run(burst(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
EOF

ip netns exec "$NS" "$PY" "$TMP/h.py" server >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do
  "$PY" -c "import socket; socket.create_connection(('$NODE_IP', 7000), timeout=1).close()" 2>/dev/null && break
  sleep 0.1
done

ping_avg() { ping "$@" -q -c 20 -i 0.2 "$NODE_IP" | awk -F/ '/^rtt/ {print $5}'; }
measure() {  # $1 = label
  local p pu
  p="$(ping_avg)" pu="$(ping_avg -U)"
  read -r c down up < <("$PY" "$TMP/h.py" tcp "$NODE_IP")
  printf '%-10s ping RTT avg %7s ms (ping -U %7s ms) | TCP connect median %6s ms | 1 MiB download %5s ms, upload %5s ms\n' \
    "$1" "$p" "$pu" "$c" "$down" "$up"
  LAST_PING="$p" LAST_PING_U="$pu" LAST_CONNECT="$c"
}

echo "== latency selftest: queue $QUEUE, delay ${DELAY_MS} ms/방향 ${SYM[*]:-(one-sided layout)} =="
measure "지연 없음"

# --- delayer ------------------------------------------------------------------
t0=$(date +%s%N)
python3 "$HERE/latency.py" run --queue "$QUEUE" --delay-ms "$DELAY_MS" "${SYM[@]}" >"$TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
until awk -v q="$QUEUE" '$1 == q {f = 1} END {exit !f}' /proc/net/netfilter/nfnetlink_queue; do
  kill -0 "$DAEMON_PID" 2>/dev/null || { echo "daemon 시작 실패:" >&2; cat "$TMP/daemon.log" >&2; exit 1; }
  sleep 0.02
done
echo "daemon 시작 (queue bind까지) $(( ($(date +%s%N) - t0) / 1000000 )) ms, pid $DAEMON_PID"
python3 "$HERE/latency.py" rules add --queue "$QUEUE" --subnet "$SUBNET" "${SYM[@]}"
python3 "$HERE/latency.py" rules add --queue "$QUEUE" --subnet "$SUBNET" "${SYM[@]}"  # idempotent: no duplicate
[[ $(iptables-legacy -w -t mangle -S | grep -c "latency.py q$QUEUE\"") -eq 2 ]] || { echo "rule 개수가 2가 아닙니다" >&2; exit 1; }

measure "지연 있음"

ticks() { awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat"; }
seq0=$(awk -v q="$QUEUE" '$1 == q {print $8}' /proc/net/netfilter/nfnetlink_queue)
cpu0=$(ticks) w0=$(date +%s%N)
read -r wall errs med p99 < <("$PY" "$TMP/h.py" burst "$NODE_IP" 100 10)
cpu1=$(ticks) w1=$(date +%s%N)
read -r _ _ _ _ _ qdrop udrop seq1 _ < <(awk -v q="$QUEUE" '$1 == q' /proc/net/netfilter/nfnetlink_queue)
hz=$(getconf CLK_TCK)
"$PY" - "$cpu0" "$cpu1" "$w0" "$w1" "$hz" "$seq0" "$seq1" "$wall" "$errs" "$med" "$p99" <<'EOF'
import sys
c0, c1, w0, w1, hz, s0, s1, wall, errs, med, p99 = sys.argv[1:]
cpu = (float(c1) - float(c0)) / float(hz)
secs = (int(w1) - int(w0)) / 1e9
pk = int(s1) - int(s0)
print(f"burst 100 conn x 10 echo: {wall} ms, errors {errs}, echo RTT median {med} ms p99 {p99} ms | "
      f"queued packets {pk} ({pk / secs:.0f} pps) | daemon CPU {cpu:.2f} s = {100 * cpu / secs:.1f}% of one core")
EOF
echo "nfqueue: queue_dropped $qdrop, user_dropped $udrop"

rc=0
in_range() { awk -v v="$1" 'BEGIN {exit !(v != "" && v >= 40 && v <= 80)}'; }
# ping -U = user-to-user RTT (what applications see). Plain ping takes the reply's kernel receive
# timestamp, before INPUT: with --symmetric it shows only the OUTPUT half (~D), so it is checked only
# in the default layout, which holds ICMP on OUTPUT for exactly that reason.
in_range "$LAST_PING_U" || { echo "실패: 지연 ping -U RTT ${LAST_PING_U} ms 가 40–80 ms 범위 밖" >&2; rc=1; }
if ((${#SYM[@]} == 0)); then
  in_range "$LAST_PING" || { echo "실패: 지연 ping RTT ${LAST_PING} ms 가 40–80 ms 범위 밖" >&2; rc=1; }
else
  echo "참고: --symmetric 에서 plain ping 은 OUTPUT 쪽 지연(≈${DELAY_MS} ms)만 보여 줍니다 (reply의 kernel timestamp가 INPUT 전에 찍힘)."
fi
in_range "$LAST_CONNECT" || { echo "실패: 지연 TCP connect ${LAST_CONNECT} ms 가 40–80 ms 범위 밖" >&2; rc=1; }
[[ "$qdrop" == 0 && "$udrop" == 0 ]] || { echo "실패: nfqueue drop (queue $qdrop, user $udrop)" >&2; rc=1; }
[[ "$errs" == 0 ]] || { echo "실패: burst 오류 $errs 건" >&2; rc=1; }
((rc == 0)) && echo "OK: 지연 RTT ${LAST_PING_U} ms (40–80 ms), connect ${LAST_CONNECT} ms, drop 0"
exit "$rc"
