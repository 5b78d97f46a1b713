// Command registrar is the operator command line for Registrar (docs/cli.md): status, list,
// history, register, unregister, repair, reset, upcoming, orphans, rejections and dead
// letters, over the Admin API. See docs/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/azlocal/registrar/shared/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
