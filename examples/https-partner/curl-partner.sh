#!/bin/sh
# A Keten partner that uses only curl and a POSIX shell: the HTTPS API with mutual TLS
# (docs/http-api.md).
#
#   curl-partner.sh send    OUTBOX   submit each OUTBOX/*.json (one message object each, as in
#                                    docs/http-api.md); accepted or duplicate ones move to
#                                    OUTBOX/sent/, refused ones to OUTBOX/refused/ with the
#                                    problem beside them as NAME.problem.json
#   curl-partner.sh receive INBOX    take deliveries one at a time, write each to
#                                    INBOX/<delivery id>.json, and ack it only after that
#                                    write is on disk; stops when none came for WAIT seconds
#
# Environment: KETEN_URL (https://host:port), KETEN_CA (the broker's CA), KETEN_CERT and KETEN_KEY
# (this partner's certificate and key), WAIT (seconds of long poll, default 20).
# Exit codes: 0 done, 1 something was refused or failed (see stderr), 2 usage.
set -eu

usage() { echo "usage: $0 send OUTBOX | receive INBOX" >&2; exit 2; }
[ $# -eq 2 ] || usage
: "${KETEN_URL:?set KETEN_URL}" "${KETEN_CA:?set KETEN_CA}" "${KETEN_CERT:?set KETEN_CERT}" "${KETEN_KEY:?set KETEN_KEY}"
WAIT=${WAIT:-20}

api() {  # api METHOD PATH [curl options...]: the body to stdout, the status code to $STATUS_FILE
  method=$1 path=$2
  shift 2
  curl -sS --cacert "$KETEN_CA" --cert "$KETEN_CERT" --key "$KETEN_KEY" -X "$method" \
       --max-time $((WAIT + 30)) -w '%{http_code}' -o "$BODY_FILE" "$@" "$KETEN_URL$path" > "$STATUS_FILE"
}

BODY_FILE=$(mktemp) STATUS_FILE=$(mktemp)
trap 'rm -f "$BODY_FILE" "$STATUS_FILE"' EXIT
failed=0

case $1 in
send)
  outbox=$2
  mkdir -p "$outbox/sent" "$outbox/refused"
  for file in "$outbox"/*.json; do
    [ -e "$file" ] || continue
    name=$(basename "$file")
    if ! api POST /v1/messages -H 'Content-Type: application/json' --data-binary "@$file"; then
      echo "send $name: no answer from the broker; left in place, run again" >&2
      failed=1
      continue
    fi
    status=$(cat "$STATUS_FILE")
    case $status in
      200|201) mv "$file" "$outbox/sent/$name"; echo "sent $name ($status)";;
      429|503|504) echo "send $name: $status, left in place; run again later" >&2; failed=1;;
      *) mv "$file" "$outbox/refused/$name"
         cp "$BODY_FILE" "$outbox/refused/${name%.json}.problem.json"
         echo "refused $name ($status): $(cat "$BODY_FILE")" >&2
         failed=1;;
    esac
  done
  ;;
receive)
  inbox=$2
  mkdir -p "$inbox"
  while :; do
    api GET "/v1/deliveries?max=1&wait=$WAIT" || { echo "receive: no answer from the broker" >&2; exit 1; }
    [ "$(cat "$STATUS_FILE")" = 200 ] || { echo "receive: $(cat "$STATUS_FILE") $(cat "$BODY_FILE")" >&2; exit 1; }
    # With max=1 the answer holds at most one delivery, and delivery_id is its first field.
    id=$(grep -o '"delivery_id":[0-9]*' "$BODY_FILE" | head -n 1 | cut -d: -f2 || true)
    [ -n "$id" ] || break  # nothing came within WAIT seconds
    tmp="$inbox/.$id.json.tmp"
    cp "$BODY_FILE" "$tmp" && sync "$tmp" 2>/dev/null || sync
    mv "$tmp" "$inbox/$id.json"
    api POST "/v1/deliveries/$id/ack"
    [ "$(cat "$STATUS_FILE")" = 204 ] || { echo "ack $id: $(cat "$STATUS_FILE") $(cat "$BODY_FILE")" >&2; failed=1; }
    echo "received $id"
  done
  ;;
*) usage;;
esac
exit $failed
