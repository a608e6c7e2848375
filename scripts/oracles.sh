#!/usr/bin/env bash
# scripts/oracles.sh [BASE_URL [OUT_DIR]]
#
# Runs the third-party feed oracles (W3C feedvalidator, python3-feedparser,
# JSON Feed 1.1 schema via ajv) against a live Nashir server.
#
#   BASE_URL  origin of an already running server (e.g. http://127.0.0.1:8787).
#             It must be the server's NASHIR_BASE_URL, because self links are
#             checked against the URL fetched. Needs NASHIR_ADMIN_TOKEN in the
#             environment. Empty or "-": start a throw-away server with
#             `npm start` (temp SQLite file, free port, random admin token).
#   OUT_DIR   where the feeds and oracle outputs go (default /tmp/nashir-oracles).
#
# Env: ORACLES_TOOLS  folder with feedvalidate, feedparse, jsonfeed-validate
#                     (default: ../shared/tools next to this repo)
#      ORACLES_STRICT=1  also fail on any validator warning (default: fail on
#                     errors, and on the SelfDoesntMatchLocation warning)
#
# Exit 0 only when every oracle and check passes. Set-up: docs/oracles.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${ORACLES_TOOLS:-$(cd "$ROOT/.." && pwd)/shared/tools}
BASE=${1:-}
[ "$BASE" = "-" ] && BASE=
OUT=${2:-/tmp/nashir-oracles}
SITE=nisan
SITE_JSON=$ROOT/tests/fixtures/seed-site.json
ARTICLE_JSON=$ROOT/tests/fixtures/seed-article.json
EXPECT_PUBLISHED=2024-06-19T11:49:00Z
CATEGORY=سياسة

die() { echo "oracles: $*" >&2; exit 2; }
for t in feedvalidate feedparse jsonfeed-validate; do
  [ -x "$TOOLS/$t" ] || die "missing $TOOLS/$t (set ORACLES_TOOLS)"
done
for c in curl jq openssl od base64; do command -v "$c" >/dev/null || die "needs $c"; done
[ -f "${FEEDVALIDATOR_HOME:-/opt/oracles/feedvalidator}/src/feedvalidator/__init__.py" ] ||
  die "W3C feedvalidator not installed; see docs/oracles.md (setup-feedvalidator)"
/usr/bin/python3 -c 'import feedparser' 2>/dev/null || die "python3-feedparser not installed (apt); see docs/oracles.md"

mkdir -p "$OUT"
for f in rss.xml atom.xml feed.json category-rss.xml category-atom.xml; do rm -f "$OUT/$f" "$OUT/$f".*; done
TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 -- "-$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- server
if [ -z "$BASE" ]; then
  PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export NASHIR_ADMIN_TOKEN
  NASHIR_ADMIN_TOKEN=$(openssl rand -hex 24)
  BASE=http://127.0.0.1:$PORT
  echo "oracles: starting npm start on $BASE (log: $OUT/server.log)"
  # setsid: own process group, so the trap can kill npm and node together
  (cd "$ROOT" && NASHIR_DB="$TMP/nashir.db" PORT="$PORT" HOST=127.0.0.1 \
     NASHIR_BASE_URL="$BASE" exec setsid npm start) >"$OUT/server.log" 2>&1 </dev/null &
  SERVER_PID=$!
  for i in $(seq 1 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)
    [ "$code" = 200 ] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 30 "$OUT/server.log" >&2; die "server exited before /healthz answered"
    fi
    [ "$i" = 120 ] && { tail -n 30 "$OUT/server.log" >&2; die "no 200 from $BASE/healthz after 60 s"; }
    sleep 0.5
  done
else
  BASE=${BASE%/}
  [ -n "${NASHIR_ADMIN_TOKEN:-}" ] || die "NASHIR_ADMIN_TOKEN must be set when BASE_URL is given"
  code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)
  [ "$code" = 200 ] || die "$BASE/healthz answered ${code:-nothing}, not 200"
fi
echo "oracles: server $BASE is healthy"

FAILS=()
fail() { FAILS+=("$*"); echo "FAIL: $*"; }

# http METHOD URL OUTFILE [curl args...] -> prints status code
http() {
  local m=$1 u=$2 o=$3; shift 3
  curl -sS -X "$m" -o "$o" -w '%{http_code}' "$@" "$u" || echo 000
}

# ---------------------------------------------------------------- site
code=$(http PUT "$BASE/v1/sites/$SITE" "$TMP/site.json" \
  -H "Authorization: Bearer $NASHIR_ADMIN_TOKEN" -H 'Content-Type: application/json' \
  --data-binary @"$SITE_JSON")
case $code in
  201) echo "site: PUT /v1/sites/$SITE -> 201 (created)"; SECRETS=$TMP/site.json ;;
  200) # already there: secrets are shown only at creation, so rotate to get usable ones
       echo "site: PUT /v1/sites/$SITE -> 200 (existed); rotating secrets"
       code=$(http POST "$BASE/v1/sites/$SITE/rotate-secrets" "$TMP/rotate.json" \
         -H "Authorization: Bearer $NASHIR_ADMIN_TOKEN")
       [ "$code" = 200 ] || { cat "$TMP/rotate.json" >&2; die "rotate-secrets answered $code"; }
       SECRETS=$TMP/rotate.json ;;
  *) cat "$TMP/site.json" >&2 2>/dev/null; echo >&2; die "PUT /v1/sites/$SITE answered $code" ;;
esac
API_KEY=$(jq -er .api_key "$SECRETS") || die "no api_key in the site response"
WH_SECRET=$(jq -er .webhook_secret "$SECRETS") || die "no webhook_secret in the site response"
case $WH_SECRET in whsec_*) ;; *) fail "webhook_secret does not start with whsec_" ;; esac

# ---------------------------------------------------------------- publish (api key)
code=$(http POST "$BASE/v1/sites/$SITE/articles" "$TMP/pub1.json" \
  -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' \
  --data-binary @"$ARTICLE_JSON")
echo "publish: api key -> $code"
case $code in 200|201) ;; *) cat "$TMP/pub1.json" >&2; echo >&2; fail "publish with api key answered $code" ;; esac

# ---------------------------------------------------------------- publish (Standard Webhooks)
WH_ID=msg_oracles_$(date +%s)_$RANDOM$RANDOM
WH_TS=$(date +%s)
KEY_HEX=$(printf '%s' "${WH_SECRET#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
{ printf '%s.%s.' "$WH_ID" "$WH_TS"; cat "$ARTICLE_JSON"; } > "$TMP/signed-content"
SIG=$(openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY_HEX" -binary "$TMP/signed-content" | base64 | tr -d '\n')
code=$(http POST "$BASE/v1/sites/$SITE/articles" "$TMP/pub2.json" \
  -H 'Content-Type: application/json' -H "webhook-id: $WH_ID" \
  -H "webhook-timestamp: $WH_TS" -H "webhook-signature: v1,$SIG" \
  --data-binary @"$ARTICLE_JSON")
echo "publish: webhook signature -> $code"
case $code in 200|201) ;; *) cat "$TMP/pub2.json" >&2; echo >&2; fail "publish with webhook signature answered $code" ;; esac

# ---------------------------------------------------------------- download
CAT_ENC=$(jq -rn --arg s "$CATEGORY" '$s|@uri')
declare -A URLS=(
  [rss.xml]="$BASE/$SITE/rss.xml"
  [atom.xml]="$BASE/$SITE/atom.xml"
  [feed.json]="$BASE/$SITE/feed.json"
  [category-rss.xml]="$BASE/$SITE/categories/$CAT_ENC/rss.xml"
  [category-atom.xml]="$BASE/$SITE/categories/$CAT_ENC/atom.xml"
)
ORDER=(rss.xml atom.xml feed.json category-rss.xml category-atom.xml)
declare -A OK
for f in "${ORDER[@]}"; do
  url=${URLS[$f]}
  res=$(curl -sS -o "$OUT/$f" -w '%{http_code} %{content_type}' "$url" || echo "000 -")
  code=${res%% *}; ctype=${res#* }
  echo "GET $url -> $res"
  case $f in *rss.xml) want=application/rss+xml ;; *atom.xml) want=application/atom+xml ;; *) want=application/feed+json ;; esac
  if [ "$code" != 200 ]; then fail "GET $url answered $code"; continue; fi
  [ "$ctype" = "$want; charset=utf-8" ] || fail "$f: Content-Type is '$ctype', want '$want; charset=utf-8'"
  OK[$f]=1
done

# ---------------------------------------------------------------- oracles
SEED_TITLE=$(jq -r .title "$ARTICLE_JSON")
section() { printf '\n===== %s\n' "$*"; }

for f in rss.xml atom.xml category-rss.xml category-atom.xml; do
  [ -n "${OK[$f]:-}" ] || continue
  url=${URLS[$f]}
  section "feedvalidate $f --base $url"
  set +e; "$TOOLS/feedvalidate" "$OUT/$f" --base "$url" >"$OUT/$f.feedvalidate.out" 2>&1; rc=$?; set -e
  tail -n 15 "$OUT/$f.feedvalidate.out"
  [ $rc = 0 ] || fail "feedvalidate $f (exit $rc)"
  grep -q '^WARN SelfDoesntMatchLocation' "$OUT/$f.feedvalidate.out" && fail "feedvalidate $f: self link is not $url"
  [ "${ORACLES_STRICT:-0}" = 1 ] && grep -q '^WARN ' "$OUT/$f.feedvalidate.out" && fail "feedvalidate $f: warnings (ORACLES_STRICT=1)"

  section "feedparse $f"
  set +e; "$TOOLS/feedparse" "$OUT/$f" >"$OUT/$f.feedparse.json" 2>"$OUT/$f.feedparse.err"; rc=$?; set -e
  jq -c '{version, bozo, bozo_exception, entries_count, first: (.entries[0] // null | if . then {id, title, published_parsed, updated_parsed, author, tags} else null end)}' \
    "$OUT/$f.feedparse.json" 2>/dev/null || tail -n 15 "$OUT/$f.feedparse.json" "$OUT/$f.feedparse.err"
  [ $rc = 0 ] || fail "feedparse $f (exit $rc: bozo or crash)"
  if jq -e --arg t "$SEED_TITLE" --arg p "$EXPECT_PUBLISHED" \
       '.entries[0].title == $t and .entries[0].published_parsed == $p' "$OUT/$f.feedparse.json" >/dev/null 2>&1; then
    echo "check: first entry title and published_parsed ($EXPECT_PUBLISHED) OK"
  else
    fail "feedparse $f: first entry title/published_parsed differ from the seed ($(jq -c '.entries[0] // {} | {title, published_parsed}' "$OUT/$f.feedparse.json" 2>/dev/null))"
  fi
done

if [ -n "${OK[feed.json]:-}" ]; then
  section "jsonfeed-validate feed.json"
  set +e; (cd "$ROOT" && npx node "$TOOLS/jsonfeed-validate" "$OUT/feed.json") >"$OUT/feed.json.jsonfeed-validate.out" 2>&1; rc=$?; set -e
  tail -n 15 "$OUT/feed.json.jsonfeed-validate.out"
  [ $rc = 0 ] || fail "jsonfeed-validate feed.json (exit $rc)"
fi

# the same item id in all three formats (contract: Identity)
if [ -n "${OK[rss.xml]:-}" ] && [ -n "${OK[atom.xml]:-}" ] && [ -n "${OK[feed.json]:-}" ]; then
  ids=$( { jq -r '.entries[0].id // "-"' "$OUT/rss.xml.feedparse.json" "$OUT/atom.xml.feedparse.json"
           jq -r '.items[0].id // "-"' "$OUT/feed.json"; } 2>/dev/null | sort -u)
  if [ "$(printf '%s\n' "$ids" | wc -l)" = 1 ] && [[ $ids == tag:* ]]; then
    printf '\ncheck: same item id in RSS, Atom and JSON Feed: %s\n' "$ids"
  else
    fail "item ids differ between formats or are not tag: URIs: $(printf '%s ' $ids)"
  fi
fi

echo
echo "outputs in $OUT"
if [ ${#FAILS[@]} -gt 0 ]; then
  echo "oracles: ${#FAILS[@]} failure(s):"; printf '  - %s\n' "${FAILS[@]}"; exit 1
fi
echo "oracles: all passed"
