// Package faulttest holds the SQL-level end-to-end and fault tests of the
// Kafka connectors. It has no code of its own: its tests run a dev broker
// (package devbroker) in a child process, as a real Kafka would be, and
// drive Sluice through planner/session, in process or, for the kill -9
// tests, in a child process that the test kills and resumes.
//
//	go test ./connectors/kafka/faulttest/                       # CI: 5 kills
//	SLUICE_KAFKA_KILLS=25 go test ./connectors/kafka/faulttest/ -run Kill -v
//
// A read_committed consumer then checks the output topics against the
// results of a failure-free run: the exact multiset of records for
// kafka → filter → kafka, and the last value of every key for
// kafka → aggregation → upsert-kafka.
package faulttest
