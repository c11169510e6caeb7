package prekey_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
)

// Issue #16 item 4: the key types are aliases of internal types, whose
// methods `go doc prekey.PublicKey` would not show; their documentation in
// keys.go lists every exported method and field instead. This test keeps
// the lists complete: a method added to an internal key type fails it until
// it is documented here.
func TestIssue16Item4_KeyTypesDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "keys.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.TYPE {
			continue
		}
		for _, s := range g.Specs {
			ts := s.(*ast.TypeSpec)
			if ts.Doc != nil {
				docs[ts.Name.Name] = ts.Doc.Text()
			}
		}
	}
	for name, typ := range map[string]reflect.Type{
		"PublicKey":    reflect.TypeFor[prekey.PublicKey](),
		"PrivateKey":   reflect.TypeFor[prekey.PrivateKey](),
		"KeyPair":      reflect.TypeFor[prekey.KeyPair](),
		"KEMPublicKey": reflect.TypeFor[prekey.KEMPublicKey](),
		"KEMSecretKey": reflect.TypeFor[prekey.KEMSecretKey](),
		"KEMKeyPair":   reflect.TypeFor[prekey.KEMKeyPair](),
		"KEMType":      reflect.TypeFor[prekey.KEMType](),
	} {
		doc, ok := docs[name]
		if !ok {
			t.Errorf("prekey.%s has no documentation", name)
			continue
		}
		for i := range typ.NumMethod() {
			if m := typ.Method(i).Name; !strings.Contains(doc, "\t"+m+"(") {
				t.Errorf("prekey.%s's documentation does not list method %s", name, m)
			}
		}
		if typ.Kind() == reflect.Struct {
			for i := range typ.NumField() {
				if fl := typ.Field(i); fl.IsExported() && !strings.Contains(doc, "\t"+fl.Name+" ") {
					t.Errorf("prekey.%s's documentation does not list field %s", name, fl.Name)
				}
			}
		}
	}
}
