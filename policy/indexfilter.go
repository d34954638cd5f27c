package policy

import "strings"

// PullIndexFilter is the body of the events/index request a pull sends
// (Server::getEventIndexFromServer with Server::filterRuleToParameter, app/Model/Server.php):
// for every rule key but url_params, its OR values as they are and its NOT values
// prefixed with "!", under the key less its last letter (tags → tag, orgs → org,
// type_attributes → type_attribute); url_params merged in recursively, as PHP's
// array_merge_recursive does; then minimal and published set to 1, so no url_params can
// ask for unpublished events.
func PullIndexFilter(r *Rules) map[string]any {
	body := map[string]any{}
	for _, f := range []struct {
		key    string
		filter Filter
	}{
		{"tags", r.Tags}, {"orgs", r.Orgs}, {"type_attributes", r.TypeAttributes}, {"type_objects", r.TypeObjects},
	} {
		values := make([]any, 0, len(f.filter.OR)+len(f.filter.NOT))
		for _, v := range f.filter.OR {
			values = append(values, v)
		}
		for _, v := range f.filter.NOT {
			values = append(values, "!"+v)
		}
		if len(values) > 0 {
			body[strings.TrimSuffix(f.key, f.key[len(f.key)-1:])] = values
		}
	}
	mergeRecursive(body, r.URLParams)
	body["minimal"], body["published"] = 1, 1
	return body
}

// mergeRecursive merges src into dst like PHP's array_merge_recursive for string keys:
// two objects merge, two values under one key become a list of both.
func mergeRecursive(dst, src map[string]any) {
	for k, v := range src {
		old, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		oldMap, oldIsMap := old.(map[string]any)
		newMap, newIsMap := v.(map[string]any)
		if oldIsMap && newIsMap {
			merged := make(map[string]any, len(oldMap)+len(newMap))
			mergeRecursive(merged, oldMap)
			mergeRecursive(merged, newMap)
			dst[k] = merged
			continue
		}
		dst[k] = append(asList(old), asList(v)...)
	}
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return append([]any(nil), l...)
	}
	return []any{v}
}
