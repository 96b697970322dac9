// tlog_check is the Go half of pointclear's transparency log interop test: it
// checks, with Go's own golang.org/x/mod/sumdb/note and tlog (as Debian
// packages them), a log that libpcproto wrote, and writes one for libpcproto
// to check. See run.sh. It exits non-zero, saying why, at the first failure.
//
//	tlog_check check DIR   the C log: sizes 600 and 1000
//	tlog_check write DIR   a Go log: sizes 777 and 1500
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlog_check: FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// c2spPath is a tile's C2SP path: Go's sumdb paths name the height and call
// entry bundles "data".
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", height))
	if strings.HasPrefix(p, "data/") {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

type dirTiles struct{ dir string }

func (d dirTiles) Height() int { return height }

func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := os.ReadFile(filepath.Join(d.dir, c2spPath(t)))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (d dirTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func readVerifier(dir string) note.Verifier {
	b, err := os.ReadFile(filepath.Join(dir, "vkey"))
	if err != nil {
		fail("%v", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		fail("vkey: %v", err)
	}
	return v
}

// openCheckpoint opens checkpoint.N and parses its text by the tlog-checkpoint
// spec (x/mod's tlog.ParseTree reads the older go.sum format).
func openCheckpoint(dir string, v note.Verifier, size int64) (string, tlog.Tree) {
	name := fmt.Sprintf("checkpoint.%d", size)
	msg, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fail("%s: note.Open: %v", name, err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) != 3 {
		fail("%s: %d lines", name, len(lines))
	}
	got, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || got != size || strconv.FormatInt(got, 10) != lines[1] {
		fail("%s: size %q", name, lines[1])
	}
	h, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("%s: root %q: %v", name, lines[2], err)
	}
	// a flipped byte in the signature must be refused: the check is live
	bad := append([]byte(nil), msg...)
	bad[len(bad)-10] ^= 1
	if _, err := note.Open(bad, note.VerifierList(v)); err == nil {
		fail("%s: a corrupted signature verified", name)
	}
	return lines[0], tlog.Tree{N: size, Hash: h}
}

func parseHashes(fields []string) []tlog.Hash {
	var out []tlog.Hash
	for _, f := range fields {
		h, err := tlog.ParseHash(f)
		if err != nil {
			fail("proof hash %q: %v", f, err)
		}
		out = append(out, h)
	}
	return out
}

func sameHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func check(dir string) {
	v := readVerifier(dir)
	origin, t600 := openCheckpoint(dir, v, 600)
	origin2, t1000 := openCheckpoint(dir, v, 1000)
	if origin != origin2 || origin != v.Name() {
		fail("origins %q, %q and key name %q differ", origin, origin2, v.Name())
	}
	tiles := dirTiles{dir}
	for _, tree := range []tlog.Tree{t600, t1000} {
		thr := tlog.TileHashReader(tree, tiles)
		h, err := tlog.TreeHash(tree.N, thr)
		if err != nil {
			fail("TreeHash(%d): %v", tree.N, err)
		}
		if h != tree.Hash {
			fail("tree of %d: tiles give %v, checkpoint says %v", tree.N, h, tree.Hash)
		}
	}
	thr := tlog.TileHashReader(t1000, tiles)
	p, err := tlog.ProveTree(t1000.N, t600.N, thr)
	if err != nil {
		fail("ProveTree: %v", err)
	}
	if err := tlog.CheckTree(p, t1000.N, t1000.Hash, t600.N, t600.Hash); err != nil {
		fail("checkpoints 600 and 1000 inconsistent: %v", err)
	}

	// every entry: its record hash proven in the tree of 1000 from the tiles
	leaf := make(map[int64]tlog.Hash)
	for n := int64(0); n*256 < t1000.N; n++ {
		w := t1000.N - n*256
		if w > 256 {
			w = 256
		}
		path := c2spPath(tlog.Tile{H: height, L: -1, N: n, W: int(w)})
		b, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			fail("%v", err)
		}
		for i := int64(0); i < w; i++ {
			if len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
				fail("%s: cut short", path)
			}
			l := int(binary.BigEndian.Uint16(b))
			rec := n*256 + i
			leaf[rec] = tlog.RecordHash(b[2 : 2+l])
			b = b[2+l:]
			rp, err := tlog.ProveRecord(t1000.N, rec, thr)
			if err != nil {
				fail("ProveRecord(%d): %v", rec, err)
			}
			if err := tlog.CheckRecord(rp, t1000.N, t1000.Hash, rec, leaf[rec]); err != nil {
				fail("entry %d: %v", rec, err)
			}
		}
		if len(b) != 0 {
			fail("%s: %d bytes left over", path, len(b))
		}
	}

	// libpcproto's proofs: they check, and are the ones Go makes
	f, err := os.Open(filepath.Join(dir, "proofs"))
	if err != nil {
		fail("%v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	ninc, ncons := 0, 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			fail("proofs: line %q", sc.Text())
		}
		a, err1 := strconv.ParseInt(fields[1], 10, 64)
		b, err2 := strconv.ParseInt(fields[2], 10, 64)
		if err1 != nil || err2 != nil || b != t1000.N {
			fail("proofs: line %q", sc.Text())
		}
		hashes := parseHashes(fields[3:])
		switch fields[0] {
		case "inclusion":
			if err := tlog.CheckRecord(hashes, b, t1000.Hash, a, leaf[a]); err != nil {
				fail("libpcproto's inclusion proof of %d: %v", a, err)
			}
			mine, _ := tlog.ProveRecord(b, a, thr)
			if !sameHashes(mine, hashes) {
				fail("inclusion proof of %d differs from Go's", a)
			}
			ninc++
		case "consistency":
			old, err := tlog.TreeHash(a, thr)
			if err != nil {
				fail("TreeHash(%d): %v", a, err)
			}
			if err := tlog.CheckTree(hashes, b, t1000.Hash, a, old); err != nil {
				fail("libpcproto's consistency proof %d -> %d: %v", a, b, err)
			}
			mine, _ := tlog.ProveTree(b, a, thr)
			if !sameHashes(mine, hashes) {
				fail("consistency proof %d -> %d differs from Go's", a, b)
			}
			ncons++
		default:
			fail("proofs: kind %q", fields[0])
		}
	}
	if ninc == 0 || ncons == 0 {
		fail("proofs: too few")
	}
	fmt.Printf("tlog_check: libpcproto's log verified by Go: %d entries, 2 checkpoints, %d inclusion and %d consistency proofs\n",
		len(leaf), ninc, ncons)
}

type memHashes []tlog.Hash

func (m *memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(*m)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = (*m)[x]
	}
	return out, nil
}

func writeFile(dir, name string, data []byte) {
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		fail("%v", err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		fail("%v", err)
	}
}

func entry(i int64) []byte { return []byte(fmt.Sprintf("go interop entry %d\n", i)) }

func write(dir string) {
	const origin = "go.example/interop"
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		fail("%v", err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		fail("%v", err)
	}
	writeFile(dir, "vkey", []byte(vkey+"\n"))
	var stored memHashes
	var done, last int64
	var proofs bytes.Buffer
	for _, size := range []int64{777, 1500} {
		for ; done < size; done++ {
			hs, err := tlog.StoredHashes(done, entry(done), &stored)
			if err != nil {
				fail("%v", err)
			}
			stored = append(stored, hs...)
		}
		for _, t := range tlog.NewTiles(height, last, size) {
			data, err := tlog.ReadTileData(t, &stored)
			if err != nil {
				fail("%v", err)
			}
			writeFile(dir, c2spPath(t), data)
			if t.L == 0 {
				var b []byte
				for i := int64(0); i < int64(t.W); i++ {
					e := entry(t.N*256 + i)
					b = append(b, byte(len(e)>>8), byte(len(e)))
					b = append(b, e...)
				}
				writeFile(dir, c2spPath(tlog.Tile{H: height, L: -1, N: t.N, W: t.W}), b)
			}
		}
		root, err := tlog.TreeHash(size, &stored)
		if err != nil {
			fail("%v", err)
		}
		text := fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
		msg, err := note.Sign(&note.Note{Text: text}, signer)
		if err != nil {
			fail("%v", err)
		}
		writeFile(dir, fmt.Sprintf("checkpoint.%d", size), msg)
		last = size
	}
	put := func(kind string, a, b int64, p []tlog.Hash) {
		fmt.Fprintf(&proofs, "%s %d %d", kind, a, b)
		for _, h := range p {
			fmt.Fprintf(&proofs, " %s", base64.StdEncoding.EncodeToString(h[:]))
		}
		proofs.WriteString("\n")
	}
	for _, size := range []int64{777, 1500} {
		for i := int64(0); i < size; i += 53 {
			p, err := tlog.ProveRecord(size, i, &stored)
			if err != nil {
				fail("%v", err)
			}
			put("inclusion", i, size, p)
		}
	}
	for _, s1 := range []int64{1, 2, 255, 256, 257, 700, 777, 1024, 1499} {
		p, err := tlog.ProveTree(1500, s1, &stored)
		if err != nil {
			fail("%v", err)
		}
		put("consistency", s1, 1500, p)
	}
	writeFile(dir, "proofs", proofs.Bytes())
	fmt.Printf("tlog_check: Go wrote a log of %d entries to %s\n", done, dir)
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: tlog_check check|write DIR")
	}
	switch os.Args[1] {
	case "check":
		check(os.Args[2])
	case "write":
		write(os.Args[2])
	default:
		fail("usage: tlog_check check|write DIR")
	}
}
