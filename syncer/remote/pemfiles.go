package remote

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ReadCAFile reads a PEM file of CA certificates to trust for a server (its cert_file),
// checking that it holds certificates and nothing else. An empty path is no file.
func ReadCAFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	raw, err := readPEMFile(path)
	if err != nil {
		return "", err
	}
	n, rest := 0, raw
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return "", fmt.Errorf("%s: holds a %s block; want only CERTIFICATE blocks", path, b.Type)
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return "", fmt.Errorf("%s: certificate %d: %v", path, n+1, err)
		}
		n++
	}
	if n == 0 {
		return "", fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return string(raw), nil
}

// ReadClientCertFile reads a PEM file holding a client certificate and its private key
// (a server's client_cert_file). An empty path is no file.
func ReadClientCertFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	raw, err := readPEMFile(path)
	if err != nil {
		return "", err
	}
	if _, err := tls.X509KeyPair(raw, raw); err != nil {
		return "", fmt.Errorf("%s: want a PEM certificate and its private key: %v", path, err)
	}
	return string(raw), nil
}

func readPEMFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("%s: %w", path, pe.Err)
	}
	return raw, err
}
