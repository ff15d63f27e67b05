#!/usr/bin/env bash
# Test certificates for Artery TLS between eapo nodes (eapo.node.tls in conf/application.conf).
#
#   scripts/make-test-certs.sh [DIR] [--host NAME]... [--force]
#
# Writes, with the JDK's keytool only (PKCS12, password "changeit" = the config defaults):
#   DIR/node-keystore.p12        the node key pair (alias "node"), certificate signed by the test CA, with the chain
#   DIR/truststore.p12           the test CA certificate (alias "eapo-test-ca"): what a node trusts
#   DIR/ca.pem                   the test CA certificate (PEM)
#   DIR/ca/ca.p12                the test CA's private key: keep it off the nodes
#   DIR/rogue/...                the same files from a different CA ("rogue CA"), for tests: a node with these
#                                is refused by nodes that trust DIR/truststore.p12. rogue/truststore.p12 trusts
#                                both CAs, so a rogue node accepts the real nodes and only their checks keep it out.
# DIR defaults to certs. Every node may use the same DIR/node-keystore.p12 and DIR/truststore.p12.
# The node certificate names IP:127.0.0.1 and DNS:localhost, plus each --host NAME (repeatable) and each
# comma-separated name in $EAPO_CERT_HOSTS (an IPv4/IPv6 address becomes an IP entry, anything else a DNS entry);
# the names matter only with eapo.node.tls.hostname-verification = on.
# Idempotent: a complete existing set is kept (and reported); --force makes new ones. Test certificates only:
# the CA key sits next to them unencrypted with a well-known password.
set -euo pipefail

DIR=certs
FORCE=0
HOSTS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --rogue) ;;  # accepted for compatibility: the rogue set is always made (DIR/rogue)
    --host) [ $# -ge 2 ] || { echo "--host needs a name" >&2; exit 2; }; HOSTS+=("$2"); shift ;;
    --host=*) HOSTS+=("${1#--host=}") ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    *) DIR="$1" ;;
  esac
  shift
done
if [ -n "${EAPO_CERT_HOSTS:-}" ]; then
  IFS=',' read -r -a extra <<< "$EAPO_CERT_HOSTS"
  for h in "${extra[@]}"; do
    h="${h//[[:space:]]/}"
    [ -n "$h" ] && HOSTS+=("$h")
  done
fi

KEYTOOL=keytool
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/keytool" ]; then KEYTOOL="$JAVA_HOME/bin/keytool"; fi
command -v "$KEYTOOL" > /dev/null || { echo "keytool not found: install a JDK (17+) or set JAVA_HOME" >&2; exit 1; }

PASS=changeit
VALIDITY_CA=3650
VALIDITY_NODE=825

SAN="ip:127.0.0.1,dns:localhost"
for h in "${HOSTS[@]+"${HOSTS[@]}"}"; do
  if [[ "$h" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || "$h" == *:* ]]; then SAN+=",ip:$h"; else SAN+=",dns:$h"; fi
done

kt() {
  local log
  log="$("$KEYTOOL" "$@" 2>&1)" || { echo "keytool $1 failed: $log" >&2; exit 1; }
}

# make_set OUT CA_NAME NODE_NAME [EXTRA_TRUSTED_PEM]
make_set() {
  local out="$1" ca_name="$2" node_name="$3" extra_trust="${4:-}"
  local files=("$out/node-keystore.p12" "$out/truststore.p12" "$out/ca.pem" "$out/ca/ca.p12")
  local complete=1 f
  for f in "${files[@]}"; do [ -s "$f" ] || complete=0; done
  if [ "$FORCE" = 0 ] && [ "$complete" = 1 ] && [ -z "$extra_trust" -o "$WROTE" = 0 ]; then
    echo "kept  $out/{node-keystore.p12,truststore.p12,ca.pem,ca/ca.p12} (exist; --force makes new ones)"
    return
  fi
  mkdir -p "$out/ca"
  rm -f "${files[@]}"
  local work
  work="$(mktemp -d)"
  # The CA: a self-signed key pair that may sign certificates (basic constraints CA:true).
  kt -genkeypair -alias ca -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA -dname "CN=$ca_name" \
     -ext bc:c=ca:true -ext ku:c=keyCertSign,cRLSign -validity "$VALIDITY_CA" \
     -keystore "$out/ca/ca.p12" -storetype PKCS12 -storepass "$PASS" -keypass "$PASS"
  kt -exportcert -rfc -alias ca -keystore "$out/ca/ca.p12" -storepass "$PASS" -file "$out/ca.pem"
  # The node: a key pair, a certificate request, the CA's signature, and the chain back into the key store.
  kt -genkeypair -alias node -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA -dname "CN=$node_name" \
     -validity "$VALIDITY_NODE" -keystore "$out/node-keystore.p12" -storetype PKCS12 -storepass "$PASS" -keypass "$PASS"
  kt -certreq -alias node -keystore "$out/node-keystore.p12" -storepass "$PASS" -file "$work/node.csr"
  kt -gencert -alias ca -keystore "$out/ca/ca.p12" -storepass "$PASS" -infile "$work/node.csr" -outfile "$work/node.pem" \
     -rfc -validity "$VALIDITY_NODE" -sigalg SHA256withECDSA -ext "san=$SAN" \
     -ext ku:c=digitalSignature,keyAgreement -ext eku=serverAuth,clientAuth
  cat "$work/node.pem" "$out/ca.pem" > "$work/chain.pem"
  kt -importcert -noprompt -alias node -file "$work/chain.pem" -keystore "$out/node-keystore.p12" -storepass "$PASS"
  # What this set's node trusts.
  kt -importcert -noprompt -alias eapo-test-ca -file "$out/ca.pem" -keystore "$out/truststore.p12" \
     -storetype PKCS12 -storepass "$PASS"
  if [ -n "$extra_trust" ]; then
    kt -importcert -noprompt -alias eapo-trusted-ca -file "$extra_trust" -keystore "$out/truststore.p12" -storepass "$PASS"
  fi
  rm -rf "$work"
  WROTE=1
  echo "wrote $out/node-keystore.p12 (CN=$node_name, signed by CN=$ca_name; SAN ${SAN})"
  echo "wrote $out/truststore.p12 (trusts CN=$ca_name${extra_trust:+ and the CA in $extra_trust})"
  echo "wrote $out/ca.pem, $out/ca/ca.p12 (the CA's key: keep it off the nodes)"
}

mkdir -p "$DIR"
WROTE=0  # a new main set also renews the rogue set, whose trust store holds the main CA
make_set "$DIR" "eapo test CA" "eapo node"
make_set "$DIR/rogue" "eapo rogue CA" "eapo node" "$DIR/ca.pem"
echo "passwords: $PASS (eapo.node.tls.*-password); enable with eapo.node.tls { enabled = on, key-store = \"$DIR/node-keystore.p12\", trust-store = \"$DIR/truststore.p12\" }"
