package config

import (
	"strings"
	"testing"
	"time"
)

// The group membership defaults bound failover: a dead replica's partitions
// move after the session timeout, a rebalance is noticed within a
// heartbeat.
func TestGroupMembershipDefaultsAndOverrides(t *testing.T) {
	k, _, err := resolve(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := k.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	g := c.Consumer.Group
	if g.Session.Timeout != 6*time.Second || g.Heartbeat.Interval != time.Second {
		t.Errorf("defaults: session %s heartbeat %s, want 6s and 1s", g.Session.Timeout, g.Heartbeat.Interval)
	}
	if g.Rebalance.Timeout >= c.Net.ReadTimeout || g.Rebalance.Retry.Backoff > 500*time.Millisecond {
		t.Errorf("rebalance timeout %s (must stay under the %s read timeout), retry backoff %s", g.Rebalance.Timeout, c.Net.ReadTimeout, g.Rebalance.Retry.Backoff)
	}

	k, _, err = resolve(t, map[string]string{"KAFKA_SESSION_TIMEOUT": "30s", "KAFKA_HEARTBEAT_INTERVAL": "5s"}, "--heartbeat-interval", "3s")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ = k.Sarama(); c.Consumer.Group.Session.Timeout != 30*time.Second || c.Consumer.Group.Heartbeat.Interval != 3*time.Second {
		t.Errorf("env and flag: session %s heartbeat %s, want 30s and the flag's 3s", c.Consumer.Group.Session.Timeout, c.Consumer.Group.Heartbeat.Interval)
	}

	// A Kafka built in code (tests, tools) without them gets the defaults.
	if c, err = (Kafka{BootstrapServers: []string{"k:9092"}}).Sarama(); err != nil || c.Consumer.Group.Session.Timeout != DefaultSessionTimeout {
		t.Errorf("zero Kafka: %v, session %s", err, c.Consumer.Group.Session.Timeout)
	}
}

func TestGroupMembershipRejections(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"KAFKA_SESSION_TIMEOUT": "6"}, []string{"KAFKA_SESSION_TIMEOUT (--session-timeout)", `"6"`, "a duration from 1s to 30m0s"}},
		{map[string]string{"KAFKA_SESSION_TIMEOUT": "500ms"}, []string{"KAFKA_SESSION_TIMEOUT", "from 1s"}},
		{map[string]string{"KAFKA_SESSION_TIMEOUT": "1h"}, []string{"KAFKA_SESSION_TIMEOUT", "to 30m0s"}},
		{map[string]string{"KAFKA_HEARTBEAT_INTERVAL": "3s"}, []string{"KAFKA_HEARTBEAT_INTERVAL (--heartbeat-interval)", `"3s"`, "to 2s", "a third of KAFKA_SESSION_TIMEOUT 6s"}},
		{map[string]string{"KAFKA_SESSION_TIMEOUT": "12s", "KAFKA_HEARTBEAT_INTERVAL": "50ms"}, []string{"KAFKA_HEARTBEAT_INTERVAL", "from 100ms to 4s"}},
	} {
		_, _, err := resolve(t, c.env)
		if err == nil {
			t.Errorf("%v: accepted", c.env)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", c.env, err, w)
			}
		}
	}
}

// The changelog flush interval defaults to DefaultChangelogFlushInterval;
// the environment and the flag set it, 0 included (merging off).
func TestChangelogFlushIntervalDefaultsAndOverrides(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
		want time.Duration
	}{
		{nil, nil, DefaultChangelogFlushInterval},
		{map[string]string{"AISTREAM_CHANGELOG_FLUSH_INTERVAL": "200ms"}, nil, 200 * time.Millisecond},
		{map[string]string{"AISTREAM_CHANGELOG_FLUSH_INTERVAL": "200ms"}, []string{"--changelog-flush-interval", "0"}, 0},
	} {
		_, rt, err := resolve(t, c.env, c.args...)
		if err != nil {
			t.Fatalf("%v %v: %v", c.env, c.args, err)
		}
		if rt.ChangelogFlushInterval != c.want {
			t.Errorf("%v %v: %s, want %s", c.env, c.args, rt.ChangelogFlushInterval, c.want)
		}
	}
}
