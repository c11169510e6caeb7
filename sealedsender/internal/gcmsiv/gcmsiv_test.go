package gcmsiv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRFC8452POLYVAL is RFC 8452, Appendix A: POLYVAL(H, X_1, X_2).
func TestRFC8452POLYVAL(t *testing.T) {
	var h [16]byte
	copy(h[:], unhex(t, "25629347589242761d31f826ba4b757b"))
	var p polyval
	p.init(&h)
	p.update(unhex(t, "4f4f95668c83dfb6401762bb2d01a262"))
	p.update(unhex(t, "d1a24ddd2721d006bbe45f20d3c9f362"))
	got := p.sum()
	if want := unhex(t, "f7a3b47b846119fae5b7866cf5e5b77e"); !bytes.Equal(got[:], want) {
		t.Fatalf("POLYVAL = %x, want %x", got, want)
	}
}

// rfc8452 holds vectors from RFC 8452, Appendix C.1 (AEAD_AES_128_GCM_SIV,
// a sample), C.2 (AEAD_AES_256_GCM_SIV) and C.3 (counter wrap), typed from
// the RFC: key, nonce, AAD, plaintext, result (ciphertext ‖ tag).
var rfc8452 = []struct {
	name, key, nonce, aad, pt, result string
}{
	// C.1
	{"C.1 empty", "01000000000000000000000000000000", "030000000000000000000000", "", "",
		"dc20e2d83f25705bb49e439eca56de25"},
	{"C.1 8 bytes", "01000000000000000000000000000000", "030000000000000000000000", "", "0100000000000000",
		"b5d839330ac7b786578782fff6013b815b287c22493a364c"},
	{"C.1 with AAD", "01000000000000000000000000000000", "030000000000000000000000", "01", "0200000000000000",
		"1e6daba35669f4273b0a1a2560969cdf790d99759abd1508"},
	// C.2
	{"C.2 empty", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "", "",
		"07f5f4169bbf55a8400cd47ea6fd400f"},
	{"C.2 8 bytes", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "", "0100000000000000",
		"c2ef328e5c71c83b843122130f7364b761e0b97427e3df28"},
	{"C.2 12 bytes", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "", "010000000000000000000000",
		"9aab2aeb3faa0a34aea8e2b18ca50da9ae6559e48fd10f6e5c9ca17e"},
	{"C.2 16 bytes", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "", "01000000000000000000000000000000",
		"85a01b63025ba19b7fd3ddfc033b3e76c9eac6fa700942702e90862383c6c366"},
	{"C.2 32 bytes", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "",
		"01000000000000000000000000000000 02000000000000000000000000000000",
		"4a6a9db4c8c6549201b9edb53006cba821ec9cf850948a7c86c68ac7539d027fe819e63abcd020b006a976397632eb5d"},
	{"C.2 48 bytes", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "",
		"01000000000000000000000000000000 02000000000000000000000000000000 03000000000000000000000000000000",
		"c00d121893a9fa603f48ccc1ca3c57ce7499245ea0046db16c53c7c66fe717e39cf6c748837b61f6ee3adcee17534ed5790bc96880a99ba804bd12c0e6a22cc4"},
	{"C.2 64 bytes", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "",
		"01000000000000000000000000000000 02000000000000000000000000000000 03000000000000000000000000000000 04000000000000000000000000000000",
		"c2d5160a1f8683834910acdafc41fbb1632d4a353e8b905ec9a5499ac34f96c7e1049eb080883891a4db8caaa1f99dd004d80487540735234e3744512c6f90ce112864c269fc0d9d88c61fa47e39aa08"},
	{"C.2 8 bytes AAD 1", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "01", "0200000000000000",
		"1de22967237a813291213f267e3b452f02d01ae33e4ec854"},
	{"C.2 12 bytes AAD 1", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "01", "020000000000000000000000",
		"163d6f9cc1b346cd453a2e4cc1a4a19ae800941ccdc57cc8413c277f"},
	{"C.2 16 bytes AAD 1", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "01", "02000000000000000000000000000000",
		"c91545823cc24f17dbb0e9e807d5ec17b292d28ff61189e8e49f3875ef91aff7"},
	{"C.2 32 bytes AAD 1", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "01",
		"02000000000000000000000000000000 03000000000000000000000000000000",
		"07dad364bfc2b9da89116d7bef6daaaf6f255510aa654f920ac81b94e8bad365aea1bad12702e1965604374aab96dbbc"},
	{"C.2 48 bytes AAD 1", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "01",
		"02000000000000000000000000000000 03000000000000000000000000000000 04000000000000000000000000000000",
		"c67a1f0f567a5198aa1fcc8e3f21314336f7f51ca8b1af61feac35a86416fa47fbca3b5f749cdf564527f2314f42fe2503332742b228c647173616cfd44c54eb"},
	{"C.2 64 bytes AAD 1", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000", "01",
		"02000000000000000000000000000000 03000000000000000000000000000000 04000000000000000000000000000000 05000000000000000000000000000000",
		"67fd45e126bfb9a79930c43aad2d36967d3f0e4d217c1e551f59727870beefc98cb933a8fce9de887b1e40799988db1fc3f91880ed405b2dd298318858467c895bde0285037c5de81e5b570a049b62a0"},
	{"C.2 20 bytes AAD 18", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000",
		"01000000000000000000000000000000 0200", "03000000000000000000000000000000 04000000",
		"43dd0163cdb48f9fe3212bf61b201976067f342bb879ad976d8242acc188ab59cabfe307"},
	{"C.2 18 bytes AAD 20", "0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000",
		"01000000000000000000000000000000 02000000", "03000000000000000000000000000000 0400",
		"462401724b5ce6588d5a54aae5375513a075cfcdf5042112aa29685c912fc2056543"},
	{"C.2 random empty", "e66021d5eb8e4f4066d4adb9c33560e4f46e44bb3da0015c94f7088736864200", "e0eaf5284d884a0e77d31646", "", "",
		"169fbb2fbf389a995f6390af22228a62"},
	{"C.2 random 3 bytes", "bae8e37fc83441b16034566b7a806c46bb91c3c5aedb64a6c590bc84d1a5e269", "e4b47801afc0577e34699b9e", "4fbdc66f14", "671fdd",
		"0eaccb93da9bb81333aee0c785b240d319719d"},
	{"C.2 random 6 bytes", "6545fc880c94a95198874296d5cc1fd161320b6920ce07787f86743b275d1ab3", "2f6d1f0434d8848c1177441f", "6787f3ea22c127aaf195", "195495860f04",
		"a254dad4f3f96b62b84dc40c84636a5ec12020ec8c2c"},
	{"C.2 random 9 bytes", "d1894728b3fed1473c528b8426a582995929a1499e9ad8780c8d63d0ab4149c0", "9f572c614b4745914474e7c7", "489c8fde2be2cf97e74e932d4ed87d", "c9882e5386fd9f92ec",
		"0df9e308678244c44bc0fd3dc6628dfe55ebb0b9fb2295c8c2"},
	{"C.2 random 12 bytes", "a44102952ef94b02b805249bac80e6f61455bfac8308a2d40d8c845117808235", "5c9e940fea2f582950a70d5a",
		"0da55210cc1c1b0abde3b2f204d1e9f8b06bc47f", "1db2316fd568378da107b52b",
		"8dbeb9f7255bf5769dd56692404099c2587f64979f21826706d497d5"},
	{"C.2 random 15 bytes", "9745b3d1ae06556fb6aa7890bebc18fe6b3db4da3d57aa94842b9803a96e07fb", "6de71860f762ebfbd08284e4",
		"f37de21c7ff901cfe8a69615a93fdf7a98cad481796245709f", "21702de0de18baa9c9596291b08466",
		"793576dfa5c0f88729a7ed3c2f1bffb3080d28f6ebb5d3648ce97bd5ba67fd"},
	{"C.2 random 18 bytes", "b18853f68d833640e42a3c02c25b64869e146d7b233987bddfc240871d7576f7", "028ec6eb5ea7e298342a94d4",
		"9c2159058b1f0fe91433a5bdc20e214eab7fecef4454a10ef0657df21ac7", "b202b370ef9768ec6561c4fe6b7e7296fa85",
		"857e16a64915a787637687db4a9519635cdd454fc2a154fea91f8363a39fec7d0a49"},
	{"C.2 random 21 bytes", "3c535de192eaed3822a2fbbe2ca9dfc88255e14a661b8aa82cc54236093bbc23", "688089e55540db1872504e1c",
		"734320ccc9d9bbbb19cb81b2af4ecbc3e72834321f7aa0f70b7282b4f33df23f167541", "ced532ce4159b035277d4dfbb7db62968b13cd4eec",
		"626660c26ea6612fb17ad91e8e767639edd6c9faee9d6c7029675b89eaf4ba1ded1a286594"},
	// C.3: the 32-bit block counter wraps.
	{"C.3 counter wrap 32 bytes", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "",
		"00000000000000000000000000000000 4db923dc793ee6497c76dcc03a98e108",
		"f3f80f2cf0cb2dd9c5984fcda908456cc537703b5ba70324a6793a7bf218d3eaffffffff000000000000000000000000"},
}

func TestRFC8452(t *testing.T) {
	for _, v := range rfc8452 {
		t.Run(v.name, func(t *testing.T) {
			a, err := New(unhex(t, v.key))
			if err != nil {
				t.Fatal(err)
			}
			nonce, aad, pt, want := unhex(t, v.nonce), unhex(t, v.aad), unhex(t, v.pt), unhex(t, v.result)
			got := a.Seal(nil, nonce, pt, aad)
			if !bytes.Equal(got, want) {
				t.Fatalf("Seal = %x\nwant   %x", got, want)
			}
			back, err := a.Open(nil, nonce, want, aad)
			if err != nil || !bytes.Equal(back, pt) {
				t.Fatalf("Open = %x, %v; want %x", back, err, pt)
			}
			// Every single-bit flip of the ciphertext, tag or AAD fails.
			for i := range len(want) * 8 {
				c := bytes.Clone(want)
				c[i/8] ^= 1 << (i % 8)
				if _, err := a.Open(nil, nonce, c, aad); !errors.Is(err, ErrOpen) {
					t.Fatalf("flipped bit %d opened: %v", i, err)
				}
			}
			if len(aad) > 0 {
				bad := bytes.Clone(aad)
				bad[0] ^= 1
				if _, err := a.Open(nil, nonce, want, bad); !errors.Is(err, ErrOpen) {
					t.Fatal("wrong AAD opened")
				}
			}
			// Every truncation fails.
			for n := range len(want) {
				if _, err := a.Open(nil, nonce, want[:n], aad); !errors.Is(err, ErrOpen) {
					t.Fatalf("truncated to %d opened", n)
				}
			}
		})
	}
}

func TestInPlaceAndAppend(t *testing.T) {
	a, _ := New(make([]byte, 32))
	nonce := make([]byte, NonceSize)
	pt := []byte("the quick brown fox jumps over the lazy dog")
	ref := a.Seal(nil, nonce, pt, nil)

	buf := make([]byte, len(pt), len(pt)+TagSize)
	copy(buf, pt)
	if got := a.Seal(buf[:0], nonce, buf, nil); !bytes.Equal(got, ref) {
		t.Fatal("in-place Seal differs")
	}
	prefix := []byte("prefix")
	got := a.Seal(bytes.Clone(prefix), nonce, pt, nil)
	if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], ref) {
		t.Fatal("appending Seal differs")
	}
	ct := bytes.Clone(ref)
	back, err := a.Open(ct[:0], nonce, ct, nil)
	if err != nil || !bytes.Equal(back, pt) {
		t.Fatalf("in-place Open: %v", err)
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	for _, n := range []int{0, 15, 24, 33} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("%d-byte key accepted", n)
		}
	}
}

// TestDotAgainstReference checks the constant-time multiplication against a
// bit-by-bit reference of dot(a, b) = a·b·x^-128 mod P.
func TestDotAgainstReference(t *testing.T) {
	seed := uint64(0x9e3779b97f4a7c15)
	next := func() uint64 {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return seed
	}
	for range 2000 {
		a := fieldElement{next(), next()}
		b := fieldElement{next(), next()}
		if got, want := dot(a, b), refDot(a, b); got != want {
			t.Fatalf("dot(%x, %x) = %x, want %x", a, b, got, want)
		}
	}
}

// refDot is the schoolbook definition: r = a·b mod P by shift-and-add, then
// 128 divisions by x (add P when r is odd, so that r is divisible, then
// shift right; P's x^128 term becomes the top bit).
func refDot(a, b fieldElement) fieldElement {
	// r = a·b mod P
	var r fieldElement
	x := a
	for i := range 128 {
		var bit uint64
		if i < 64 {
			bit = b.lo >> i & 1
		} else {
			bit = b.hi >> (i - 64) & 1
		}
		if bit == 1 {
			r.lo ^= x.lo
			r.hi ^= x.hi
		}
		// x ·= X mod P: P's low part is 1 + x^121 + x^126 + x^127.
		carry := x.hi >> 63
		x.hi = x.hi<<1 | x.lo>>63
		x.lo <<= 1
		if carry == 1 {
			x.lo ^= 1
			x.hi ^= 1<<57 | 1<<62 | 1<<63
		}
	}
	// r ·= x^-128: 128 times, make r even by adding P, then divide by x.
	for range 128 {
		if r.lo&1 == 1 {
			r.lo ^= 1
			r.hi ^= 1<<57 | 1<<62 | 1<<63
			// plus x^128: shifted in as the top bit after the division.
			r.lo = r.lo>>1 | r.hi<<63
			r.hi = r.hi>>1 | 1<<63
		} else {
			r.lo = r.lo>>1 | r.hi<<63
			r.hi >>= 1
		}
	}
	return r
}
