#!/bin/sh
# make_pki.sh DIR: a throw-away PKI for the signature tests, made at run time with the openssl
# command line (no key is ever checked in): a test CA, a citizen certificate with the NIF in
# serialNumber, a seal, a TSA (critical timeStamping EKU), an expired certificate (issued with
# `openssl ca`, which can back-date) and an unrelated CA with a certificate of its own.
set -eu
cd "$1"
days=3650

ext() { printf '%s\n' "$@" > "$name.ext"; }

issue() { # issue NAME SUBJECT ISSUER [extension lines...]
	name=$1 subject=$2 issuer=$3
	shift 3
	ext basicConstraints=critical,CA:FALSE "$@"
	openssl req -new -newkey rsa:2048 -nodes -keyout "$name.key" -subj "$subject" -out "$name.csr" 2>/dev/null
	openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" -set_serial "0x$(openssl rand -hex 8)" \
		-days "$days" -sha256 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
}

root() { # root NAME SUBJECT
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days "$days" -sha256 -subj "$2" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

root ca "/C=ES/O=Tramit Test/CN=Tramit Test CA"
root rogue "/C=ES/O=Nobody/CN=Untrusted CA"
issue citizen "/C=ES/serialNumber=IDCES-12345678Z/GN=JOAN/SN=GARCIA/CN=GARCIA JOAN - 12345678Z" ca \
	keyUsage=critical,digitalSignature,nonRepudiation
issue seal "/C=ES/O=Ajuntament de Prova/CN=Segell de l'Ajuntament de Prova" ca \
	keyUsage=critical,digitalSignature,nonRepudiation
issue tsa "/C=ES/O=Tramit Test/CN=Tramit Test TSA" ca \
	keyUsage=critical,digitalSignature,nonRepudiation extendedKeyUsage=critical,timeStamping
issue stranger "/C=ES/serialNumber=IDCES-00000000T/CN=STRANGER" rogue \
	keyUsage=critical,digitalSignature,nonRepudiation

# The expired certificate: `openssl ca` takes explicit validity dates.
mkdir -p ca.db
: > ca.db/index.txt
cat > ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = ca.db/index.txt
new_certs_dir = ca.db
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = leaf
rand_serial = yes
[any]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
CNF
openssl req -new -newkey rsa:2048 -nodes -keyout expired.key -subj "/C=ES/CN=EXPIRED SIGNER" -out expired.csr 2>/dev/null
openssl ca -batch -config ca.cnf -startdate 20200101000000Z -enddate 20210101000000Z -in expired.csr \
	-out expired.pem -notext 2>/dev/null
