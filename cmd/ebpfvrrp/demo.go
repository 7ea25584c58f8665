package main

import (
	"context"
	"fmt"
)

func cmdDemo(ctx context.Context, args []string, env Env) error {
	return fmt.Errorf("demo: not yet wired")
}
