#!/bin/sh
# signed.sh DIR TRAMIT FUZZER: makes the XML harness's seeds with real tools, then runs it: a
# throw-away PKI (tests/sign/make_pki.sh), a document signed as enveloped XAdES and the same
# bytes signed as detached CAdES by `tramit signature sign`.
set -eu
dir=$1 tramit=$2 fuzzer=$3
rm -rf "$dir" && mkdir -p "$dir"
sh "$(dirname "$0")/../sign/make_pki.sh" "$dir"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<Sollicitud><Assumpte>Fanal apagat</Assumpte></Sollicitud>\n' > "$dir/content.xml"
"$tramit" signature sign --format xades --key "$dir/citizen.key" --cert "$dir/citizen.pem" "$dir/content.xml" "$dir/signed.xml" >/dev/null
"$tramit" signature sign --format cades --detached --key "$dir/citizen.key" --cert "$dir/citizen.pem" "$dir/content.xml" "$dir/signed.p7s" >/dev/null
cd "$dir" && exec "$fuzzer" "$dir"
