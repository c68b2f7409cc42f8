package testbed

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
)

// stageFiles are the kwok Stage configurations: kwok's node/fast, node/heartbeat-with-lease
// and pod/fast stages, plus the failure stages of pod-failures.yaml.
//
//go:embed stages/*.yaml
var stageFiles embed.FS

// writeStages writes every stage into one kwok configuration file and returns its path.
func writeStages(dir string) (string, error) {
	names, err := fs.Glob(stageFiles, "stages/*.yaml")
	if err != nil {
		return "", fmt.Errorf("testbed: stages: %w", err)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	for _, name := range names {
		data, err := stageFiles.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("testbed: stage %s: %w", name, err)
		}
		buf.WriteString("---\n")
		buf.Write(bytes.TrimRight(data, "\n"))
		buf.WriteString("\n")
	}
	path := filepath.Join(dir, "kwok.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("testbed: write kwok config: %w", err)
	}
	return path, nil
}

// writeServiceAccountKey writes a new RSA key that signs service account tokens.
func writeServiceAccountKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("testbed: service account key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("testbed: write service account key: %w", err)
	}
	return nil
}

// caCertificates returns the CA certificates of a PEM bundle, such as the self-signed serving
// certificate of kube-apiserver followed by the CA that signed it.
func caCertificates(bundle []byte) ([]byte, error) {
	var out []byte
	for rest := bundle; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("testbed: the API server's certificates: %w", err)
		}
		if cert.IsCA {
			out = append(out, pem.EncodeToMemory(block)...)
		}
	}
	if out == nil {
		return nil, fmt.Errorf("testbed: no CA among the API server's certificates")
	}
	return out, nil
}

// adminUser is the identity of the cluster's token, a member of system:masters.
const adminUser = "gatehouse-testbed-admin"

// writeTokenFile writes a kube-apiserver static token file granting a new random token the
// identity adminUser in group system:masters, and returns the token.
func writeTokenFile(path string) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("testbed: token: %w", err)
	}
	token := hex.EncodeToString(b)
	line := fmt.Sprintf("%s,%s,%s,\"system:masters\"\n", token, adminUser, adminUser)
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		return "", fmt.Errorf("testbed: write token file: %w", err)
	}
	return token, nil
}

// kubeconfig returns a kubeconfig that reaches server as the admin, trusting caPEM.
func kubeconfig(server string, caPEM []byte, token string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: testbed
  context:
    cluster: testbed
    user: admin
current-context: testbed
`, server, base64.StdEncoding.EncodeToString(caPEM), token)
}

// handedOut holds the ports this program gave to clusters, so that clusters started at the
// same time never get the same port.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// freePorts returns n TCP ports of 127.0.0.1 that were free a moment ago and were never handed
// out by this program before. Another program may still take one; Start then retries.
func freePorts(n int) ([]int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	var ports []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("testbed: free port: %w", err)
		}
		held = append(held, l)
		port := l.Addr().(*net.TCPAddr).Port
		if handedOut.ports[port] {
			continue
		}
		handedOut.ports[port] = true
		ports = append(ports, port)
	}
	return ports, nil
}

// hostPort returns 127.0.0.1:port.
func hostPort(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
