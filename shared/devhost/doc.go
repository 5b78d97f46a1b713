// Package devhost plays the Azure Functions host's part for the local runner (cmd/devhost):
// it reads the project's function.json files, serves HTTP-triggered functions under /api,
// delivers Service Bus queue messages peek-lock style (with DeliveryCount, redelivery and
// dead-lettering), fires NCRONTAB timers on a movable clock, and keeps an in-memory topic of
// published events. It posts the handler exactly the envelopes the real host posts (SPEC §11),
// so what works locally works under the host.
package devhost
