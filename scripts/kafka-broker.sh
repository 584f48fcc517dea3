#!/usr/bin/env bash
# kafka-broker.sh — run a real single-node Apache Kafka broker (KRaft, no
# ZooKeeper) on 127.0.0.1 for integration tests, without Docker.
#
# Only Java 17+ and Maven are required: the Kafka jars and their runtime
# dependencies are pulled from Maven Central (there is no Kafka tarball on
# Central) and cached, so later runs work offline.
#
# Usage:
#   scripts/kafka-broker.sh fetch             download jars into the cache (idempotent)
#   scripts/kafka-broker.sh start [--secure]  wipe data dir, format, start, wait until ready;
#                                             --secure (or KAFKA_SECURE=1) adds SASL_SSL and mTLS
#                                             listeners next to PLAINTEXT (see "Secured mode")
#   scripts/kafka-broker.sh stop              SIGTERM, then SIGKILL after 20 s
#   scripts/kafka-broker.sh status            print whether the broker runs (exit 1 if not)
#   scripts/kafka-broker.sh run-class CLASS [ARGS...]
#                                             run a Kafka tool with the cached classpath, e.g.
#                                             run-class org.apache.kafka.tools.TopicCommand \
#                                               --bootstrap-server 127.0.0.1:19092 --list
#
# Environment (all optional):
#   KAFKA_VERSION          Kafka 4.x version                (4.1.1)
#   KAFKA_PORT             PLAINTEXT listener port          (19092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port   (19093)
#   KAFKA_DATA_DIR         config, data, log and pid file   (/tmp/aistream-kafka)
#   KAFKA_LOG_LEVEL        root log4j2 level of the broker  (INFO)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness    (120)
#   AISTREAM_CACHE         cache root                       ($HOME/.cache/aistream)
#   KAFKA_SECURE           1: secured mode (start --secure) (0)
#   KAFKA_SASL_SSL_PORT    SASL_SSL (SCRAM) listener port   (KAFKA_PORT+2)
#   KAFKA_SSL_PORT         SSL listener (client cert)       (KAFKA_PORT+3)
#
# Secured mode: a throw-away CA (openssl) signs a broker certificate (SAN
# 127.0.0.1, localhost) and a client certificate; a SASL_SSL listener accepts
# SCRAM-SHA-512 and SCRAM-SHA-256 (user "aistream", created at format time
# with a random password per start), an SSL listener requires a client
# certificate signed by that CA. PLAINTEXT stays for the other tests; the
# controller and inter-broker traffic stay PLAINTEXT on loopback. Everything
# lives under KAFKA_DATA_DIR/secure; start prints the path of client.env
# (mode 0600), the AISTREAM_TEST_KAFKA_* settings the secured tests read:
# listener addresses, CA, client certificate and key, user and password.
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
# Must match the log4j2 version Kafka itself depends on (2.24.3 for 4.0/4.1).
LOG4J_VERSION="${LOG4J_VERSION:-2.24.3}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-/tmp/aistream-kafka}"
KAFKA_LOG_LEVEL="${KAFKA_LOG_LEVEL:-INFO}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
KAFKA_SECURE="${KAFKA_SECURE:-0}"
KAFKA_SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-$((KAFKA_PORT + 2))}"
KAFKA_SSL_PORT="${KAFKA_SSL_PORT:-$((KAFKA_PORT + 3))}"
SCRAM_USER=aistream
STOP_TIMEOUT=20

CACHE_DIR="${AISTREAM_CACHE:-$HOME/.cache/aistream}/kafka-${KAFKA_VERSION}"
LIBS_DIR="$CACHE_DIR/libs"
MARKER="$LIBS_DIR/.fetch-complete"

# Everything of one broker instance lives under KAFKA_DATA_DIR; it is wiped on start.
BOOTSTRAP="127.0.0.1:${KAFKA_PORT}"
PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
LOG_FILE="$KAFKA_DATA_DIR/broker.log"
CONFIG_FILE="$KAFKA_DATA_DIR/server.properties"
LOG4J_BROKER="$KAFKA_DATA_DIR/log4j2-broker.properties"
LOG4J_TOOLS="$CACHE_DIR/log4j2-tools.properties"
METADATA_DIR="$KAFKA_DATA_DIR/kraft-logs"
SECURE_DIR="$KAFKA_DATA_DIR/secure"
SECURE_ENV="$SECURE_DIR/client.env"

# Main classes (Kafka 4.x): the broker and the storage tool are still Scala
# code in kafka_2.13; the admin CLIs moved to the kafka-tools artifact.
MAIN_SERVER="kafka.Kafka"
MAIN_STORAGE="kafka.tools.StorageTool"
MAIN_API_VERSIONS="org.apache.kafka.tools.BrokerApiVersionsCommand"

log() { printf '[kafka-broker] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found in PATH"; }

# ---------------------------------------------------------------- fetch ----

fetch() {
  if [[ -f "$MARKER" ]]; then
    write_tools_log4j
    return 0
  fi
  need mvn
  need java
  case "$KAFKA_VERSION" in
    4.*) ;;
    *) die "KAFKA_VERSION=$KAFKA_VERSION: only Kafka 4.x is supported (KRaft-only layout)";;
  esac
  mkdir -p "$CACHE_DIR"
  log "fetching Kafka $KAFKA_VERSION and dependencies from Maven Central into $LIBS_DIR"
  # A throw-away pom lets Maven resolve the full runtime dependency tree.
  # kafka-tools provides the admin CLIs (TopicCommand, BrokerApiVersionsCommand,...);
  # its connect-runtime dependency (Jetty, Jersey, ~20 MB) is only needed by
  # connect-plugin-path, so it is excluded. log4j-slf4j-impl binds Kafka's
  # slf4j 1.7 API to log4j2 (Kafka's pom only ships the API, not a binding).
  cat >"$CACHE_DIR/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.aistream</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>${KAFKA_VERSION}</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
EOF
  # Download into a temp dir and rename at the end, so an interrupted fetch
  # never leaves a half-filled libs dir that looks complete.
  local tmp="$CACHE_DIR/libs.tmp.$$"
  rm -rf "$tmp"
  # Maven output goes to a file (shown on failure): even -q leaks ANSI codes.
  if ! mvn -q -B -Dstyle.color=never -f "$CACHE_DIR/pom.xml" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
      >"$CACHE_DIR/fetch.log" 2>&1; then
    cat "$CACHE_DIR/fetch.log" >&2
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed (log: $CACHE_DIR/fetch.log)"
  fi
  [[ -f "$tmp/kafka_2.13-${KAFKA_VERSION}.jar" ]] || { rm -rf "$tmp"; die "kafka_2.13 jar missing after fetch"; }
  date -u +%FT%TZ >"$tmp/.fetch-complete"
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"

  write_tools_log4j
  log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS_DIR" | cut -f1))"
}

# Quiet log4j2 config for CLI tools (without one log4j2 prints a status warning).
write_tools_log4j() {
  [[ -f "$LOG4J_TOOLS" ]] && return 0
  cat >"$LOG4J_TOOLS" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
EOF
}

# Run a Kafka class in the foreground with the cached classpath.
# "libs/*" is expanded by the JVM, not the shell (hence the quotes).
TOOL_JAVA=(java -Xmx256m -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$LOG4J_TOOLS" -cp "$LIBS_DIR/*")
run_class() {
  "${TOOL_JAVA[@]}" "$@"
}

# --------------------------------------------------------------- status ----

# Prints the pid if the pid file points at a live Kafka JVM. Checking the
# command line guards against a stale pid file whose pid got reused.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    # Read whole, then match: "tr | grep -q" can die of SIGPIPE under pipefail.
    local cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline")" || return 1
    [[ "$cmdline" == *"$MAIN_SERVER"* ]] || return 1
  fi
  echo "$pid"
}

port_open() {
  # bash's /dev/tcp avoids a dependency on nc; timeout bounds a hung connect.
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "kafka broker running (pid $pid, bootstrap $BOOTSTRAP, data $KAFKA_DATA_DIR)"
    if [[ -f "$SECURE_ENV" ]]; then
      echo "secured listeners: SASL_SSL 127.0.0.1:$KAFKA_SASL_SSL_PORT, SSL (client cert) 127.0.0.1:$KAFKA_SSL_PORT; settings in $SECURE_ENV"
    fi
  else
    echo "kafka broker not running"
    return 1
  fi
}

# ----------------------------------------------------------------- stop ----

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    [[ "${1:-}" == quiet ]] || log "not running"
    return 0
  fi
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

# ---------------------------------------------------------------- start ----

fail_start() {
  log "ERROR: $*"
  if [[ -f "$LOG_FILE" ]]; then
    log "last 50 lines of $LOG_FILE:"
    tail -n 50 "$LOG_FILE" >&2
  fi
  stop || true
  exit 1
}

write_config() {
  local listeners="PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}"
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [[ "$KAFKA_SECURE" == 1 ]]; then
    listeners+=",SASL_SSL://127.0.0.1:${KAFKA_SASL_SSL_PORT},SSL://127.0.0.1:${KAFKA_SSL_PORT}"
    protocols+=",SASL_SSL:SASL_SSL,SSL:SSL"
  fi
  # KRaft combined mode (broker+controller in one JVM). Kafka 4.x prefers the
  # dynamic quorum (controller.quorum.bootstrap.servers + format --standalone)
  # over the static controller.quorum.voters.
  cat >"$CONFIG_FILE" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:${KAFKA_CONTROLLER_PORT}
listeners=${listeners}
advertised.listeners=${listeners}
listener.security.protocol.map=${protocols}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=${METADATA_DIR}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Test broker: small segments/threads, no fsync tuning needed.
num.network.threads=2
num.io.threads=4
log.retention.hours=1
# Topics keep their own retention.ms (the seed's days); bytes bound them here
# so that benchmark runs (a hot-trace phase writes GBs of learning signals)
# cannot fill the disk of a test machine: at most 1 GiB per partition, in
# 128 MiB segments, checked every minute.
log.retention.bytes=1073741824
log.segment.bytes=134217728
log.retention.check.interval.ms=60000
EOF
  if [[ "$KAFKA_SECURE" == 1 ]]; then
    # PEM key and trust stores (KIP-651): no keytool, no store passwords.
    # The server side of SCRAM needs a JAAS entry per mechanism, without
    # credentials (inter-broker traffic is PLAINTEXT).
    cat >>"$CONFIG_FILE" <<EOF
ssl.keystore.type=PEM
ssl.keystore.location=${SECURE_DIR}/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=${SECURE_DIR}/ca.pem
listener.name.ssl.ssl.client.auth=required
listener.name.sasl_ssl.ssl.client.auth=none
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
EOF
  fi

  # Broker log goes to stdout, which start() redirects into LOG_FILE, so the
  # JVM's own stderr (crashes, OOM) and Kafka's log end up in the same file.
  cat >"$LOG4J_BROKER" <<EOF
status = error
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${KAFKA_LOG_LEVEL}
rootLogger.appenderRef.out.ref = STDOUT
# Very chatty at INFO and useless for tests (AbstractConfig dumps every
# config value of every client/server at INFO: ~1700 lines per start).
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.raftlog.name = org.apache.kafka.storage.internals.log
logger.raftlog.level = WARN
logger.log.name = kafka.log
logger.log.level = WARN
EOF
}

# Secured mode's key material, all under SECURE_DIR (mode 0700; the data
# dir is wiped on every start, so every start gets new keys and password).
# Sets SCRAM_PASSWORD.
make_secrets() {
  need openssl
  mkdir -p "$SECURE_DIR"
  chmod 700 "$SECURE_DIR"
  local d="$SECURE_DIR" days=7
  (
    cd "$d"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days "$days" -subj "/CN=aistream test CA" \
      -keyout ca.key -out ca.pem 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >broker.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr 2>/dev/null
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" \
      -extfile broker.ext -out broker.pem 2>/dev/null
    cat broker.key broker.pem >broker-keystore.pem
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=aistream-client" -keyout client.key -out client.csr 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" \
      -extfile client.ext -out client.pem 2>/dev/null
    rm -f ./*.csr ./*.ext ca.srl
  ) || die "openssl could not create the test certificates in $d"
  # Hex: no character the --add-scram parser or an env file would mangle.
  SCRAM_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
}

# The settings a client of the secured listeners needs; KEY=VALUE lines
# that test.sh reads with "set -a; . file".
write_secure_env() {
  (
    umask 077
    cat >"$SECURE_ENV" <<EOF
AISTREAM_TEST_KAFKA_SASL_SSL=127.0.0.1:${KAFKA_SASL_SSL_PORT}
AISTREAM_TEST_KAFKA_MTLS=127.0.0.1:${KAFKA_SSL_PORT}
AISTREAM_TEST_KAFKA_CA=${SECURE_DIR}/ca.pem
AISTREAM_TEST_KAFKA_CLIENT_CERT=${SECURE_DIR}/client.pem
AISTREAM_TEST_KAFKA_CLIENT_KEY=${SECURE_DIR}/client.key
AISTREAM_TEST_KAFKA_SCRAM_USER=${SCRAM_USER}
AISTREAM_TEST_KAFKA_SCRAM_PASSWORD=${SCRAM_PASSWORD}
EOF
  )
}

# Random KRaft cluster id: a Kafka Uuid is 16 random bytes in URL-safe
# base64 without padding. Done in bash to save a JVM start (StorageTool random-uuid).
# Like Kafka's Uuid.randomUuid, never one that starts with '-': the storage
# tool's argument parser would take it for an option (1 start in 64).
random_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id == -* ]] || break
  done
  printf '%s\n' "$id"
}

start() {
  need java
  fetch

  # Always give tests a clean broker: stop a previous instance, wipe its data.
  stop quiet
  local p ports=("$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT")
  [[ "$KAFKA_SECURE" == 1 ]] && ports+=("$KAFKA_SASL_SSL_PORT" "$KAFKA_SSL_PORT")
  for p in "${ports[@]}"; do
    if port_open "$p"; then
      die "port $p on 127.0.0.1 is already in use by another process"
    fi
  done
  # Refuse to rm -rf something that is obviously not our data dir.
  case "$KAFKA_DATA_DIR" in
    "" | "/" | "$HOME" | "$HOME/") die "refusing to wipe KAFKA_DATA_DIR=$KAFKA_DATA_DIR";;
  esac
  rm -rf "$KAFKA_DATA_DIR"
  mkdir -p "$KAFKA_DATA_DIR"
  local scram=()
  if [[ "$KAFKA_SECURE" == 1 ]]; then
    make_secrets
    local m
    for m in SCRAM-SHA-512 SCRAM-SHA-256; do
      scram+=(--add-scram "$m=[name=\"$SCRAM_USER\",password=\"$SCRAM_PASSWORD\"]")
    done
  fi
  write_config

  local cluster_id
  cluster_id="$(random_cluster_id)"
  log "formatting storage (cluster id $cluster_id)"
  # --standalone: this node is the sole voter of a dynamic KRaft quorum.
  # Secured mode's SCRAM credentials go into the metadata log at format time.
  if ! run_class "$MAIN_STORAGE" format --standalone -t "$cluster_id" -c "$CONFIG_FILE" ${scram[@]+"${scram[@]}"} \
      >"$KAFKA_DATA_DIR/format.log" 2>&1; then
    cat "$KAFKA_DATA_DIR/format.log" >&2
    die "storage format failed"
  fi

  log "starting broker on $BOOTSTRAP (log: $LOG_FILE)"
  # setsid + nohup: detach from this shell/session so the broker survives the
  # script (and CI step) exiting; stdin from /dev/null so it never blocks.
  # KAFKA_HEAP_OPTS / KAFKA_JVM_OPTS can tweak the JVM (word-split on purpose).
  local heap="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
  local jvm_opts="${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError}"
  # shellcheck disable=SC2086
  setsid nohup java $heap $jvm_opts \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_BROKER" \
    -cp "$LIBS_DIR/*" \
    "$MAIN_SERVER" "$CONFIG_FILE" \
    </dev/null >"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"

  # Readiness: the JVM must stay alive, log "Kafka Server started" (written
  # after the broker has caught up with the metadata log and unfenced), and
  # the port must accept connections. Then one real Kafka protocol round-trip.
  local t0=$SECONDS deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  local pid
  pid="$(cat "$PID_FILE")"
  while :; do
    kill -0 "$pid" 2>/dev/null || fail_start "broker process exited during startup"
    if grep -q "Kafka Server started" "$LOG_FILE" 2>/dev/null && port_open "$KAFKA_PORT"; then
      if [[ "$KAFKA_SECURE" != 1 ]] || { port_open "$KAFKA_SASL_SSL_PORT" && port_open "$KAFKA_SSL_PORT"; }; then
        break
      fi
    fi
    ((SECONDS < deadline)) || fail_start "broker not ready after ${KAFKA_START_TIMEOUT}s"
    sleep 0.5
  done
  local remaining=$((deadline - SECONDS))
  ((remaining > 5)) || remaining=5
  if ! timeout "$remaining" "${TOOL_JAVA[@]}" "$MAIN_API_VERSIONS" --bootstrap-server "$BOOTSTRAP" \
        >"$KAFKA_DATA_DIR/ready-check.log" 2>&1; then
    cat "$KAFKA_DATA_DIR/ready-check.log" >&2
    fail_start "API versions request to $BOOTSTRAP failed"
  fi
  log "broker ready after $((SECONDS - t0))s (pid $pid)"
  echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
  if [[ "$KAFKA_SECURE" == 1 ]]; then
    write_secure_env
    log "secured: SASL_SSL (SCRAM-SHA-512, SCRAM-SHA-256, user $SCRAM_USER) on 127.0.0.1:$KAFKA_SASL_SSL_PORT, SSL with client certificate on 127.0.0.1:$KAFKA_SSL_PORT"
    log "CA, client certificate and key, password: $SECURE_ENV"
    echo "KAFKA_SECURE_ENV=$SECURE_ENV"
  fi
}

# ----------------------------------------------------------------- main ----

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  fetch) fetch ;;
  start)
    case "${1:-}" in
      --secure) KAFKA_SECURE=1 ;;
      "") ;;
      *) die "start: unknown option '$1' (only --secure)" ;;
    esac
    start
    ;;
  stop) stop ;;
  status) status ;;
  run-class)
    [[ $# -ge 1 ]] || die "run-class needs a main class"
    fetch
    run_class "$@"
    ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
