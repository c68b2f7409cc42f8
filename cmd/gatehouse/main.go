// Command gatehouse is Gatehouse: `gatehouse serve` runs the server and `gatehouse keys` rotates
// its secret keys; every other command is a client of its REST API. This package is the only
// place that wires concrete types together.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehousehq/gatehouse/cli"
)

func main() {
	a := &cli.App{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
	root := cli.NewRoot(a, serveCmd(a), keysCmd(a), demoCmd(a))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		cli.Report(os.Stderr, err)
		os.Exit(cli.ExitCode(err))
	}
}
