#!/bin/sh
# bench/seals: seals (XAdES and CAdES) signed, and XAdES verified, per second by one thread,
# next to `openssl speed rsa2048` signs and verifies per second measured in the same run, on a
# throw-away PKI (tests/sign/make_pki.sh). Usage: bench/seals.sh [SECONDS]
. "$(dirname "$0")/lib.sh"
SECONDS_EACH=${1:-3}
WORK=$(mktemp -d /tmp/tramit-seals-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
sh "$ROOT/tests/sign/make_pki.sh" "$WORK" >/dev/null 2>&1
"$BUILD/bench/bench_seals" "$WORK/seal.key" "$WORK/seal.pem" "$WORK/ca.pem" "$SECONDS_EACH" > "$WORK/ours"
openssl speed -seconds "$SECONDS_EACH" rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print "rsa_sign", $6; print "rsa_verify", $7}' > "$WORK/openssl"
get() { awk -v k="$2" '$1 == k {print $2}' "$WORK/$1"; }
echo "bench/seals: one thread, ${SECONDS_EACH}s each, $(nproc) cores, $(openssl version | cut -d' ' -f1-2)"
printf '%-38s %10.0f/s\n' "openssl speed rsa2048, signs" "$(get openssl rsa_sign)"
printf '%-38s %10.0f/s   %.2f of RSA signs\n' "XAdES seals (receipt-sized XML)" "$(get ours xades_sign)" \
	"$(echo "$(get ours xades_sign) / $(get openssl rsa_sign)" | bc -l)"
printf '%-38s %10.0f/s   %.2f of RSA signs\n' "CAdES seals (100 KiB, detached)" "$(get ours cades_sign)" \
	"$(echo "$(get ours cades_sign) / $(get openssl rsa_sign)" | bc -l)"
printf '%-38s %10.0f/s\n' "openssl speed rsa2048, verifies" "$(get openssl rsa_verify)"
printf '%-38s %10.0f/s   %.2f of RSA verifies\n' "XAdES verifications (ours)" "$(get ours xades_verify)" \
	"$(echo "$(get ours xades_verify) / $(get openssl rsa_verify)" | bc -l)"
