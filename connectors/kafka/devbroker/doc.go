// Package devbroker runs a local Kafka-protocol broker for trying Sluice and
// for tests: franz-go's kfake, one node, persistent when given a data
// directory, topics created on demand.
//
//	b, err := devbroker.Start(devbroker.Config{Port: 9092, DataDir: "./kafka-data"})
//	...
//	fmt.Println(b.Addr()) // 127.0.0.1:9092
//	defer b.Close()       // writes the state to DataDir
//
// It backs `sluice kafka-dev` and the Kafka connector's tests, which run it
// in a process of its own so that a test can stop (SIGTERM) or kill (-9) the
// broker independently of the engine.
//
// kfake is a test broker, not Kafka: it keeps everything in memory and
// writes it to DataDir (fsynced per batch only with Sync), and a broker
// killed with -9 loses in-flight data and aborts the transactions that were
// open. Do not use it for data you care about.
package devbroker
