package misp

// Attribute values as MISP stores them. MISP massages every value before it validates it
// (MispAttribute::beforeValidateMassage: trim, refang, AttributeValidationTool::
// modifyBeforeValidation) and then runs the value rules of its attribute model in order,
// stopping at the first that fails: not empty, not only control characters, composite
// types hold exactly one "|", the type's own format (AttributeValidationTool::validate),
// at most 65535 bytes. NormalizeValue does the same, with MISP's messages, so a value
// stored here is the value a MISP peer stores, and a value MISP refuses is refused here.
//
// Where MISP's own result would change again when MISP saved it a second time (a
// lower-cased "[DOT]" becoming "[dot]" and then "."), the value is massaged until it
// settles, so that normalising is idempotent; MISP's verdict on the first pass stands.
//
// Known differences, each because MISP's behaviour depends on something a pure function
// cannot have or would lose data: datetime accepts ISO 8601 (date, date and time with
// optional seconds, fraction and zone) and "@unixtime", not the relative words PHP also
// parses ("now", "next monday"); an empty datetime is refused rather than becoming the
// current time; integer accepts a whole number sent as a string (MISP's is_int refuses
// every string, so it drops every integer attribute another MISP sends); "link" follows
// PHP's FILTER_VALIDATE_URL for what sync meets (scheme, allowed characters, a host for
// http and https) rather than every corner of PHP's parser; the four types MISP's
// validator does not list (edge-extension-id, filename|impfuzzy, suricata, uuid) are
// taken as text, where MISP throws.

import (
	"encoding/base64"
	stdjson "encoding/json"
	"errors"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// MaxValueLength is the longest value MISP stores (its value column's size).
const MaxValueLength = 65535

// MISP's messages for the value rules that are not the type's own.
const (
	msgValueEmpty     = "Value cannot be empty."
	msgValueControl   = "Value provided consists purely of control characters and is therefore considered to be empty."
	msgValueComposite = "Composite type found but the value not in the composite (value1|value2) format."
	msgValueFormat    = `Value not in the right type/format. Please double check the value or select type "other".`
	msgValueTooLong   = "The entered string is too long and would get truncated. Please consider adding the data as an attachment instead"
)

// NormalizeValue returns value as MISP stores an attribute of type typ, or, when MISP
// would refuse it, an error whose text is MISP's validation message for the value field.
// Types MISP does not validate are only trimmed. A composite value comes back as
// "value1|value2" with exactly one "|".
func NormalizeValue(typ, value string) (string, error) {
	v := massageValue(typ, value)
	if msg := checkValue(typ, v); msg != "" {
		return v, errors.New(msg)
	}
	// Settle: a few rounds at most (each round only removes or rewrites a decoration).
	for range 8 {
		next := massageValue(typ, v)
		if next == v {
			break
		}
		if msg := checkValue(typ, next); msg != "" {
			return next, errors.New(msg)
		}
		v = next
	}
	return v, nil
}

// massageValue is MISP's beforeValidateMassage for the value: trim, refang, then the
// type's own rewrite (modifyBeforeValidation).
func massageValue(typ, value string) string {
	v := refang(typ, phpTrim(value))
	v = replace4ByteUTF8(v)
	switch typ {
	case "ip-src", "ip-dst":
		return normalizeIP(v)
	case "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha512/224", "sha512/256",
		"sha3-224", "sha3-256", "sha3-384", "sha3-512", "ja3-fingerprint-md5", "jarm-fingerprint",
		"hassh-md5", "hasshserver-md5", "hostname", "pehash", "authentihash", "vhash", "imphash",
		"telfhash", "tlsh", "anonymised", "cdhash", "email", "email-src", "email-dst", "target-email",
		"whois-registrant-email", "dom-hash", "onion-address":
		return asciiLower(v)
	case "domain":
		return normalizeDomain(v)
	case "domain|ip":
		v = asciiLower(v)
		parts := strings.Split(v, "|")
		if len(parts) < 2 {
			return v
		}
		return normalizeDomain(parts[0]) + "|" + normalizeIP(parts[1])
	case "filename|md5", "filename|sha1", "filename|imphash", "filename|sha224", "filename|sha256",
		"filename|sha384", "filename|sha512", "filename|sha512/224", "filename|sha512/256",
		"filename|sha3-224", "filename|sha3-256", "filename|sha3-384", "filename|sha3-512",
		"filename|authentihash", "filename|vhash", "filename|pehash", "filename|tlsh":
		// The hash part only; without a "|" MISP lower-cases it all.
		i := max(strings.IndexByte(v, '|'), 0)
		return v[:i] + asciiLower(v[i:])
	case "http-method", "hex":
		return asciiUpper(v)
	case "vulnerability", "weakness":
		return asciiUpper(strings.ReplaceAll(v, "\u2013", "-"))
	case "cc-number", "bin":
		return keepBytes(v, func(c byte) bool { return isDigit(c) })
	case "iban", "bic":
		return keepBytes(asciiUpper(v), func(c byte) bool { return isDigit(c) || c >= 'A' && c <= 'Z' })
	case "prtn", "whois-registrant-phone", "phone-number":
		if strings.HasPrefix(v, "00") {
			v = "+" + v[2:]
		}
		v = strings.ReplaceAll(v, "(0)", "")
		return keepBytes(v, func(c byte) bool { return isDigit(c) || c == '+' })
	case "x509-fingerprint-md5", "x509-fingerprint-sha256", "x509-fingerprint-sha1":
		return asciiLower(strings.ReplaceAll(v, ":", ""))
	case "ip-dst|port", "ip-src|port":
		return splitIPPort(v)
	case "mac-address", "mac-eui-64":
		v = keepBytes(asciiLower(v), func(c byte) bool { return c != '.' && c != ':' && c != '-' && c != ' ' })
		return chunk(v, 2, ":")
	case "hostname|port":
		return strings.ReplaceAll(asciiLower(v), ":", "|")
	case "boolean":
		switch b := phpTrim(asciiLower(v)); b {
		case "true":
			return "1"
		case "false", "", "0":
			return "0"
		}
		return "1"
	case "datetime":
		if t, ok := parseDatetime(v); ok {
			return t.Format("2006-01-02T15:04:05.000000-0700")
		}
		return v
	case "AS":
		if len(v) >= 2 && asciiUpper(v[:2]) == "AS" {
			v = v[2:]
		}
		if hi, lo, ok := strings.Cut(v, "."); ok && isDigits(hi) && isDigits(lo) {
			// asdot notation: high.low is high*65536+low. Beyond what PHP holds in an
			// integer the result is a float MISP refuses: leave the value to be refused.
			h, err1 := strconv.ParseInt(hi, 10, 64)
			l, err2 := strconv.ParseInt(lo, 10, 64)
			if err1 == nil && err2 == nil && h <= (1<<47-1) && l <= 1<<62 {
				return strconv.FormatInt(h*65536+l, 10)
			}
		}
		return v
	}
	return v
}

// checkValue runs MISP's value rules in order and returns the first failing rule's
// message, or "" when MISP accepts the value.
func checkValue(typ, v string) string {
	if v == "" {
		return msgValueEmpty
	}
	composite := IsComposite(typ)
	if isCntrl(v) {
		return msgValueControl
	}
	if composite {
		first, second, _ := strings.Cut(v, "|")
		if isCntrl(first) || second != "" && second != "0" && isCntrl(strings.SplitN(second, "|", 2)[0]) {
			return msgValueControl
		}
		if strings.Count(v, "|") != 1 {
			return msgValueComposite
		}
	}
	if msg := checkFormat(typ, v); msg != "" {
		return msg
	}
	if len(v) > MaxValueLength {
		return msgValueTooLong
	}
	return ""
}

// hashHexLength is how many hexadecimal characters each fixed-length hash type holds.
var hashHexLength = map[string]int{
	"authentihash": 64, "md5": 32, "imphash": 32, "telfhash": 70, "sha1": 40, "git-commit-id": 40,
	"x509-fingerprint-md5": 32, "x509-fingerprint-sha1": 40, "x509-fingerprint-sha256": 64,
	"ja3-fingerprint-md5": 32, "jarm-fingerprint": 62, "hassh-md5": 32, "hasshserver-md5": 32,
	"pehash": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128, "sha512/224": 56,
	"sha512/256": 64, "sha3-224": 56, "sha3-256": 64, "sha3-384": 96, "sha3-512": 128, "dom-hash": 32,
}

// The patterns of MISP's format checks. PCRE's "$" also matches before a final newline,
// hence "\n?$".
var (
	reSsdeep      = regexp.MustCompile(`^[0-9]+:[0-9a-zA-Z/+]*:[0-9a-zA-Z/+]*\n?$`)
	reCdhash      = regexp.MustCompile(`^[0-9a-f]{40,}\n?$`)
	reHTTPMethod  = regexp.MustCompile(`OPTIONS|GET|HEAD|POST|PUT|DELETE|TRACE|CONNECT|PROPFIND|PROPPATCH|MKCOL|COPY|MOVE|LOCK|UNLOCK|VERSION-CONTROL|REPORT|CHECKOUT|CHECKIN|UNCHECKOUT|MKWORKSPACE|UPDATE|LABEL|MERGE|BASELINE-CONTROL|MKACTIVITY|ORDERPATCH|ACL|PATCH|SEARCH`)
	reFilenameAny = regexp.MustCompile(`^.+\|.+\n?$`)
	// MISP's pattern has "{56)" where "{56})" was meant, so PCRE reads the second branch as
	// one character followed by a literal "{56": 56-character (v3) onion addresses are
	// refused. Kept as MISP has it: a value MISP refuses never goes to a MISP peer.
	reOnion     = regexp.MustCompile(`^([a-z2-7]{16}|[a-z2-7]\{56)\.onion\n?$`)
	reMAC       = regexp.MustCompile(`^([a-fA-F0-9]{2}:?){6}\n?$`)
	reEUI64     = regexp.MustCompile(`^([a-fA-F0-9]{2}:?){8}\n?$`)
	reDomain    = regexp.MustCompile(`(?i)^[A-Z0-9.\-_]+\.[A-Z0-9\-]{2,}\n?$`)
	reEmail     = regexp.MustCompile(`(?i)^.[^\s\v]*@.*\..*\n?$`)
	reCVE       = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}\n?$`)
	reCWE       = regexp.MustCompile(`^CWE-[0-9]+\n?$`)
	reAlnum     = regexp.MustCompile(`^[a-zA-Z0-9]+\n?$`)
	reOneLine   = regexp.MustCompile(`^.+\n?$`)
	reFilenameH = map[int]*regexp.Regexp{}
)

func init() {
	for _, n := range hashHexLength {
		if reFilenameH[n] == nil {
			reFilenameH[n] = regexp.MustCompile(`^.+\|[0-9a-f]{` + strconv.Itoa(n) + `}\n?$`)
		}
	}
}

const (
	msgPortRange = "Port numbers have to be integers between 1 and 65535."
	msgIPFormat  = "IP address has an invalid format."
)

// checkFormat is AttributeValidationTool::validate: "" when the value has the type's
// format, else MISP's message.
func checkFormat(typ, v string) string {
	verdict := func(ok bool, msg string) string {
		if ok {
			return ""
		}
		return msg
	}
	switch typ {
	case "md5", "imphash", "sha1", "sha224", "sha256", "sha384", "sha512", "sha512/224", "sha512/256",
		"sha3-224", "sha3-256", "sha3-384", "sha3-512", "authentihash", "ja3-fingerprint-md5",
		"jarm-fingerprint", "hassh-md5", "hasshserver-md5", "x509-fingerprint-md5",
		"x509-fingerprint-sha256", "x509-fingerprint-sha1", "git-commit-id", "dom-hash":
		n := hashHexLength[typ]
		return verdict(len(v) == n && isXDigits(v), `Checksum has an invalid length or format (expected: `+strconv.Itoa(n)+` hexadecimal characters). Please double check the value or select type "other".`)
	case "tlsh":
		return verdict(isTLSH(v), `Checksum has an invalid length or format (expected: at least 35 hexadecimal characters, optionally starting with t1 instead of hexadecimal characters). Please double check the value or select type "other".`)
	case "telfhash":
		return verdict(len(v) == 70 || len(v) == 72, `Checksum has an invalid length or format (expected: 70 or 72 hexadecimal characters). Please double check the value or select type "other".`)
	case "pehash":
		return verdict(len(v) == 40 && isXDigits(v), `The input doesn't match the expected sha1 format (expected: 40 hexadecimal characters). Keep in mind that MISP currently only supports SHA1 for PEhashes, if you would like to get the support extended to other hash types, make sure to create a github ticket about it at https://github.com/MISP/MISP!`)
	case "ssdeep":
		return verdict(reSsdeep.MatchString(v), "Invalid SSDeep hash. The format has to be blocksize:hash:hash")
	case "impfuzzy":
		parts := strings.Split(v, ":")
		return verdict(len(parts) == 3 && isDigits(parts[0]), "Invalid impfuzzy format. The format has to be imports:hash:hash")
	case "cdhash":
		return verdict(reCdhash.MatchString(v), "The input doesn't match the expected format (expected: 40 or more hexadecimal characters)")
	case "http-method":
		return verdict(reHTTPMethod.MatchString(v), "Unknown HTTP method.")
	case "filename|pehash":
		return verdict(reFilenameH[40].MatchString(v), `The input doesn't match the expected filename|sha1 format (expected: filename|40 hexadecimal characters). Keep in mind that MISP currently only supports SHA1 for PEhashes, if you would like to get the support extended to other hash types, make sure to create a github ticket about it at https://github.com/MISP/MISP!`)
	case "filename|md5", "filename|sha1", "filename|imphash", "filename|sha224", "filename|sha256",
		"filename|sha384", "filename|sha512", "filename|sha512/224", "filename|sha512/256",
		"filename|sha3-224", "filename|sha3-256", "filename|sha3-384", "filename|sha3-512", "filename|authentihash":
		n := hashHexLength[strings.TrimPrefix(typ, "filename|")]
		return verdict(reFilenameH[n].MatchString(v), `Checksum has an invalid length or format (expected: filename|`+strconv.Itoa(n)+` hexadecimal characters). Please double check the value or select type "other".`)
	case "filename|ssdeep", "filename|tlsh":
		name, hash, _ := strings.Cut(v, "|")
		if strings.Contains(name, "\n") {
			return "Filename must not contain new line character."
		}
		if typ == "filename|ssdeep" {
			return verdict(reSsdeep.MatchString(hash), "Invalid ssdeep hash (expected: blocksize:hash:hash).")
		}
		return verdict(isTLSH(hash), `TLSH hash has an invalid length or format (expected: filename|at least 35 hexadecimal characters, optionally starting with t1 instead of hexadecimal characters). Please double check the value or select type "other".`)
	case "filename|vhash":
		return verdict(reFilenameAny.MatchString(v), `Checksum has an invalid length or format (expected: filename|string characters). Please double check the value or select type "other".`)
	case "ip-src", "ip-dst":
		return checkIPOrCIDR(v)
	case "port":
		return verdict(isPort(v), msgPortRange)
	case "ip-dst|port", "ip-src|port":
		ip, port, _ := strings.Cut(v, "|")
		if _, ok := parseIP(ip); !ok {
			return msgIPFormat
		}
		return verdict(isPort(port), msgPortRange)
	case "onion-address":
		return verdict(reOnion.MatchString(v), "Onion address has an invalid format.")
	case "mac-address":
		return verdict(reMAC.MatchString(v), msgValueFormat)
	case "mac-eui-64":
		return verdict(reEUI64.MatchString(v), msgValueFormat)
	case "hostname", "domain":
		return verdict(reDomain.MatchString(v), strings.ToUpper(typ[:1])+typ[1:]+` has an invalid format. Please double check the value or select type "other".`)
	case "hostname|port":
		host, port, _ := strings.Cut(v, "|")
		if !reDomain.MatchString(host) {
			return "Hostname has an invalid format."
		}
		return verdict(isPort(port), msgPortRange)
	case "domain|ip":
		domain, ip, _ := strings.Cut(v, "|")
		if !reDomain.MatchString(domain) {
			return "Domain has an invalid format."
		}
		_, ok := parseIP(ip)
		return verdict(ok, msgIPFormat)
	case "email", "email-src", "eppn", "email-dst", "target-email", "whois-registrant-email", "dns-soa-email", "jabber-id":
		return verdict(reEmail.MatchString(v), `Email address has an invalid format. Please double check the value or select type "other".`)
	case "vulnerability":
		return verdict(reCVE.MatchString(v), "Invalid format. Expected: CVE-xxxx-xxxx...")
	case "weakness":
		return verdict(reCWE.MatchString(v), "Invalid format. Expected: CWE-x...")
	case "windows-service-name", "windows-service-displayname":
		return verdict(len(v) <= 256 && !strings.ContainsAny(v, `\/`), "Invalid format. Only values shorter than 256 characters that don't include any forward or backward slashes are allowed.")
	case "link":
		return verdict(isURL(v), msgValueFormat)
	case "hex":
		return verdict(isXDigits(v), msgValueFormat)
	case "target-user", "campaign-name", "campaign-id", "threat-actor", "target-machine", "target-org",
		"target-location", "target-external", "email-subject", "malware-type", "url", "uri", "user-agent",
		"regkey", "regkey|value", "filename", "pdb", "windows-scheduled-task", "whois-registrant-name",
		"whois-registrant-org", "whois-registrar", "whois-creation-date", "date-of-birth", "place-of-birth",
		"gender", "passport-number", "passport-country", "passport-expiration", "redress-number",
		"nationality", "visa-number", "issue-date-of-the-visa", "primary-residence", "country-of-residence",
		"special-service-request", "frequent-flyer-number", "travel-details", "payment-details",
		"place-port-of-original-embarkation", "place-port-of-clearance",
		"place-port-of-onward-foreign-destination", "passenger-name-record-locator-number",
		"email-dst-display-name", "email-src-display-name", "email-reply-to", "email-x-mailer",
		"email-mime-boundary", "email-thread-index", "email-message-id", "github-username",
		"github-repository", "github-organisation", "twitter-id", "dkim", "dkim-signature", "favicon-mmh3",
		"chrome-extension-id", "mobile-application-id", "azure-application-id", "named pipe":
		return verdict(!strings.Contains(v, "\n"), "Value must not contain new line character.")
	case "ssh-fingerprint":
		return verdict(isSSHFingerprint(v), "SSH fingerprint must be in MD5 or SHA256 format.")
	case "datetime":
		_, ok := parseDatetime(v)
		return verdict(ok, "Datetime has to be in the ISO 8601 format.")
	case "size-in-bytes", "counter":
		return verdict(isDigits(v), "The value has to be a whole number greater or equal 0.")
	case "integer":
		_, err := strconv.ParseInt(v, 10, 64)
		return verdict(err == nil, "The value has to be an integer value.")
	case "iban", "bic", "btc", "dash", "xmr":
		return verdict(reAlnum.MatchString(v), msgValueFormat)
	case "vhash":
		return verdict(reOneLine.MatchString(v), msgValueFormat)
	case "bin", "cc-number", "bank-account-nr", "aba-rtn", "prtn", "phone-number", "whois-registrant-phone", "float":
		return verdict(isNumeric(v), msgValueFormat)
	case "cortex":
		return verdict(stdjson.Valid([]byte(v)), msgValueFormat)
	case "AS":
		n, err := strconv.ParseUint(v, 10, 64)
		if isDigits(v) && (err == nil && n <= 4294967295) {
			return ""
		}
		return "AS number have to be integer between 1 and 4294967295"
	}
	// Every other type (free text: comment, text, yara, malware-sample…) takes any value.
	return ""
}

// checkIPOrCIDR validates an ip-src/ip-dst value: an address or an address/prefix.
func checkIPOrCIDR(v string) string {
	if !strings.Contains(v, "/") {
		if _, ok := parseIP(v); ok {
			return ""
		}
		return msgIPFormat
	}
	parts := strings.Split(v, "/")
	if len(parts) != 2 || !isDigits(parts[1]) {
		return "Invalid CIDR notation value found."
	}
	bits := strings.TrimLeft(parts[1], "0")
	ip, ok := parseIP(parts[0])
	switch {
	case !ok:
		return msgIPFormat
	case ip.Is4() && (len(bits) > 2 || atoi(bits) > 32):
		return "Invalid CIDR notation value found, for IPv4 must be lower or equal 32."
	case ip.Is6() && (len(bits) > 3 || atoi(bits) > 128):
		return "Invalid CIDR notation value found, for IPv6 must be lower or equal 128."
	}
	return ""
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// parseIP is PHP's FILTER_VALIDATE_IP: dotted IPv4 without leading zeros, or IPv6
// without a zone.
func parseIP(s string) (netip.Addr, bool) {
	if strings.ContainsRune(s, '%') {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(s)
	return ip, err == nil
}

// normalizeIP compresses an IPv6 address (as inet_ntop writes it) and drops a /32 or
// /128 prefix, as MISP does. Like MISP it looks for "/" and ":" only after the first
// character, so "::1" is left as written.
func normalizeIP(v string) string {
	if i := strings.IndexByte(v, '/'); i > 0 {
		ip, prefix, _ := strings.Cut(v, "/")
		if strings.IndexByte(ip, ':') > 0 {
			if a, ok := parseIP(ip); ok && a.Is6() {
				ip = ntop6(a)
			}
		}
		if prefix == "32" && strings.IndexByte(v, '.') > 0 || prefix == "128" && strings.IndexByte(v, ':') > 0 {
			return ip
		}
		return ip + "/" + prefix
	}
	if strings.IndexByte(v, ':') > 0 {
		if a, ok := parseIP(v); ok && a.Is6() {
			return ntop6(a)
		}
	}
	return v
}

// ntop6 writes an IPv6 address as glibc's inet_ntop does: RFC 5952, except that an
// IPv4-compatible address (::a.b.c.d) keeps its dotted tail.
func ntop6(a netip.Addr) string {
	b := a.As16()
	if !a.Is4In6() && [12]byte(b[:12]) == [12]byte{} && (b[12] != 0 || b[13] != 0) {
		return "::" + netip.AddrFrom4([4]byte(b[12:])).String()
	}
	return a.String()
}

// splitIPPort turns the spellings of an address and port MISP understands
// (192.0.2.1:443, [2001:db8::1]:443, 2001:db8::1.443, … port 443, …p443, …#443, and
// the ambiguous 2001:db8::1:443) into "address|port".
func splitIPPort(v string) string {
	var ip, port string
	second := func(parts []string) string {
		if len(parts) > 1 {
			return parts[1]
		}
		return ""
	}
	switch {
	case strings.Count(v, ":") >= 2:
		switch {
		case strings.IndexByte(v, '|') > 0:
			parts := strings.Split(v, "|")
			ip, port = parts[0], parts[1]
		case strings.HasPrefix(v, "[") && strings.Contains(v, "]"):
			end := strings.IndexByte(v, ']')
			ip, port = v[1:end], second(strings.Split(v[end:], ":"))
		case strings.IndexByte(v, '.') > 0:
			parts := strings.Split(v, ".")
			ip, port = parts[0], parts[1]
		case strings.Index(v, " port ") > 0:
			parts := strings.Split(v, " port ")
			ip, port = parts[0], parts[1]
		case strings.IndexByte(v, 'p') > 0:
			parts := strings.Split(v, "p")
			ip, port = parts[0], parts[1]
		case strings.IndexByte(v, '#') > 0:
			parts := strings.Split(v, "#")
			ip, port = parts[0], parts[1]
		default:
			i := strings.LastIndexByte(v, ':')
			ip, port = v[:i], v[i+1:]
		}
	case strings.IndexByte(v, ':') > 0:
		parts := strings.Split(v, ":")
		ip, port = parts[0], parts[1]
	case strings.IndexByte(v, '|') > 0:
		parts := strings.Split(v, "|")
		ip, port = parts[0], parts[1]
	default:
		return v
	}
	return normalizeIP(ip) + "|" + port
}

// idnaProfile is PHP's idn_to_ascii with its defaults (UTS #46, transitional, no STD3
// rules).
var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(true), idna.StrictDomainName(false))

// normalizeDomain lower-cases a domain, trims its dots and, when that is not a valid
// domain, tries its punycode form.
func normalizeDomain(v string) string {
	v = strings.Trim(asciiLower(v), ".")
	if !reDomain.MatchString(v) {
		if p, err := idnaProfile.ToASCII(v); err == nil {
			return p
		}
	}
	return v
}

// refangRules are MISP's refanging rules (ComplexTypeTool), in its order, with the types
// each applies to.
var refangRules = []struct {
	re    *regexp.Regexp
	to    string
	hint  string // the rule can only match a value containing this
	types []string
}{
	{regexp.MustCompile(`(?i)^(hxxp|hxtp|htxp|meow|h\[tt\]p)`), "http", "", []string{"link", "url"}},
	{regexp.MustCompile(`\[\.\]|\[dot\]|\(dot\)`), ".", "", []string{"link", "url", "ip-dst", "ip-src", "domain|ip", "domain", "hostname", "email", "email-src", "email-dst"}},
	{regexp.MustCompile(`\[hxxp://\]`), "http://", "[", []string{"link", "url"}},
	{regexp.MustCompile(`\[@\]|\[at\]`), "@", "[", []string{"email", "email-src", "email-dst"}},
	{regexp.MustCompile(`\[:\]`), ":", "[", []string{"url", "link"}},
}

// refang undoes the defanging MISP undoes (hxxp://, [.], [dot], (dot), [@], [at], [:]).
func refang(typ, v string) string {
	for _, r := range refangRules {
		if !contains(r.types, typ) || r.hint != "" && !strings.Contains(v, r.hint) {
			continue
		}
		v = r.re.ReplaceAllLiteralString(v, r.to)
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseDatetime reads the datetimes MISP's PHP parser reads that sync and people use:
// YYYY-MM-DD, optionally followed by [T ]HH:MM[:SS[.fraction]] and a zone (Z, UTC, GMT,
// ±HH, ±HHMM, ±HH:MM), or @unixtime. Without a zone the time is UTC, as MISP takes it.
// Out-of-range days and hours roll over as PHP's do (2023-02-29 is 2023-03-01).
func parseDatetime(s string) (time.Time, bool) {
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		sec, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || sec < -62135596800 || sec > 253402300799 {
			return time.Time{}, false
		}
		return time.Unix(sec, 0).UTC(), true
	}
	m := reDatetime.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	num := func(i int) int { return atoi(m[i]) }
	year, month, day := num(1), num(2), num(3)
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	hour, minute, sec := num(4), num(5), num(6)
	if hour > 24 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	frac := m[7]
	if len(frac) > 6 {
		frac = frac[:6]
	}
	usec := atoi(frac + strings.Repeat("0", 6-len(frac)))
	loc := time.UTC
	if z := m[8]; z != "" && z[0] != 'Z' && z[0] != 'z' && z[0] != 'U' && z[0] != 'G' {
		hh, mm := atoi(z[1:3]), 0
		if tail := strings.TrimPrefix(z[3:], ":"); tail != "" {
			mm = atoi(tail)
		}
		if hh > 23 || mm > 59 {
			return time.Time{}, false
		}
		off := (hh*60 + mm) * 60
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, usec*1000, loc)
	if t.Year() > 9999 {
		return time.Time{}, false
	}
	return t, true
}

var reDatetime = regexp.MustCompile(`^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt ]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)? ?(Z|z|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$`)

// isURL is PHP's FILTER_VALIDATE_URL for the URLs attributes hold: only the characters a
// URL may hold, a scheme, and a host (a valid host name or a bracketed IPv6 address for
// http and https) unless the scheme is mailto, news or file.
func isURL(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	scheme, rest, ok := strings.Cut(v, ":")
	if !ok || scheme == "" || !isSchemeName(scheme) {
		return false
	}
	scheme = asciiLower(scheme)
	if scheme == "mailto" || scheme == "news" || scheme == "file" {
		return true
	}
	authority, ok := strings.CutPrefix(rest, "//")
	if !ok {
		return false
	}
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	host := authority
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		if a, ok := parseIP(host[1:end]); !ok || !a.Is6() {
			return false
		}
		return validURLPort(host[end+1:])
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		if !validURLPort(host[i:]) {
			return false
		}
		host = host[:i]
	}
	if host == "" {
		return false
	}
	if scheme == "http" || scheme == "https" {
		return isHostname(host)
	}
	return true
}

func validURLPort(s string) bool {
	if s == "" {
		return true
	}
	p, ok := strings.CutPrefix(s, ":")
	if !ok {
		return false
	}
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && isDigits(p) && n <= 65535
}

func isSchemeName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !isDigit(c) && c != '+' && c != '-' && c != '.') {
			return false
		}
	}
	return true
}

// isHostname is PHP's host name check for URLs: labels of letters, digits and hyphens,
// none starting or ending with a hyphen, at most 63 characters each and 253 in all, an
// optional final dot.
func isHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !isDigit(c) && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') && c != '-' {
				return false
			}
		}
	}
	return true
}

// isSSHFingerprint accepts SHA256:<base64 of 32 bytes> or an MD5 fingerprint, with or
// without its MD5: prefix and colons.
func isSSHFingerprint(v string) bool {
	if b64, ok := strings.CutPrefix(v, "SHA256:"); ok {
		raw := strings.TrimRight(b64, "=")
		if len(b64)-len(raw) > 2 || len(raw)%4 == 1 {
			return false
		}
		dec, err := base64.RawStdEncoding.DecodeString(raw)
		return err == nil && len(dec) == 32
	}
	v = strings.ReplaceAll(strings.TrimPrefix(v, "MD5:"), ":", "")
	return len(v) == 32 && isXDigits(v)
}

// isTLSH: more than 35 hexadecimal characters after an optional leading "t".
func isTLSH(v string) bool {
	v = strings.TrimPrefix(v, "t")
	return len(v) > 35 && isXDigits(v)
}

func isPort(v string) bool {
	if !isDigits(v) {
		return false
	}
	n, err := strconv.Atoi(v)
	return err == nil && n >= 1 && n <= 65535
}

// isNumeric is PHP 8's is_numeric on a string: optional surrounding whitespace, a sign,
// a decimal number with an optional exponent.
func isNumeric(v string) bool {
	ws := " \t\n\r\v\f"
	v = strings.TrimRight(strings.TrimLeft(v, ws), ws)
	if v != "" && (v[0] == '+' || v[0] == '-') {
		v = v[1:]
	}
	mant, exp := v, ""
	if i := strings.IndexAny(v, "eE"); i >= 0 {
		mant, exp = v[:i], v[i+1:]
		if exp != "" && (exp[0] == '+' || exp[0] == '-') {
			exp = exp[1:]
		}
		if !isDigits(exp) {
			return false
		}
	}
	whole, frac, dot := strings.Cut(mant, ".")
	if whole == "" && frac == "" {
		return false
	}
	return (whole == "" || isDigits(whole)) && (!dot || frac == "" || isDigits(frac)) && (whole != "" || frac != "")
}

// phpTrim is PHP's trim: spaces, tabs, newlines, carriage returns, NUL and vertical tabs.
func phpTrim(s string) string { return strings.Trim(s, " \t\n\r\x00\x0b") }

// replace4ByteUTF8 replaces each 4-byte UTF-8 sequence with "?", as MISP does before it
// stores a value (its columns hold 3-byte UTF-8 only).
func replace4ByteUTF8(s string) string {
	i := 0
	for i < len(s) && !is4Byte(s, i) {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for i < len(s) {
		if is4Byte(s, i) {
			b.WriteByte('?')
			i += 4
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func is4Byte(s string, i int) bool {
	if i+3 >= len(s) {
		return false
	}
	c0, c1 := s[i], s[i+1]
	cont := func(c byte) bool { return c >= 0x80 && c <= 0xbf }
	switch {
	case c0 == 0xf0:
		if c1 < 0x90 || c1 > 0xbf {
			return false
		}
	case c0 >= 0xf1 && c0 <= 0xf3:
		if !cont(c1) {
			return false
		}
	case c0 == 0xf4:
		if c1 < 0x80 || c1 > 0x8f {
			return false
		}
	default:
		return false
	}
	return cont(s[i+2]) && cont(s[i+3])
}

// asciiLower and asciiUpper change ASCII letters only, as PHP 8's strtolower and
// strtoupper do.
func asciiLower(s string) string { return flipCase(s, 'A', 'Z') }
func asciiUpper(s string) string { return flipCase(s, 'a', 'z') }

// flipCase switches the case of the ASCII letters lo..hi of s.
func flipCase(s string, lo, hi byte) string {
	i := 0
	for i < len(s) && (s[i] < lo || s[i] > hi) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if b[i] >= lo && b[i] <= hi {
			b[i] ^= 0x20
		}
	}
	return string(b)
}

// keepBytes keeps the bytes of s that keep accepts.
func keepBytes(s string, keep func(byte) bool) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if keep(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// chunk joins the n-byte pieces of s with sep (PHP's wordwrap of a string without spaces,
// cutting).
func chunk(s string, n int, sep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += n {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s[i:min(i+n, len(s))])
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isDigits is PHP's ctype_digit: non-empty, decimal digits only.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// isXDigits is PHP's ctype_xdigit.
func isXDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// isCntrl is PHP's ctype_cntrl: non-empty, control characters only.
func isCntrl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x20 && s[i] != 0x7f {
			return false
		}
	}
	return s != ""
}
