package actions

import "testing"

func BenchmarkRoute(b *testing.B) {
	c, err := Embedded()
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct{ name, method, url string }{
		{"list", "GET", "/v2/cloudimages?__imagetype=private"},
		{"member", "DELETE", "/v2/images/7f2d3c1e-5b6a-4c8d-9e0f-123456789abc/members/0a1b2c3d4e5f60718293a4b5c6d7e8f9"},
		{"version", "GET", "/v2.1"},
		{"encoded", "GET", "/v2/images/7f2d3c1e%2D5b6a"},
		{"unknown", "GET", "/v2/widgets/x"},
		{"trick", "GET", "/v2/images/%2e%2e/x"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = c.Route(tc.method, tc.url)
			}
		})
	}
}

func BenchmarkMatchConditional(b *testing.B) {
	c, err := Embedded()
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"name":"img","image_url":"bucket:file.qcow2","os_version":"Ubuntu 20.04 server 64bit","type":"DataImage"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Match("POST", "/v2/cloudimages/quickimport/action", body); err != nil {
			b.Fatal(err)
		}
	}
}
