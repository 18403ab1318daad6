package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kerasrun/kerasrun/serve"
	"google.golang.org/grpc"
)

// serveCmd runs `kerasrun serve`: the Open Inference Protocol v2 (REST and
// gRPC) and TensorFlow Serving's REST API until SIGTERM or SIGINT, then
// stops accepting, finishes the requests in flight and exits.
func serveCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	httpAddr := fs.String("http", ":8080", "REST address (OIP v2 under /v2, TF Serving under /v1, /metrics)")
	grpcAddr := fs.String("grpc", ":8081", "OIP v2 gRPC address (empty: no gRPC)")
	var o serve.Options
	fs.StringVar(&o.ModelName, "model-name", "", "model name for a single model file (default: the file name)")
	fs.StringVar(&o.Weights, "weights", "", "weights file for a single model JSON")
	policy := fs.String("version-policy", "latest", "versions to serve: latest, latest:N, all, specific:V1,V2")
	fs.DurationVar(&o.PollInterval, "poll", 0, "check the model source for new versions this often (0: never)")
	fs.BoolVar(&o.Batching, "batching", false, "dynamic batching: run queued requests together")
	fs.IntVar(&o.MaxBatchSize, "max-batch-size", 64, "most rows per request and per dynamic batch")
	fs.DurationVar(&o.BatchTimeout, "batch-timeout", 0, "how long a dynamic batch waits for more requests")
	fs.IntVar(&o.MaxQueue, "max-queue", 256, "queued requests per model version before 429")
	fs.IntVar(&o.Workers, "workers", 0, "batches running at once (default: the number of CPUs)")
	fs.DurationVar(&o.RequestTimeout, "request-timeout", 30*time.Second, "longest a request may wait and run")
	fs.Int64Var(&o.MaxRequestBytes, "max-request-bytes", 64<<20, "largest request body")
	quiet := fs.Bool("quiet", false, "no access log lines")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("serve: need one MODEL file or REPOSITORY directory")
	}
	if o.VersionPolicy, err = serve.ParseVersionPolicy(*policy); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	o.Logger = log
	s, err := serve.New(pos[0], o)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	errc := make(chan error, 2)
	hl, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { errc <- hs.Serve(hl) }()
	fmt.Fprintf(stdout, "kerasrun serve: %s: REST on %s\n", pos[0], hl.Addr())
	var gs *grpc.Server
	if *grpcAddr != "" {
		gl, err := net.Listen("tcp", *grpcAddr)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		gs = grpc.NewServer(s.GRPCOptions()...)
		s.RegisterGRPC(gs)
		go func() { errc <- gs.Serve(gl) }()
		fmt.Fprintf(stdout, "kerasrun serve: gRPC on %s\n", gl.Addr())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), o.RequestTimeout+5*time.Second)
	defer cancel()
	if gs != nil {
		go func() { <-sctx.Done(); gs.Stop() }()
		gs.GracefulStop()
	}
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	s.Close()
	return nil
}
