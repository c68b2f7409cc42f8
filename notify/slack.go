package notify

import (
	"net/url"
	"slices"
	"strings"
)

// Limits of Slack's Block Kit that slackMessage keeps to: a message with more blocks, a section
// with more fields or longer texts is refused whole.
const (
	slackMaxBlocks       = 50
	slackMaxFields       = 10   // fields of one section block
	slackMaxSectionText  = 3000 // characters of a section's text
	slackMaxFieldText    = 2000 // characters of one field's text
	slackMaxFallbackText = 3000 // characters of the top-level text (Slack allows more; notifications show little)
)

// slackText is a Block Kit text object.
type slackText struct {
	Type string `json:"type"` // always "mrkdwn" here
	Text string `json:"text"`
}

// slackBlock is a Block Kit section block: a text, or up to 10 fields shown in two columns.
type slackBlock struct {
	Type   string      `json:"type"` // always "section" here
	Text   *slackText  `json:"text,omitempty"`
	Fields []slackText `json:"fields,omitempty"`
}

// slackPayload is the body posted to a Slack incoming webhook.
type slackPayload struct {
	Text   string       `json:"text"` // fallback, shown in notifications
	Blocks []slackBlock `json:"blocks"`
}

// slackMessage renders e for a Slack incoming webhook: a fallback text (the title), a section
// with the bold title, the text and a link to e.URL, then sections of the fields ("*key*" over
// the value, sorted by key, 10 a section). Everything from e is escaped, so it shows as written
// and cannot form mentions or links, and cut to Slack's limits.
func slackMessage(e Event) slackPayload {
	title := e.Title
	if title == "" {
		title = e.Kind
	}
	fallback := slackEscape(title)
	if e.Text != "" {
		fallback += "\n" + slackEscape(e.Text)
	}
	head := "*" + slackEscape(title) + "*"
	if e.Text != "" {
		head += "\n" + slackEscape(e.Text)
	}
	link := slackLink(e.URL)
	if link != "" {
		// The link goes first into the budget, so a long text cannot cut it off.
		head = truncate(head, slackMaxSectionText-len([]rune(link))-1) + "\n" + link
	}
	p := slackPayload{
		Text:   truncate(fallback, slackMaxFallbackText),
		Blocks: []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(head, slackMaxSectionText)}}},
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for len(keys) > 0 && len(p.Blocks) < slackMaxBlocks {
		n := min(len(keys), slackMaxFields)
		b := slackBlock{Type: "section"}
		for _, k := range keys[:n] {
			b.Fields = append(b.Fields, slackText{Type: "mrkdwn", Text: truncate("*"+slackEscape(k)+"*\n"+slackEscape(e.Fields[k]), slackMaxFieldText)})
		}
		p.Blocks = append(p.Blocks, b)
		keys = keys[n:]
	}
	return p
}

// slackLink is a mrkdwn link to u, or "" unless u is an http(s) URL.
func slackLink(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	// <, > and | would end the link markup early.
	u = strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C").Replace(p.String())
	return "<" + u + "|Open in Gatehouse>"
}

// slackEscape escapes the characters Slack's mrkdwn gives a meaning to as markup: &, < and >.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate cuts escaped text s to at most n characters, ending with "…" when cut, and never
// inside an escape such as &amp;.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	cut := string(r[:n-1])
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && !strings.Contains(cut[i:], ";") {
		cut = cut[:i]
	}
	return cut + "…"
}
