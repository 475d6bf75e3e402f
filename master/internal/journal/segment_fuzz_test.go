package journal

import (
	"bytes"
	"testing"
)

// FuzzParseSegName checks that segment file names parse only in their
// canonical form and to a valid range.
func FuzzParseSegName(f *testing.F) {
	for _, s := range []string{"0x1-0x7fffffffffffffff", "0x0-0x0", "0x10-0x1", "0x1-0x2.sealing", "0X1-0x2", "0x-0x1", "0x01-0x2", "0x1-0x8000000000000000", "-", "0x-1-0x2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		s, e, ok := parseSegName(name)
		if !ok {
			return
		}
		if s < 0 || e < s || segName(s, e) != name {
			t.Fatalf("parseSegName(%q) = %d, %d", name, s, e)
		}
	})
}

// FuzzUnmarshalFooter checks that a checkpoint footer decodes only when it
// is exactly what marshal would write.
func FuzzUnmarshalFooter(f *testing.F) {
	good := checkpointFooter{count: 3, end: 10, maxEpoch: 2, fence: 2}.marshal()
	f.Add(good)
	f.Add(good[:footerSize-1])
	f.Add(append(append([]byte{}, good...), 0))
	bad := append([]byte{}, good...)
	bad[12] ^= 1
	f.Add(bad)
	f.Add(checkpointFooter{count: -1, end: -5}.marshal())
	f.Add(make([]byte, footerSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		ft, err := unmarshalFooter(b)
		if err != nil {
			return
		}
		if ft.count < 0 || ft.end < 0 {
			t.Fatalf("footer with negative values accepted: %+v", ft)
		}
		if !bytes.Equal(ft.marshal(), b) {
			t.Fatalf("footer %x decodes to %+v, which marshals differently", b, ft)
		}
	})
}
