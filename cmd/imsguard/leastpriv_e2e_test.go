package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	imsv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/ims/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/ims/v2/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
)

// TestE2EAuditToLeastPrivilege is the walkthrough of docs/least-privilege.md with the
// real binary and the Huawei Cloud SDK IMS client: a workload runs through the proxy with
// a broad policy, audited for its principal only (staged rollout) while the rest is
// enforced; generate writes policies from the (rotated, gzipped) log; they lint clean;
// the proxy, restarted to enforce them, lets the same workload through and refuses what
// it never did; replay passes against them and fails against a narrower policy, naming the
// requests; unused lists what the broad policy granted that nobody used.
func TestE2EAuditToLeastPrivilege(t *testing.T) {
	w := newE2EWorld(t)
	w.write(t, "policies/broad.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:*","kms:*:*","ecs:*:*","evs:*:*","bms:*:*"]}]}`)
	w.write(t, "policies/broad-obs.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["obs:*:*"]}]}`)
	writeConfig := func(name, mode, attachments string) string {
		return w.write(t, name, `listen = "127.0.0.1:0"
upstream = "`+w.imsSrv.URL+`"
mode = "enforce"
project = "ae-ad-1"
decision_log = "`+mode+`-decisions.jsonl"

[metrics]
listen = "127.0.0.1:0"

[[principals]]
name = "reader"
access_keys = ["`+e2eReaderAK+`"]
secret_key_env = { `+e2eReaderAK+` = "E2E_READER_SK" }
policies = ["policies/readonly.json"]

[[principals]]
name = "builder"
mode = "`+mode+`"
access_keys = ["`+e2eAdminAK+`"]
secret_key_env = { `+e2eAdminAK+` = "E2E_ADMIN_SK" }
`+attachments)
	}
	sdk := func(p *proxyProc, ak, sk string) *imsv2.ImsClient {
		cred, err := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithProjectId("p-1").SafeBuild()
		require.NoError(t, err)
		hc, err := imsv2.ImsClientBuilder().WithEndpoints([]string{p.url}).WithCredential(cred).
			WithHttpConfig(config.DefaultHttpConfig().WithTimeout(10 * time.Second)).SafeBuild()
		require.NoError(t, err)
		return imsv2.NewImsClient(hc)
	}
	quick := func(c *imsv2.ImsClient, typ model.QuickImportImageByFileRequestBodyType) error {
		_, err := c.ImportImageQuick(&model.ImportImageQuickRequest{Body: &model.QuickImportImageByFileRequestBody{
			Name: "img", OsVersion: "Ubuntu 22.04 server 64bit", ImageUrl: "bucket:img.qcow2", MinDisk: 40, Type: &typ}})
		return err
	}
	ecs, dataImage := model.GetQuickImportImageByFileRequestBodyTypeEnum().ECS, model.GetQuickImportImageByFileRequestBodyTypeEnum().DATA_IMAGE
	// the workload: list, show, check the quota, import a server image from OBS
	workload := func(c *imsv2.ImsClient, part int) {
		limit := int32(5)
		if part != 2 {
			_, err := c.ListImages(&model.ListImagesRequest{Limit: &limit})
			require.NoError(t, err)
			_, err = c.GlanceShowImage(&model.GlanceShowImageRequest{ImageId: stub.SampleImageID})
			require.NoError(t, err)
		}
		if part != 1 {
			_, err := c.ShowImageQuota(&model.ShowImageQuotaRequest{})
			require.NoError(t, err)
			require.NoError(t, quick(c, ecs))
		}
	}

	// 1. Audit: the builder runs with a broad policy, audited; the reader stays enforced.
	p := startProxy(t, writeConfig("audit.toml", "audit", `policies = ["policies/broad.json"]
  [[principals.attachments]]
  policy = "policies/broad-obs.json"
  scope = "global"
`))
	builder := sdk(p, e2eAdminAK, e2eAdminSK)
	workload(builder, 1)
	logPath := filepath.Join(w.dir, "audit-decisions.jsonl")
	require.NoError(t, os.Rename(logPath, logPath+".1")) // logrotate, then the rest of the run
	workload(builder, 2)
	_, err := sdk(p, e2eReaderAK, e2eReaderSK).GlanceDeleteImage(&model.GlanceDeleteImageRequest{ImageId: stub.SampleImageID})
	require.Error(t, err, "the reader is enforced while the builder is audited")
	assert.Contains(t, err.Error(), "IMSGUARD.0403")
	require.Eventually(t, func() bool { _, err := os.Stat(logPath); return err == nil }, 20*time.Second, 20*time.Millisecond, p.log())
	p.stop(t)
	rotated, err := os.ReadFile(logPath + ".1")
	require.NoError(t, err)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(rotated)
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(logPath+".1.gz", gz.Bytes(), 0o600))
	require.NoError(t, os.Remove(logPath+".1"))
	logs := []string{"--from", logPath + ".1.gz", "--from", logPath}
	for _, l := range decisionLines(t, logPath) {
		if l["principal"] == "builder" {
			assert.Equal(t, "ae-ad-1", l["project"])
			assert.Equal(t, false, l["enforced"])
		}
	}

	// 2. Generate from the log, and lint what was written.
	out := filepath.Join(w.dir, "generated")
	stdout, stderr, code := runBinary(t, "", append([]string{"generate", "--principal", "builder", "-o", out, "--format", "json"}, logs...)...)
	require.Equal(t, 0, code, stderr)
	var gen struct {
		Results []struct {
			Policies []struct {
				File  string
				Scope struct {
					Kind     string
					Projects []string
				}
			}
			APIs []struct {
				ID       string
				Requests int
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &gen), stdout)
	require.Len(t, gen.Results, 1)
	var apis []string
	for _, a := range gen.Results[0].APIs {
		apis = append(apis, a.ID)
	}
	assert.Equal(t, []string{"list_cloudimages", "quick_import_cloudimage", "show_image_quota", "glance_show_image"}, apis, "in section order")
	stdout, stderr, code = runBinary(t, "", "lint", "--config", filepath.Join(out, "imsguard.toml"), "--fail-on", "warning", out)
	require.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "0 errors, 0 warnings")
	proj, err := os.ReadFile(filepath.Join(out, "builder.json"))
	require.NoError(t, err)
	assert.Contains(t, string(proj), `"ims:serverImages:create"`)
	assert.NotContains(t, string(proj), "ims:dataImages:create")
	assert.NotContains(t, string(proj), "ims:images:delete")
	assert.NotContains(t, string(proj), "obs:")
	report, err := os.ReadFile(filepath.Join(out, "builder.report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(report), "| 5.1.4 | POST /v2/cloudimages/quickimport/action (quick_import_cloudimage) | 1 |")

	// 3. Enforce the generated policies: the workload passes, what it never did is refused.
	var atts strings.Builder
	for _, pol := range gen.Results[0].Policies {
		atts.WriteString("  [[principals.attachments]]\n  policy = \"generated/" + pol.File + "\"\n  scope = \"" + pol.Scope.Kind + "\"\n")
		if len(pol.Scope.Projects) > 0 {
			atts.WriteString("  projects = [\"" + strings.Join(pol.Scope.Projects, `", "`) + "\"]\n")
		}
	}
	enforceCfg := writeConfig("enforce.toml", "enforce", atts.String())
	p = startProxy(t, enforceCfg)
	w.ims.Reset()
	builder = sdk(p, e2eAdminAK, e2eAdminSK)
	workload(builder, 0)
	assert.Len(t, w.ims.Requests(), 4, "the whole workload reached IMS")
	_, err = builder.GlanceDeleteImage(&model.GlanceDeleteImageRequest{ImageId: stub.SampleImageID})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ims:images:delete")
	err = quick(builder, dataImage)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ims:dataImages:create", "a data-disk import was never observed")
	assert.Len(t, w.ims.Requests(), 4, "the refused calls never reached IMS")
	p.stop(t)

	// 4. Replay the audit log: the generated policies pass, a narrower one fails, naming the requests.
	stdout, stderr, code = runBinary(t, "", append([]string{"replay", "--principal", "builder", "--config", enforceCfg}, logs...)...)
	assert.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "OK: every request IMS accepted is allowed")
	narrow := w.write(t, "policies/narrow.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list","ims:images:get"]}]}`)
	stdout, stderr, code = runBinary(t, "", append([]string{"replay", "--principal", "builder", "--policy", narrow}, logs...)...)
	assert.Equal(t, 1, code, stdout+stderr)
	assert.Contains(t, stdout, "NEWLY DENIED")
	assert.Contains(t, stdout, "5.1.4 quick_import_cloudimage  POST /v2/cloudimages/quickimport/action")
	assert.Contains(t, stdout, "5.4.1 show_image_quota")
	assert.Contains(t, stdout, "FAIL: 2 requests IMS accepted would be denied")

	// The walkthrough in docs/least-privilege.md runs on this run's files
	// (testdata/docs/least-privilege): IMSGUARD_DOCS_FIXTURE=DIR writes them there.
	if dir := os.Getenv("IMSGUARD_DOCS_FIXTURE"); dir != "" {
		for src, dst := range map[string]string{
			logPath + ".1.gz": "log/decisions.jsonl.1.gz", logPath: "log/decisions.jsonl",
			filepath.Join(w.dir, "audit.toml"): "audit.toml", enforceCfg: "enforce.toml",
			filepath.Join(w.dir, "policies/broad.json"): "policies/broad.json", filepath.Join(w.dir, "policies/broad-obs.json"): "policies/broad-obs.json",
			narrow: "policies/narrow.json", filepath.Join(w.dir, "policies/readonly.json"): "policies/readonly.json",
			filepath.Join(w.dir, "policies/admin.json"): "policies/admin.json",
		} {
			data, err := os.ReadFile(src)
			require.NoError(t, err)
			data = bytes.ReplaceAll(data, []byte(w.imsSrv.URL), []byte("https://ims.ae-ad-1.g42cloud.com"))
			data = bytes.ReplaceAll(data, []byte(w.iamSrv.URL), []byte("https://iam.ae-ad-1.g42cloud.com"))
			require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(dst)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, dst), data, 0o644))
		}
	}

	// 5. What the broad policy granted and nobody used.
	stdout, stderr, code = runBinary(t, "", append([]string{"unused", "--config", filepath.Join(w.dir, "audit.toml"), "--principal", "builder"}, logs...)...)
	require.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "warning U-UNUSED-ACTION")
	assert.Contains(t, stdout, "ims:images:delete")
	assert.Contains(t, stdout, `which "ims:*:*" allows (used: ims:images:list, ims:serverImages:create, ims:quotas:get, ims:images:get)`)
	assert.NotContains(t, stdout, `"ecs:*:*"`, "ECS actions are dependent actions of the quick import: used")
	assert.Contains(t, stdout, "1 warning, 0 infos")
}
