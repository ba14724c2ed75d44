// Package kafkatest helps tests meet a real Kafka-protocol broker: a dev
// broker (package devbroker) run as a child process of the test binary,
// clients for it, and what a read_committed consumer sees.
//
// A test package using it calls BrokerChild first thing in its TestMain:
//
//	func TestMain(m *testing.M) {
//		if code, ok := kafkatest.BrokerChild(); ok {
//			os.Exit(code)
//		}
//		os.Exit(m.Run())
//	}
//
// StartBroker then re-runs the test binary in that mode and returns once
// the broker listens; the test's cleanup stops it.
package kafkatest
