package all

import (
	// blackhole, datagen, filesystem and print register themselves from
	// init. builtin needs the engine's store, so the engine registers it at
	// start-up (builtin.Register); importing it here only links it.
	_ "github.com/sluicesql/sluice/connectors/blackhole"
	_ "github.com/sluicesql/sluice/connectors/builtin"
	_ "github.com/sluicesql/sluice/connectors/datagen"
	_ "github.com/sluicesql/sluice/connectors/filesystem"
	_ "github.com/sluicesql/sluice/connectors/kafka"
	_ "github.com/sluicesql/sluice/connectors/nexmark"
	_ "github.com/sluicesql/sluice/connectors/postgres"
	_ "github.com/sluicesql/sluice/connectors/print"
)
