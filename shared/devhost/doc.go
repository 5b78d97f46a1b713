// Package devhost plays the Azure Functions host's part for the local runner (cmd/devhost): it
// reads the project's host.json and function.json files, serves HTTP-triggered functions under
// /api (proxied, forwarded or through the envelope form, as host.json and the host's rules say),
// delivers Service Bus queue messages peek-lock style (with DeliveryCount, redelivery and
// dead-lettering), fires NCRONTAB timers on a movable clock, and keeps an in-memory topic of
// published events. It follows the host's rules one by one (docs/architecture.md, "What the host
// really does"; TestRunnerFollowsTheHostsRules), so what works locally works under the host.
package devhost
