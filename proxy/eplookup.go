package proxy

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/imsguard/imsguard/actions"
)

// maxLookupResponse bounds the image query response read.
const maxLookupResponse = 1 << 20

// imageEP is what the proxy established about an image's enterprise project: id, or why
// not (why is safe to show a client).
type imageEP struct {
	id      string
	why     string
	expires time.Time
}

// imageEPs looks up the enterprise project of images in IMS (GET /v2/cloudimages?id=…)
// with the proxy's own credential and caches the answers for a short TTL, found or not.
// Failed lookups are not cached; concurrent lookups of one image share one call, and at
// most MaxConcurrent calls are in flight. Safe for concurrent use.
type imageEPs struct {
	url     string // …/v2/cloudimages on the upstream
	client  *http.Client
	cred    *upstreamCred
	cfg     EPLookupConfig
	cache   *lru.Cache[string, imageEP]
	group   singleflight.Group
	slots   chan struct{}
	now     func() time.Time
	results func(result string) // counts lookups by result
}

// errLookupBusy: every lookup slot stayed taken for queue_wait.
var errLookupBusy = errors.New("too many enterprise-project lookups in flight")

func newImageEPs(upstream *url.URL, tlsConf *tls.Config, cfg EPLookupConfig, secret string, results func(string)) (*imageEPs, error) {
	cache, err := lru.New[string, imageEP](cfg.CacheSize)
	if err != nil {
		return nil, fmt.Errorf("enterprise project lookup cache: %w", err)
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf.Clone(),
		TLSHandshakeTimeout: cfg.Timeout,
		MaxConnsPerHost:     cfg.MaxConcurrent,
		MaxIdleConnsPerHost: cfg.MaxConcurrent,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &imageEPs{
		url:     upstream.JoinPath("v2", "cloudimages").String(),
		client:  &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		cred:    &upstreamCred{ak: cfg.AccessKey, sk: secret, projectID: cfg.ProjectID},
		cfg:     cfg,
		cache:   cache,
		slots:   make(chan struct{}, cfg.MaxConcurrent),
		now:     time.Now,
		results: results,
	}, nil
}

// lookup returns the enterprise project of image. An error means IMS could not be asked
// (or answered oddly): the enterprise project stays unknown and nothing is cached.
func (l *imageEPs) lookup(ctx context.Context, image string) (imageEP, error) {
	if ep, ok := l.cache.Get(image); ok && l.now().Before(ep.expires) {
		l.results("cache_hit")
		return ep, nil
	}
	ch := l.group.DoChan(image, func() (any, error) {
		// Detached from the first caller, bounded by the lookup timeout.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.Timeout)
		defer cancel()
		if err := l.acquire(cctx); err != nil {
			l.results("busy")
			return imageEP{}, err
		}
		defer func() { <-l.slots }()
		ep, err := l.ask(cctx, image)
		if err != nil {
			l.results("error")
			return imageEP{}, err
		}
		if ep.id != "" {
			l.results("found")
		} else {
			l.results("not_found")
		}
		ep.expires = l.now().Add(l.cfg.CacheTTL)
		l.cache.Add(image, ep)
		return ep, nil
	})
	select {
	case <-ctx.Done():
		return imageEP{}, fmt.Errorf("enterprise project lookup: %w", ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return imageEP{}, res.Err
		}
		return res.Val.(imageEP), nil
	}
}

// acquire takes a lookup slot, waiting at most queue_wait.
func (l *imageEPs) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(l.cfg.QueueWait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-t.C:
		return errLookupBusy
	case <-ctx.Done():
		return fmt.Errorf("enterprise project lookup: %w", ctx.Err())
	}
}

// lookupImage is the part of an IMS image the lookup reads.
type lookupImage struct {
	ID                  string `json:"id"`
	EnterpriseProjectID string `json:"enterprise_project_id"`
	ImageType           string `json:"__imagetype"`
}

// ask queries IMS for one image.
func (l *imageEPs) ask(ctx context.Context, image string) (imageEP, error) {
	q := actions.Query{{Key: "id", Value: image}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url+"?"+q.Encode(), nil)
	if err != nil {
		return imageEP{}, fmt.Errorf("enterprise project lookup: build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if err := l.cred.sign(req, q, nil, l.now()); err != nil {
		return imageEP{}, fmt.Errorf("enterprise project lookup: %w", err)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return imageEP{}, fmt.Errorf("enterprise project lookup: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return imageEP{}, fmt.Errorf("enterprise project lookup: IMS answered %d", resp.StatusCode)
	}
	var body struct {
		Images []lookupImage `json:"images"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxLookupResponse)).Decode(&body); err != nil {
		return imageEP{}, errors.New("enterprise project lookup: unreadable IMS answer")
	}
	var found *lookupImage
	for i := range body.Images {
		if body.Images[i].ID == image {
			if found != nil {
				return imageEP{}, errors.New("enterprise project lookup: IMS listed the image twice")
			}
			found = &body.Images[i]
		}
	}
	switch {
	case found == nil:
		return imageEP{why: "the image is not among the project's images"}, nil
	case found.ImageType != "private":
		// A shared or public image belongs to another account: its enterprise project is
		// not one of ours, whatever its id.
		return imageEP{why: "the image is not one of the project's own (shared or public)"}, nil
	case found.EnterpriseProjectID == "":
		return imageEP{why: "IMS names no enterprise project for the image"}, nil
	}
	return imageEP{id: found.EnterpriseProjectID}, nil
}

// close releases idle connections.
func (l *imageEPs) close() { l.client.CloseIdleConnections() }
