"""Every cap on what a node can make the grader pay, in one place.

A trainee's node is untrusted input (see the trust boundary in docs/grader.ko.md): every size,
count or cost it announces is checked against these before it is paid, and every wait is bounded
by the node's own deadline (`--timeout`). The values are generous for a real node: the practice
node's probe output is about 120 KB, its Redis INFO 4 KB, its health reply 300 bytes.
"""

from __future__ import annotations

# -- the probe (one exec) -------------------------------------------------------------------
PROBE_OUTPUT_BYTES = 8 * 1024 * 1024  # stdout kept; more is "too large", never parsed
PROBE_STDERR_BYTES = 64 * 1024
PROBE_JSON_DEPTH = 32  # nesting of the probe's JSON (a real one is 4 deep)
PROBE_JSON_ITEMS = 400_000  # values in the probe's JSON (the practice node's has about 9,000)
PROCESSES = 5_000  # processes judged (a busy real node has a few hundred)
SOCKETS = 20_000  # rows of the node's socket table
DETAILS = 60  # processes whose environment and open files are read
HISTORY_LINES = 200
CONFIG_LINES = 20_000  # non-comment lines of one airflow.cfg (the generated one has ~350)
INSTALLS = 200  # apache_airflow*.dist-info folders
TEXT_FIELD_CHARS = 4_096  # one string field of the probe as kept in the facts (after masking)
SECRETS = 64  # passwords collected from command lines, history and environments

# -- protocol replies through tunnels ---------------------------------------------------------
TUNNEL_REPLY_BYTES = 4 * 1024 * 1024  # everything one tunnel may send back
REDIS_LINE_BYTES = 64 * 1024  # one RESP line (+PONG, -ERR ..., $len)
REDIS_BULK_BYTES = 1024 * 1024  # one RESP bulk string (INFO server is ~4 KB)
HTTP_HEAD_BYTES = 64 * 1024  # status line and headers
HTTP_BODY_BYTES = 2 * 1024 * 1024
JSON_DEPTH = 32  # nesting of an HTTP JSON body (health is 3 deep)

# -- password hashes (what werkzeug, and so FAB, ever writes) ---------------------------------
# werkzeug's pbkdf2 default grew 150,000 -> 260,000 -> 600,000 -> 1,000,000 rounds (3.1);
# its scrypt default is n=2**15, r=8, p=1. A stored hash asking for more was not written by
# `airflow users create`: it is refused (and reported) instead of being paid for.
PBKDF2_MAX_ROUNDS = 1_000_000
SCRYPT_MAX_N = 2**15
SCRYPT_MAX_R = 8
SCRYPT_MAX_P = 1

# -- what reaches a report ----------------------------------------------------------------------
EVIDENCE_CHARS = 300  # a node's error detail inside one message (after masking)
DISPLAY_CHARS = 2_000  # one shown field (a name, a message, one evidence line), escapes included

# -- tying a reply to the node's own process -----------------------------------------------------
UPTIME_SLACK_SECONDS = 30.0  # a service's uptime vs its process's age on the node
