#!/bin/sh
# kafka-node.sh — entrypoint of the kafka-N services of docker-compose.yml:
# a combined broker+controller of a three-node KRaft quorum.
#   clients and inter-broker: SASL_SSL, SCRAM-SHA-512 only (users "admin" and
#     "aistream", created at format time, passwords from .env)
#   controller quorum: SSL with client certificates (mutual TLS)
#   replication 3, min.insync.replicas 2, no topic auto-creation
set -eu
: "${NODE_ID:?}" "${CLUSTER_ID:?}" "${KAFKA_ADMIN_PASSWORD:?}" "${AISTREAM_KAFKA_PASSWORD:?}" "${KEYSTORE_PASSWORD:?}"
for v in CLUSTER_ID KAFKA_ADMIN_PASSWORD AISTREAM_KAFKA_PASSWORD KEYSTORE_PASSWORD; do
	case "$(eval echo "\$$v")" in replace-*) echo "kafka-node: $v is still the placeholder of .env.example: set it in .env" >&2; exit 1 ;; esac
done
PROPS=/tmp/server.properties
umask 077
cat >"$PROPS" <<PROPERTIES
process.roles=broker,controller
node.id=${NODE_ID}
controller.quorum.voters=1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093
listeners=SASL_SSL://:9092,CONTROLLER://:9093
advertised.listeners=SASL_SSL://kafka-${NODE_ID}:9092
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
listener.name.controller.ssl.client.auth=required
ssl.keystore.type=PKCS12
ssl.keystore.location=/certs/kafka.p12
ssl.keystore.password=${KEYSTORE_PASSWORD}
ssl.truststore.type=PKCS12
ssl.truststore.location=/certs/truststore.p12
ssl.truststore.password=${KEYSTORE_PASSWORD}
log.dirs=/var/lib/kafka/data
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
PROPERTIES
# The healthcheck's client settings (as admin over SASL_SSL).
cat >/tmp/client.properties <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
ssl.truststore.type=PKCS12
ssl.truststore.location=/certs/truststore.p12
ssl.truststore.password=${KEYSTORE_PASSWORD}
ssl.endpoint.identification.algorithm=
PROPERTIES
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
	/opt/kafka/bin/kafka-storage.sh format --cluster-id "$CLUSTER_ID" --config "$PROPS" \
		--add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]" \
		--add-scram "SCRAM-SHA-512=[name=aistream,password=${AISTREAM_KAFKA_PASSWORD}]"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$PROPS"
