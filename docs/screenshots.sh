#!/bin/sh
# Retakes the inbox screenshots in docs/ with demo data: a throwaway
# database filled with invented mentions, the daemon on a free port, and
# headless Chromium reaching it through a tiny local proxy that plays the
# single-sign-on proxy ([daemon] trusted_user_header), so no login form is
# scripted. Needs python3 and chromium.
#
#     cargo build && docs/screenshots.sh [path/to/escucha]
set -eu
ESCUCHA=${1:-${CARGO_TARGET_DIR:-target}/debug/escucha}
DOCS=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d)
DAEMON= PROXY=
trap 'kill $DAEMON $PROXY 2>/dev/null || true; rm -rf "$DIR"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PROXY_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HASH=$(echo "demo password" | "$ESCUCHA" passwd)
cat > "$DIR/escucha.toml" <<EOF
[daemon]
database = "escucha.db"
http = "127.0.0.1:$PORT"
timezone = "America/Mexico_City"
trusted_user_header = "X-Forwarded-User"
trusted_proxies = ["127.0.0.1"]

[[brand]]
id = "interjet"
name = "Interjet"
terms = ["interjet"]
respond_within = { complaint = "30m", escalation = "10m" }

[[brand]]
id = "globex"
name = "Globex Telecom"
terms = ["globex"]
respond_within = { complaint = "1h", escalation = "15m" }

[[user]]
name = "ana"
email = "ana@example.com"
password_hash = "$HASH"

[[user]]
name = "beto"
email = "beto@example.com"
language = "es"
password_hash = "$HASH"
EOF
# The daemon creates the database; the demo rows go in while it runs.
ESCUCHA_LOG=warn "$ESCUCHA" run --config "$DIR/escucha.toml" & DAEMON=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null && break; sleep 0.2; done
python3 - "$DIR/escucha.db" <<'EOF'
import json, random, sqlite3, sys, time
random.seed(7)
db = sqlite3.connect(sys.argv[1])
now = int(time.time() * 1000)
MIN = 60_000
open_ones = [
    # (brand, platform, author, followers, text, class, minutes ago, deadline in minutes, assigned)
    ("interjet", "x", "abogada_rios", 15400, "Voy a demandar a @Interjet: 6 horas en la sala y nadie da la cara. Exijo el reembolso hoy.", "escalation", 75, -65, None),
    ("interjet", "x", "maria_g", 320, "@Interjet perdieron mi maleta en el vuelo 2317 y nadie responde en el chat", "complaint", 38, -8, "ana"),
    ("globex", "mastodon", "kev@hachyderm.io", 880, "Third day without internet. @globex support keeps closing my ticket without fixing anything.", "complaint", 41, 19, None),
    ("interjet", "bluesky", "luisfer.bsky.social", 95, "¿Alguien sabe por qué Interjet me cobró dos veces la misma reservación? Ya van 3 llamadas", "complaint", 12, 18, "beto"),
    ("globex", "reddit", "u/throwaway_bill", 0, "Globex charged me an early termination fee after I moved. Anyone got it refunded?", "complaint", 20, 40, None),
    ("interjet", "x", "cdmx_viajero", 2100, "@Interjet el vuelo de las 7 lleva 2 horas de retraso y no hay nadie en el mostrador", "complaint", 5, 25, None),
    ("globex", "x", "sam_ops", 4500, "@GlobexHelp outage in Monterrey again, our whole office is offline. This is costing us money.", "escalation", 3, 12, None),
]
def insert(i, brand, platform, author, followers, text, cls, ago, deadline, status, answered_after, assigned):
    """`ago`: minutes since it was posted; `deadline`: in minutes from now (negative: overdue)."""
    created = now - ago * MIN
    db.execute(
        """INSERT INTO mentions (brand, platform, platform_id, url, author, author_id, author_followers, text, lang, class, score,
           reasons, created_at, seen_at, deadline, history, status, answered_at, answer_id, alerted_at, query_key, assigned_to)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'es', ?, 0.9, ?, ?, ?, ?, 0, ?, ?, ?, ?, 'demo', ?)""",
        (brand, platform, f"demo{i}", f"https://example.com/{platform}/{i}", author, author, followers, text, cls,
         json.dumps([f"{cls}:phrase:demo"]), created, created + 20_000,
         now + deadline * MIN,
         status, None if answered_after is None else created + answered_after * 1000,
         None if answered_after is None else f"r{i}", None, assigned))
for i, (b, p, a, f, t, c, ago, dl, who) in enumerate(open_ones):
    insert(i, b, p, a, f, t, c, ago, dl, "open", None, who)
# Two weeks of history for the numbers page: most answered, the rest
# acknowledged without an answer (so the open list stays today's).
texts = ["no me llega el reembolso", "the app keeps logging me out", "cancelaron mi vuelo sin aviso", "billing error again"]
for i in range(100, 400):
    b = random.choice(["interjet", "globex"])
    p = random.choice(["x", "x", "mastodon"])
    ago = random.randint(60, 14 * 24 * 60)
    answered = random.random() < 0.8
    secs = int(random.expovariate(1 / 1500)) + 60 if answered else None
    insert(i, b, p, f"user{i}", random.randint(0, 5000), random.choice(texts), random.choice(["complaint"] * 4 + ["escalation"]),
           ago, -(ago - 30), "answered" if answered else "acked", secs, None)
# The mention in docs/inbox-mention.png: a note, a page sent, and the
# author's earlier complaint.
insert(99, "interjet", "x", "maria_g", 320, "@Interjet otra vez mi vuelo retrasado y sin explicación", "complaint", 3 * 24 * 60, -(3 * 24 * 60 - 30), "answered", 1260, None)
(mid,) = db.execute("SELECT id FROM mentions WHERE platform_id = 'demo1'").fetchone()
db.execute("INSERT INTO notes (mention_id, by_user, at, text) VALUES (?, 'ana', ?, 'Le pedí el número de reporte por DM')", (mid, now - 4 * MIN))
db.execute("INSERT INTO outbox (recipient, brand, created_at, state, attempts, next_attempt_at, sent_at) VALUES ('guardia@interjet.example', 'interjet', ?, 'sent', 1, ?, ?)", (now - 8 * MIN, now - 8 * MIN, now - 8 * MIN))
db.execute("INSERT INTO outbox_mentions (outbox_id, mention_id) VALUES (last_insert_rowid(), ?)", (mid,))
db.commit()
EOF
# The proxy: every request arrives as ana, or as beto (who reads Spanish)
# when the path starts with /es/.
cat > "$DIR/proxy.py" <<'EOF'
import http.server, sys, urllib.request
UP = sys.argv[2]
class P(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        user, path = ("beto", self.path[3:]) if self.path.startswith("/es/") else ("ana", self.path)
        req = urllib.request.Request(UP + path, headers={"X-Forwarded-User": user})
        try:
            r = urllib.request.urlopen(req)
        except urllib.error.HTTPError as e:
            r = e
        body = r.read()
        self.send_response(r.status)
        self.send_header("Content-Type", r.headers.get("Content-Type", "text/html"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), P).serve_forever()
EOF
python3 "$DIR/proxy.py" "$PROXY_PORT" "http://127.0.0.1:$PORT" & PROXY=$!
sleep 0.5
FIRST=$(sqlite3 "$DIR/escucha.db" "SELECT id FROM mentions WHERE platform_id = 'demo1'")
shot() { chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$2" --screenshot="$DOCS/$1" "http://127.0.0.1:$PROXY_PORT$3" 2>/dev/null; }
shot inbox.png 1280,720 /
shot inbox-mention.png 1280,620 "/mentions/$FIRST"
shot inbox-numbers.png 1280,1400 "/numbers?since=7d"
shot inbox-phone.png 400,860 /
shot inbox-es.png 1280,720 /es/
echo "screenshots written to $DOCS"
