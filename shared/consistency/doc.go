// Package consistency has no code of its own: its tests keep the names that tie Registrar
// together (functions, queues, topic, settings, schedules) the same across function.json,
// host.json, local.settings.sample.json, shared/config, the domain defaults and infra/, and keep
// secrets out of infra/. They read the repository's files from the module root.
package consistency
