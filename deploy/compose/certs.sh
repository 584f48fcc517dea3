#!/bin/sh
# certs.sh — the one-shot "certs" service of docker-compose.yml: a private CA
# and one broker certificate (SANs kafka-1..3, localhost) in the certs volume,
# made with the JDK's keytool of the apache/kafka image. Idempotent: an
# existing CA is kept. Nothing here is committed; the keystore password comes
# from .env (KEYSTORE_PASSWORD).
#   /certs/ca.pem          the CA certificate clients trust (KAFKA_SSL_CAFILE)
#   /certs/kafka.p12       broker key and certificate chain (PKCS12)
#   /certs/truststore.p12  the CA, for the brokers' mutual TLS on the controller listener
set -eu
: "${KEYSTORE_PASSWORD:?set KEYSTORE_PASSWORD in .env}"
case "$KEYSTORE_PASSWORD" in replace-*) echo "certs: KEYSTORE_PASSWORD is still the placeholder of .env.example: set it in .env" >&2; exit 1 ;; esac
cd /certs
if [ -f kafka.p12 ] && [ -f ca.pem ] && [ -f truststore.p12 ]; then
	echo "certs: present, kept"
	exit 0
fi
rm -f ca.p12 ca.pem kafka.p12 kafka.csr kafka.pem truststore.p12
SAN="SAN=dns:kafka-1,dns:kafka-2,dns:kafka-3,dns:localhost"
kt() { keytool -storetype PKCS12 -storepass "$KEYSTORE_PASSWORD" "$@"; }
kt -genkeypair -keystore ca.p12 -alias ca -dname "CN=aistream compose CA" -keyalg RSA -keysize 3072 -validity 825 -ext bc:c
kt -exportcert -keystore ca.p12 -alias ca -rfc -file ca.pem
kt -importcert -noprompt -keystore truststore.p12 -alias ca -file ca.pem
kt -genkeypair -keystore kafka.p12 -alias kafka -dname "CN=kafka" -keyalg RSA -keysize 2048 -validity 825 -ext "$SAN"
kt -certreq -keystore kafka.p12 -alias kafka -file kafka.csr
kt -gencert -keystore ca.p12 -alias ca -infile kafka.csr -outfile kafka.pem -rfc -validity 825 -ext "$SAN" -ext ku:c=digitalSignature,keyEncipherment -ext eku=serverAuth,clientAuth
kt -importcert -noprompt -keystore kafka.p12 -alias ca -file ca.pem
kt -importcert -noprompt -keystore kafka.p12 -alias kafka -file kafka.pem
rm -f kafka.csr kafka.pem
# The CA key stays here (root only); the brokers run as the image's appuser
# (the same image runs this script).
chmod 600 ca.p12
chown appuser:appuser kafka.p12 truststore.p12
chmod 640 kafka.p12 truststore.p12
chmod 644 ca.pem
echo "certs: CA and broker certificate written"
