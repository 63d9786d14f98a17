package authz

import (
	"fmt"
	"strings"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
)

// UnknownActionNote says when action belongs to a service the IMS catalog lists in full
// (ims) but is not one of its actions, with the closest catalog action when one is close
// enough to be a typo: "ims:images:lst is not an action of the IMS catalog; did you mean
// ims:images:list?". Actions are compared case-insensitively, as the engine matches them.
// It returns "" for a catalog action, for "", and for other services (ecs:servers:get):
// imsguard does not know their catalogs.
func UnknownActionNote(cat *actions.Catalog, action string) string {
	svc, _, _ := strings.Cut(action, ":")
	if action == "" || cat == nil {
		return ""
	}
	known := cat.ServiceActions()
	inService := false
	for _, a := range known {
		if strings.EqualFold(a, action) {
			return ""
		}
		s, _, _ := strings.Cut(a, ":")
		inService = inService || strings.EqualFold(s, svc)
	}
	if !inService {
		return ""
	}
	if s := policy.Nearest(action, known); s != "" {
		return fmt.Sprintf("%s is not an action of the IMS catalog; did you mean %s?", action, s)
	}
	return fmt.Sprintf("%s is not an action of the IMS catalog (imsguard actions list shows them all)", action)
}
