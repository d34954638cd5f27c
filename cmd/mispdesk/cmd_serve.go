package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"mispdesk/syncer"
	"mispdesk/syncer/mispapi"
)

const serveSynopsis = "serve [--listen HOST:PORT] [--base-url URL] [--tls-cert F --tls-key F] [--pull-interval DUR] [--blocklist-deleted=false] [--max-body MIB] [--read-timeout DUR]"

// shutdownTimeout bounds how long serve waits for requests in flight when it stops.
const shutdownTimeout = 10 * time.Second

func runServe(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("serve", serveSynopsis)
	listen := fs.String("listen", "127.0.0.1:8443", "the `HOST:PORT` to serve the MISP API on (port 0: any free port)")
	baseURL := fs.String("base-url", "", "the `URL` peers reach this instance at (default http(s)://LISTEN)")
	certFile := fs.String("tls-cert", "", "serve HTTPS with the PEM certificate (chain) in `FILE`")
	keyFile := fs.String("tls-key", "", "the PEM private key of --tls-cert, in `FILE`")
	pullInterval := fs.Duration("pull-interval", 0, "pull every server with pull enabled this often, e.g. 1h (0: no scheduled pulls)")
	blocklistDeleted := fs.Bool("blocklist-deleted", true, "put each event deleted over the API on the event blocklist so that no peer brings it back, as MISP.enableEventBlocklisting (false: only when the request asks with blocklist:1)")
	maxBody := fs.Int64("max-body", mispapi.DefaultMaxBodyBytes>>20, "refuse (413) a request body larger than `MIB` mebibytes, counted after decompression; a 200,000-attribute event is about 66")
	readTimeout := fs.Duration("read-timeout", mispapi.DefaultBodyTimeout, "a request's headers must arrive within `DUR`, and its body must start within DUR and then keep coming at 16 KiB/s or more (408 otherwise)")
	if err := fs.ParseNoArgs(args); err != nil {
		return err
	}
	if *maxBody < 1 || *maxBody > 4096 {
		return usagef("--max-body %d: want 1 to 4096 (MiB)", *maxBody)
	}
	if *readTimeout <= 0 {
		return usagef("--read-timeout %v: want more than 0, e.g. 30s", *readTimeout)
	}
	if (*certFile == "") != (*keyFile == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if *pullInterval < 0 {
		return usagef("--pull-interval %v: want 0 (off) or more", *pullInterval)
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		return usagef("--listen %q: want HOST:PORT, e.g. 127.0.0.1:8443", *listen)
	}
	if *baseURL != "" {
		if err := checkServerURL(*baseURL); err != nil {
			return usagef("--base-url %q: want this instance's http:// or https:// address", *baseURL)
		}
	}
	var tlsConf *tls.Config
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return inputf("--tls-cert %s / --tls-key %s: %v", *certFile, *keyFile, unwrapPath(err))
		}
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}

	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, unwrapOp(err))
	}
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsConf)
	}
	addr := ln.Addr().String()
	base := strings.TrimRight(*baseURL, "/")
	if base == "" {
		base = (&url.URL{Scheme: scheme, Host: addr}).String()
	}
	if err := s.SetBaseURL(ctx, base); err != nil {
		ln.Close()
		return err
	}

	logger := slog.New(slog.NewTextHandler(env.Stderr, nil))
	eng := syncer.New(s, syncer.Options{Logger: logger})
	srv := &http.Server{
		Handler: mispapi.New(mispapi.Config{Store: s, Logger: logger, Syncer: syncer.APIRunner{Engine: eng}, BlocklistOnDelete: *blocklistDeleted,
			MaxBodyBytes: *maxBody << 20, BodyTimeout: *readTimeout}),
		ReadHeaderTimeout: *readTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	daemonCtx, stopDaemon := context.WithCancel(ctx)
	defer stopDaemon()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := eng.Run(daemonCtx, syncer.DaemonOptions{PullInterval: *pullInterval}); err != nil {
			logger.Error("sync daemon", "err", err)
		}
	}()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(env.Stdout, "mispdesk serve: listening on %s://%s\n", scheme, addr)
	logger.Info("serving", "listen", addr, "base_url", base, "tls", tlsConf != nil, "pull_interval", *pullInterval)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	logger.Info("stopping")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		logger.Warn("shutdown: requests still running were cut", "err", err)
		srv.Close()
	}
	stopDaemon()
	wg.Wait() // the daemon has released its lease
	eng.Close()
	logger.Info("stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", addr, serveErr)
	}
	return nil
}

// unwrapOp drops net.OpError's "listen tcp ADDR:" prefix, which the message
// already says.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
