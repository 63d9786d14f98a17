package policy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// benchPolicy is a typical custom policy of about 1 KiB: a role wrapper,
// three statements, conditions.
var benchPolicy = []byte(`{
  "role": {
    "display_name": "IMSImageOperators",
    "type": "XA",
    "description": "Operate images in ae-ad-1 from the office network.",
    "policy": {
      "Version": "1.1",
      "Statement": [
        {
          "Effect": "Allow",
          "Action": [
            "ims:images:list",
            "ims:images:get",
            "ims:images:update",
            "ims:serverImages:create",
            "ims:dataImages:create",
            "ims:quotas:get"
          ],
          "Condition": {
            "StringEquals": {"g:ProjectName": ["ae-ad-1", "ae-ad-1_dev"]},
            "IpAddress": {"g:SourceIp": ["203.0.113.0/24", "198.51.100.7"]},
            "DateLessThan": {"g:CurrentTime": ["2030-01-01T00:00:00Z"]}
          }
        },
        {
          "Effect": "Allow",
          "Action": ["obs:bucket:*", "obs:object:*", "kms:*:*", "evs:volumes:*", "ecs:cloudServers:get"]
        },
        {
          "Effect": "Deny",
          "Action": ["ims:images:delete", "ims:images:share", "ims:images:export"],
          "Condition": {
            "StringNotEquals": {"g:UserName": ["image-admin"]},
            "Bool": {"g:MFAPresent": ["false"]}
          }
        }
      ]
    }
  }
}`)

func BenchmarkParse(b *testing.B) {
	f := Parse("bench.json", benchPolicy)
	require.Empty(b, f.Problems)
	require.Len(b, f.Documents, 1)
	b.SetBytes(int64(len(benchPolicy)))
	b.ReportAllocs()
	for b.Loop() {
		Parse("bench.json", benchPolicy)
	}
}

func BenchmarkParseJSON(b *testing.B) {
	b.SetBytes(int64(len(benchPolicy)))
	b.ReportAllocs()
	for b.Loop() {
		ParseJSON(benchPolicy)
	}
}
