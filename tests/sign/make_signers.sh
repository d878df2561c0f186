#!/bin/sh
# make_signers.sh DIR USERNAME:NIF:NAME...: a throw-away signer folder for the portasignatures
# (TRAMIT_SIGNER_DIR, docs/operations.md): a test CA (ca.pem, ca.key) and, for each employee,
# USERNAME.key (PEM private key) and USERNAME.pem (certificate with the NIF in serialNumber, as
# public-employee certificates carry it), made at run time with the openssl command line.
# ECDSA P-256 keys: as acceptable as RSA 2048 (DOMAIN.md 5.1) and much quicker to make.
set -eu
dir=$1
shift
mkdir -p "$dir"
cd "$dir"
if [ ! -f ca.pem ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 3650 -sha256 \
		-subj "/C=ES/O=Tramit Test/CN=Tramit Test Employee CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
fi
for spec in "$@"; do
	user=${spec%%:*}
	rest=${spec#*:}
	nif=${rest%%:*}
	name=${rest#*:}
	printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature,nonRepudiation > "$user.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$user.key" \
		-subj "/C=ES/O=Ajuntament de Prova/serialNumber=IDCES-$nif/CN=$name - $nif" -out "$user.csr" 2>/dev/null
	openssl x509 -req -in "$user.csr" -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
		-days 3650 -sha256 -extfile "$user.ext" -out "$user.pem" 2>/dev/null
	rm -f "$user.csr" "$user.ext"
	chmod 600 "$user.key"
done
