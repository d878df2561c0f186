#!/bin/sh
# hostile.sh DIR TRAMIT: writes DIR/hostile/*.xml, XAdES documents an attacker might send,
# each made at run time from real signatures (the PKI of make_pki.sh in DIR), one per line of
# attack: entity tricks, foreign references, weak algorithms, wrapping, key substitution,
# tampered signed properties, a second signature.
set -eu
cd "$1"
T=$2
mkdir -p hostile
h=hostile
"$T" signature sign --format xades --key citizen.key --cert citizen.pem doc.xml env.xml
"$T" signature sign --format xades --detached --key citizen.key --cert citizen.pem data.bin det.xml

# Entities: an external one, and exponential expansion.
printf '<?xml version="1.0"?>\n<!DOCTYPE doc [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<doc>&x;</doc>\n' \
	> $h/01-xxe.xml
{
	printf '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY l "lol">'
	prev=l
	for i in 1 2 3 4 5 6 7 8 9; do
		printf '<!ENTITY l%s "&%s;&%s;&%s;&%s;&%s;&%s;&%s;&%s;&%s;&%s;">' "$i" $prev $prev $prev $prev $prev \
			$prev $prev $prev $prev $prev
		prev=l$i
	done
	printf ']>\n<lolz>&l9;</lolz>\n'
} > $h/02-billion-laughs.xml
# A DOCTYPE before a real signature.
sed '1a<!DOCTYPE doc>' env.xml > $h/03-doctype-before-signature.xml

# References outside the document.
sed 's|URI="#CONTENT-[0-9a-f]*"|URI="file:///etc/passwd"|' det.xml > $h/04-file-reference.xml
sed 's|URI="#CONTENT-[0-9a-f]*"|URI="http://127.0.0.1:9/x"|' det.xml > $h/05-http-reference.xml

# Weak algorithms.
sed '0,/xmlenc#sha256/s|http://www.w3.org/2001/04/xmlenc#sha256|http://www.w3.org/2000/09/xmldsig#sha1|' \
	env.xml > $h/06-sha1-digest.xml
sed '0,/xmlenc#sha256/s|http://www.w3.org/2001/04/xmlenc#sha256|http://www.w3.org/2001/04/xmldsig-more#md5|' \
	env.xml > $h/07-md5-digest.xml
sed 's|http://www.w3.org/2001/04/xmldsig-more#rsa-sha256|http://www.w3.org/2000/09/xmldsig#rsa-sha1|' \
	env.xml > $h/08-rsa-sha1-method.xml

# Wrapping: the signed content moved away, an unsigned one with the same Id in its place.
c=$(grep -o '<CONTENT [^>]*>[^<]*</CONTENT>' det.xml)
evil=$(printf '%s' "$c" | sed 's/>[^<]*</>ZXZpbA==</')
awk -v c="$c" -v e="$evil" '{i = index($0, c); if (i) $0 = substr($0, 1, i - 1) e substr($0, i + length(c));
	sub("</AFIRMA>", "<Hidden>" c "</Hidden></AFIRMA>"); print}' det.xml > $h/09-wrapping-duplicate-id.xml

# Key substitution: another certificate in KeyInfo.
other=$(grep -v -- '-----' stranger.pem | tr -d '\n')
tr -d '\n' < env.xml | sed "s|<ds:X509Certificate>[^<]*<|<ds:X509Certificate>$other<|" > $h/10-key-substitution.xml

# The signed properties changed after signing (the claimed signing time).
sed 's|<xades:SigningTime>[0-9]|<xades:SigningTime>1|' env.xml > $h/11-signed-properties-changed.xml

# Two signatures in one document.
sig=$(tr -d '\n' < env.xml | grep -o '<ds:Signature .*</ds:Signature>')
tr -d '\n' < env.xml | awk -v s="$sig" '{sub("</doc>", s "</doc>"); print}' > $h/12-two-signatures.xml
