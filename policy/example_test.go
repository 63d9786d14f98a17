package policy_test

import (
	"fmt"

	"github.com/imsguard/imsguard/policy"
)

func ExampleParse() {
	f := policy.Parse("readers.json", []byte(`{"role": {
  "display_name": "IMSImageReaders",
  "type": "XA",
  "policy": {"Version": "1.1", "Statement": [
    {"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get"]}
  ]}
}}`))
	d := f.Documents[0]
	fmt.Println(d.WrapperKind, d.Family, d.Statements[0].Actions)
	pos, _ := f.PosOf("/role/policy/Statement/0/Action/1")
	fmt.Println(pos)
	// Output:
	// role policy [ims:images:list ims:images:get]
	// 5:55
}

func ExampleParseJSON() {
	_, problems := policy.ParseJSON([]byte("{\n  \"Action\": [\"ims:images:list\",]\n}"))
	for _, p := range problems {
		fmt.Println(p)
	}
	// Output:
	// 2:32: E-JSON: expected a value after ',' but found ']' (trailing comma is not allowed in JSON); remove the comma at 2:31
}
