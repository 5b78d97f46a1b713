// Package scaleout is Registrar's scale-out and fault suite (its tests are the package; `make
// test` runs them). It starts real processes: Azurite, the project's AMQP 1.0 Service Bus double
// and several cmd/handler processes, and plays the Functions host in front of them with a small
// Service Bus emulator that posts the host's envelopes (shared/devhost's builders) to a random
// instance per delivery, redelivers with DeliveryCount+1 after a non-2xx answer and dead-letters
// after 10 deliveries. Table traffic goes through a counting proxy, so requests and ETag
// conflicts are measured at the wire. What it shows and the figures it measures are in README's
// reliability section; docs/architecture.md#conflicts describes the conflict backoff it holds.
package scaleout
