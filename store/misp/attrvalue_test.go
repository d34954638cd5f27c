package misp

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
)

// The expectations below were worked out by reading MISP 2.5's AttributeValidationTool,
// ComplexTypeTool::refangValue and MispAttribute's value rules, one type family at a time:
// what MISP keeps as sent, what it rewrites (and to what), what it refuses (and its
// message).

const (
	badFormat = `Value not in the right type/format. Please double check the value or select type "other".`
	badIP     = "IP address has an invalid format."
	badPort   = "Port numbers have to be integers between 1 and 65535."
)

func checksum(n string) string {
	return "Checksum has an invalid length or format (expected: " + n + ` hexadecimal characters). Please double check the value or select type "other".`
}

type valueCase struct {
	typ, in, want, err string
}

func runValueCases(t *testing.T, cases []valueCase) {
	t.Helper()
	for _, c := range cases {
		got, err := NormalizeValue(c.typ, c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s %q: error %v, want %q (value %q)", c.typ, c.in, err, c.err, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: refused: %v", c.typ, c.in, err)
			continue
		}
		want := c.want
		if want == "" {
			want = c.in
		}
		if got != want {
			t.Errorf("%s %q: got %q, want %q", c.typ, c.in, got, want)
		}
	}
}

var (
	md5     = "d41d8cd98f00b204e9800998ecf8427e"
	sha1Val = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	sha256  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	tlshVal = "t1" + strings.Repeat("a", 70)
)

func TestNormalizeValueHashes(t *testing.T) {
	runValueCases(t, []valueCase{
		{typ: "md5", in: md5},
		{typ: "md5", in: strings.ToUpper(md5), want: md5},
		{typ: "md5", in: "  " + md5 + "\n", want: md5},
		{typ: "md5", in: md5[:31], err: checksum("32")},
		{typ: "md5", in: md5[:31] + "g", err: checksum("32")},
		{typ: "sha1", in: strings.ToUpper(sha1Val), want: sha1Val},
		{typ: "sha256", in: sha256},
		{typ: "sha256", in: sha1Val, err: checksum("64")},
		{typ: "sha512", in: strings.Repeat("A", 128), want: strings.Repeat("a", 128)},
		{typ: "sha512/256", in: sha256},
		{typ: "sha3-384", in: strings.Repeat("0", 95), err: checksum("96")},
		{typ: "imphash", in: strings.ToUpper(md5), want: md5},
		{typ: "authentihash", in: sha256},
		{typ: "jarm-fingerprint", in: strings.Repeat("F", 62), want: strings.Repeat("f", 62)},
		{typ: "dom-hash", in: md5},
		// git-commit-id is checked but not lower-cased.
		{typ: "git-commit-id", in: strings.ToUpper(sha1Val)},
		{typ: "x509-fingerprint-sha1", in: "DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF:95:60:18:90:AF:D8:07:09", want: sha1Val},
		{typ: "x509-fingerprint-md5", in: "d4:1d", err: checksum("32")},
		{typ: "x509-fingerprint-sha256", in: strings.ToUpper(sha256), want: sha256},
		{typ: "pehash", in: sha1Val},
		{typ: "pehash", in: md5, err: "The input doesn't match the expected sha1 format (expected: 40 hexadecimal characters). Keep in mind that MISP currently only supports SHA1 for PEhashes, if you would like to get the support extended to other hash types, make sure to create a github ticket about it at https://github.com/MISP/MISP!"},
		{typ: "ssdeep", in: "96:s4Ud1Lj96tHHlZDrwciQmA+4uy1I0G4HYuL8N3TzS8QsO/wqWXLcMSx:sF1LjEtHHlZDrJzrhuyZvHYm8tKp/RWO"},
		{typ: "ssdeep", in: "3::"},
		{typ: "ssdeep", in: "abc:def:ghi", err: "Invalid SSDeep hash. The format has to be blocksize:hash:hash"},
		{typ: "impfuzzy", in: "48:x:y"},
		{typ: "impfuzzy", in: "x:y:z", err: "Invalid impfuzzy format. The format has to be imports:hash:hash"},
		{typ: "impfuzzy", in: "48:x", err: "Invalid impfuzzy format. The format has to be imports:hash:hash"},
		{typ: "tlsh", in: strings.ToUpper(tlshVal), want: tlshVal},
		{typ: "tlsh", in: strings.Repeat("a", 36)},
		{typ: "tlsh", in: strings.Repeat("a", 35), err: `Checksum has an invalid length or format (expected: at least 35 hexadecimal characters, optionally starting with t1 instead of hexadecimal characters). Please double check the value or select type "other".`},
		{typ: "telfhash", in: strings.Repeat("X", 70), want: strings.Repeat("x", 70)},
		{typ: "telfhash", in: strings.Repeat("a", 71), err: `Checksum has an invalid length or format (expected: 70 or 72 hexadecimal characters). Please double check the value or select type "other".`},
		{typ: "cdhash", in: strings.ToUpper(sha1Val) + "AB", want: sha1Val + "ab"},
		{typ: "cdhash", in: md5, err: "The input doesn't match the expected format (expected: 40 or more hexadecimal characters)"},
		{typ: "vhash", in: "015036656d5223z12z", want: "015036656d5223z12z"},
		{typ: "vhash", in: "ABC", want: "abc"},
	})
}

func TestNormalizeValueFilenameHashes(t *testing.T) {
	runValueCases(t, []valueCase{
		{typ: "filename|md5", in: "Setup.EXE|" + strings.ToUpper(md5), want: "Setup.EXE|" + md5},
		{typ: "filename|sha256", in: "a.dll|" + sha256},
		{typ: "filename|sha1", in: "a.dll|" + md5, err: `Checksum has an invalid length or format (expected: filename|40 hexadecimal characters). Please double check the value or select type "other".`},
		{typ: "filename|md5", in: "|" + md5, err: `Checksum has an invalid length or format (expected: filename|32 hexadecimal characters). Please double check the value or select type "other".`},
		{typ: "filename|md5", in: "a.exe", err: "Composite type found but the value not in the composite (value1|value2) format."},
		{typ: "filename|md5", in: "a|b|" + md5, err: "Composite type found but the value not in the composite (value1|value2) format."},
		{typ: "filename|pehash", in: "a.exe|" + strings.ToUpper(sha1Val), want: "a.exe|" + sha1Val},
		{typ: "filename|imphash", in: "A.exe|" + md5},
		{typ: "filename|ssdeep", in: "a.exe|3:AB:CD"},
		{typ: "filename|ssdeep", in: "a.exe|nope", err: "Invalid ssdeep hash (expected: blocksize:hash:hash)."},
		{typ: "filename|ssdeep", in: "a\nb|3:AB:CD", err: "Filename must not contain new line character."},
		{typ: "filename|tlsh", in: "A.exe|T1" + strings.Repeat("AB", 20), want: "A.exe|t1" + strings.Repeat("ab", 20)},
		{typ: "filename|tlsh", in: "a.exe|t1", err: `TLSH hash has an invalid length or format (expected: filename|at least 35 hexadecimal characters, optionally starting with t1 instead of hexadecimal characters). Please double check the value or select type "other".`},
		{typ: "filename|vhash", in: "a.exe|X1", want: "a.exe|x1"},
		{typ: "malware-sample", in: "a.exe|" + md5},
		{typ: "malware-sample", in: "a.exe", err: "Composite type found but the value not in the composite (value1|value2) format."},
	})
}

func TestNormalizeValueIPs(t *testing.T) {
	runValueCases(t, []valueCase{
		{typ: "ip-dst", in: "192.0.2.1"},
		{typ: "ip-dst", in: "999.1.1.1", err: badIP},
		{typ: "ip-dst", in: "192.0.2.01", err: badIP},
		{typ: "ip-src", in: "192.0.2.1/32", want: "192.0.2.1"},
		{typ: "ip-src", in: "192.0.2.0/24"},
		{typ: "ip-src", in: "192.0.2.0/33", err: "Invalid CIDR notation value found, for IPv4 must be lower or equal 32."},
		{typ: "ip-src", in: "192.0.2.0/x", err: "Invalid CIDR notation value found."},
		{typ: "ip-src", in: "192.0.2.0/24/1", err: "Invalid CIDR notation value found."},
		{typ: "ip-src", in: "nope/24", err: badIP},
		{typ: "ip-dst", in: "2001:0DB8:0000:0000:0000:0000:0000:0001", want: "2001:db8::1"},
		{typ: "ip-dst", in: "2001:db8:0:0:1:0:0:1", want: "2001:db8::1:0:0:1"},
		{typ: "ip-dst", in: "2001:DB8::/32", want: "2001:db8::/32"},
		{typ: "ip-dst", in: "2001:db8:0::1/128", want: "2001:db8::1"},
		{typ: "ip-dst", in: "2001:db8::/129", err: "Invalid CIDR notation value found, for IPv6 must be lower or equal 128."},
		{typ: "ip-dst", in: "0:0:0:0:0:ffff:c000:0201", want: "::ffff:192.0.2.1"},
		{typ: "ip-dst", in: "0:0:0:0:0:0:c000:0201", want: "::192.0.2.1"},
		// MISP only compresses when the first ":" is not the first character.
		{typ: "ip-dst", in: "::0:1"},
		{typ: "ip-dst", in: "fe80::1%eth0", err: badIP},
		{typ: "ip-dst", in: "192[.]0[.]2[.]1", want: "192.0.2.1"},
		{typ: "ip-dst", in: "192(dot)0(dot)2(dot)1", want: "192.0.2.1"},
		{typ: "ip-dst|port", in: "192.0.2.1:443", want: "192.0.2.1|443"},
		{typ: "ip-dst|port", in: "192.0.2.1|443"},
		{typ: "ip-src|port", in: "[2001:DB8::1]:80", want: "2001:db8::1|80"},
		{typ: "ip-src|port", in: "2001:db8::1|80"},
		{typ: "ip-src|port", in: "2001:db8::1.80", want: "2001:db8::1|80"},
		{typ: "ip-src|port", in: "2001:db8::1 port 80", want: "2001:db8::1|80"},
		{typ: "ip-src|port", in: "2001:db8::1p80", want: "2001:db8::1|80"},
		{typ: "ip-src|port", in: "2001:db8::1#80", want: "2001:db8::1|80"},
		{typ: "ip-src|port", in: "2001:db8::1:80", want: "2001:db8::1|80"},
		// The ambiguous form keeps all but the last group as the address: seven groups.
		{typ: "ip-src|port", in: "2001:db8:0:0:0:0:1:80", err: badIP},
		{typ: "ip-dst|port", in: "192.0.2.1:0", err: badPort},
		{typ: "ip-dst|port", in: "192.0.2.1:65536", err: badPort},
		{typ: "ip-dst|port", in: "192.0.2.256:80", err: badIP},
		{typ: "ip-dst|port", in: "192.0.2.1", err: "Composite type found but the value not in the composite (value1|value2) format."},
		{typ: "port", in: "443"},
		{typ: "port", in: "0", err: badPort},
		{typ: "port", in: "http", err: badPort},
	})
}

func TestNormalizeValueNames(t *testing.T) {
	runValueCases(t, []valueCase{
		{typ: "domain", in: "Example.COM.", want: "example.com"},
		{typ: "domain", in: "..example.com", want: "example.com"},
		{typ: "domain", in: "example[.]com", want: "example.com"},
		{typ: "domain", in: "bücher.de", want: "xn--bcher-kva.de"},
		{typ: "domain", in: "_dmarc.example.com"},
		{typ: "domain", in: "localhost", err: `Domain has an invalid format. Please double check the value or select type "other".`},
		{typ: "domain", in: "exa mple.com", err: `Domain has an invalid format. Please double check the value or select type "other".`},
		{typ: "hostname", in: "WWW.Example.com", want: "www.example.com"},
		{typ: "hostname", in: "www(dot)example(dot)com", want: "www.example.com"},
		{typ: "hostname", in: "www.example.c", err: `Hostname has an invalid format. Please double check the value or select type "other".`},
		{typ: "hostname|port", in: "WWW.example.com:8080", want: "www.example.com|8080"},
		{typ: "hostname|port", in: "www.example.com|http", err: badPort},
		{typ: "hostname|port", in: "www|80", err: "Hostname has an invalid format."},
		{typ: "domain|ip", in: "Example.com.|2001:DB8:0::1", want: "example.com|2001:db8::1"},
		{typ: "domain|ip", in: "example.com|192.0.2.1|junk", want: "example.com|192.0.2.1"},
		{typ: "domain|ip", in: "example|192.0.2.1", err: "Domain has an invalid format."},
		{typ: "domain|ip", in: "example.com|192.0.2", err: badIP},
		{typ: "email", in: "John.Doe@Example.com", want: "john.doe@example.com"},
		{typ: "email-src", in: "john[at]example[.]com", want: "john@example.com"},
		{typ: "email-dst", in: "john[@]example[dot]com", want: "john@example.com"},
		{typ: "email", in: "john.example.com", err: `Email address has an invalid format. Please double check the value or select type "other".`},
		{typ: "email", in: "jo hn@example.com", err: `Email address has an invalid format. Please double check the value or select type "other".`},
		// eppn and jabber-id are checked as e-mail addresses but keep their case.
		{typ: "eppn", in: "Alice@Example.org"},
		{typ: "jabber-id", in: "alice", err: `Email address has an invalid format. Please double check the value or select type "other".`},
		{typ: "url", in: "hxxp://evil[.]example/a", want: "http://evil.example/a"},
		// Only the matched prefix becomes "http".
		{typ: "url", in: "HXXPS[:]//evil[dot]example", want: "httpS://evil.example"},
		{typ: "url", in: "[hxxp://]evil.example", want: "http://evil.example"},
		{typ: "url", in: "http://a\nb", err: "Value must not contain new line character."},
		{typ: "link", in: "https://www.misp-project.org/features.html"},
		{typ: "link", in: "meow://www.misp-project.org/", want: "http://www.misp-project.org/"},
		{typ: "link", in: "www.misp-project.org", err: badFormat},
		{typ: "link", in: "https://exa mple.org/", err: badFormat},
		{typ: "link", in: "http://exa_mple.org/", err: badFormat},
		{typ: "link", in: "https://[2001:db8::1]:8443/x"},
		{typ: "uri", in: "/wp-admin/install.php"},
		{typ: "onion-address", in: "ABCDEFGHIJKLMNOP.onion", want: "abcdefghijklmnop.onion"},
		// MISP's pattern refuses 56-character (v3) addresses.
		{typ: "onion-address", in: strings.Repeat("a", 56) + ".onion", err: "Onion address has an invalid format."},
		{typ: "mac-address", in: "00-1A-2B-3C-4D-5E", want: "00:1a:2b:3c:4d:5e"},
		{typ: "mac-address", in: "001a.2b3c.4d5e", want: "00:1a:2b:3c:4d:5e"},
		{typ: "mac-address", in: "00:1a:2b:3c:4d", err: badFormat},
		{typ: "mac-eui-64", in: "00:1A:2B:3C:4D:5E:6F:70", want: "00:1a:2b:3c:4d:5e:6f:70"},
		{typ: "mac-eui-64", in: "00:1a:2b:3c:4d:5e", err: badFormat},
	})
}

func TestNormalizeValueNumbersAndDates(t *testing.T) {
	const asMsg = "AS number have to be integer between 1 and 4294967295"
	runValueCases(t, []valueCase{
		{typ: "AS", in: "AS13335", want: "13335"},
		{typ: "AS", in: "as13335", want: "13335"},
		{typ: "AS", in: "13335"},
		{typ: "AS", in: "AS1.10", want: "65546"},
		{typ: "AS", in: "4294967295"},
		{typ: "AS", in: "4294967296", err: asMsg},
		{typ: "AS", in: "AS", err: "Value cannot be empty."},
		{typ: "AS", in: "ASN13335", err: asMsg},
		{typ: "AS", in: "AS-1", err: asMsg},
		{typ: "datetime", in: "2024-03-05T12:34:56Z", want: "2024-03-05T12:34:56.000000+0000"},
		{typ: "datetime", in: "2024-03-05T12:34:56+02:00", want: "2024-03-05T12:34:56.000000+0200"},
		{typ: "datetime", in: "2024-03-05 12:34", want: "2024-03-05T12:34:00.000000+0000"},
		{typ: "datetime", in: "2024-03-05", want: "2024-03-05T00:00:00.000000+0000"},
		{typ: "datetime", in: "2024-03-05T12:34:56.123456789-0530", want: "2024-03-05T12:34:56.123456-0530"},
		{typ: "datetime", in: "2024-03-05T12:34:56.5 UTC", want: "2024-03-05T12:34:56.500000+0000"},
		{typ: "datetime", in: "2023-02-29T00:00:00", want: "2023-03-01T00:00:00.000000+0000"},
		{typ: "datetime", in: "2024-03-05T12:34:56.000000+0000"},
		{typ: "datetime", in: "@0", want: "1970-01-01T00:00:00.000000+0000"},
		{typ: "datetime", in: "2024-13-01", err: "Datetime has to be in the ISO 8601 format."},
		{typ: "datetime", in: "yesterday-ish", err: "Datetime has to be in the ISO 8601 format."},
		{typ: "size-in-bytes", in: "1024"},
		{typ: "size-in-bytes", in: "-1", err: "The value has to be a whole number greater or equal 0."},
		{typ: "counter", in: "1.5", err: "The value has to be a whole number greater or equal 0."},
		{typ: "integer", in: "-42"},
		{typ: "integer", in: "4.2", err: "The value has to be an integer value."},
		{typ: "float", in: "4.2"},
		{typ: "float", in: "-1e3"},
		{typ: "float", in: ".5"},
		{typ: "float", in: "four", err: badFormat},
		{typ: "boolean", in: "True", want: "1"},
		{typ: "boolean", in: "false", want: "0"},
		{typ: "boolean", in: "0", want: "0"},
		{typ: "boolean", in: "no", want: "1"},
		{typ: "hex", in: "deadBEEF", want: "DEADBEEF"},
		{typ: "hex", in: "0xdead", err: badFormat},
		{typ: "cc-number", in: "4111 1111-1111 1111", want: "4111111111111111"},
		{typ: "bin", in: "no digits", err: "Value cannot be empty."},
		{typ: "iban", in: "de89 3704 0044 0532 0130 00", want: "DE89370400440532013000"},
		{typ: "bic", in: "deutdeff", want: "DEUTDEFF"},
		{typ: "phone-number", in: "0044 (0)20 7946 0958", want: "+442079460958"},
		{typ: "whois-registrant-phone", in: "+1-202-555-0100", want: "+12025550100"},
		{typ: "prtn", in: "+", err: badFormat},
		{typ: "btc", in: "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},
		{typ: "xmr", in: "4-x", err: badFormat},
		{typ: "cortex", in: `{"a":1}`},
		{typ: "cortex", in: `{"a":`, err: badFormat},
	})
}

func TestNormalizeValueTextTypes(t *testing.T) {
	runValueCases(t, []valueCase{
		{typ: "vulnerability", in: "cve-2021-44228", want: "CVE-2021-44228"},
		{typ: "vulnerability", in: "CVE\u20132021\u201344228", want: "CVE-2021-44228"},
		{typ: "vulnerability", in: "CVE-21-44228", err: "Invalid format. Expected: CVE-xxxx-xxxx..."},
		{typ: "weakness", in: "cwe-79", want: "CWE-79"},
		{typ: "weakness", in: "CWE-", err: "Invalid format. Expected: CWE-x..."},
		{typ: "http-method", in: "post", want: "POST"},
		{typ: "http-method", in: "FETCH", err: "Unknown HTTP method."},
		{typ: "cpe", in: "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*"},
		{typ: "ssh-fingerprint", in: "MD5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e"},
		{typ: "ssh-fingerprint", in: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"},
		{typ: "ssh-fingerprint", in: "SHA256:abc", err: "SSH fingerprint must be in MD5 or SHA256 format."},
		{typ: "windows-service-name", in: "svchost"},
		{typ: "windows-service-name", in: `C:\svc`, err: "Invalid format. Only values shorter than 256 characters that don't include any forward or backward slashes are allowed."},
		{typ: "filename", in: "a\nb.exe", err: "Value must not contain new line character."},
		{typ: "text", in: "line one\nline two"},
		{typ: "comment", in: "  padded  ", want: "padded"},
		{typ: "text", in: "emoji \U0001F600 here", want: "emoji ? here"},
		{typ: "text", in: "", err: "Value cannot be empty."},
		{typ: "text", in: " \t\n", err: "Value cannot be empty."},
		{typ: "text", in: "0"},
		{typ: "text", in: "\x01\x02", err: "Value provided consists purely of control characters and is therefore considered to be empty."},
		{typ: "regkey|value", in: "\x01|x", err: "Value provided consists purely of control characters and is therefore considered to be empty."},
		{typ: "text", in: strings.Repeat("a", 65536), err: "The entered string is too long and would get truncated. Please consider adding the data as an attachment instead"},
		{typ: "text", in: strings.Repeat("a", 65535)},
	})
}

// TestNormalizeValueSettles: where MISP's one pass leaves a value its next save would
// change, the value is taken to where it settles.
func TestNormalizeValueSettles(t *testing.T) {
	runValueCases(t, []valueCase{
		// MISP keeps "john@mail.example[dot]com" (refanging is case-sensitive and comes before
		// lower-casing) and would refang it on its next save.
		{typ: "email", in: "john@mail.example[DOT]com", want: "john@mail.example.com"},
		{typ: "email", in: "john@example[DOT]com", err: `Email address has an invalid format. Please double check the value or select type "other".`},
		{typ: "url", in: "http://a[[.]]b", want: "http://a.b"},
		// MISP refuses "ASAS1" on its first pass ("AS1" is not a number): so does this.
		{typ: "AS", in: "ASAS1", err: "AS number have to be integer between 1 and 4294967295"},
	})
}

// TestNormalizeValueEveryType: every type of MISP's describeTypes is handled (a value
// made for it is accepted) and normalising what comes back changes nothing.
func TestNormalizeValueEveryType(t *testing.T) {
	sample := map[string]string{
		"ip-src": "192.0.2.1", "ip-dst": "192.0.2.1", "port": "80", "AS": "1", "datetime": "2024-01-01",
		"domain": "example.com", "hostname": "example.com", "link": "https://example.com/", "mac-address": "00:00:00:00:00:00",
		"mac-eui-64": "00:00:00:00:00:00:00:00", "onion-address": "abcdefghijklmnop.onion", "vulnerability": "CVE-2020-0001",
		"weakness": "CWE-1", "http-method": "GET", "boolean": "1", "float": "1", "integer": "1", "counter": "1",
		"size-in-bytes": "1", "ssdeep": "3:a:b", "impfuzzy": "3:a:b", "tlsh": tlshVal, "telfhash": strings.Repeat("a", 70),
		"cdhash": sha1Val, "cortex": "{}", "ssh-fingerprint": md5, "hex": "AB", "pehash": sha1Val,
	}
	for _, typ := range describeTypes(t) {
		v, ok := sample[typ]
		switch {
		case ok:
		case hashHexLength[typ] > 0:
			v = strings.Repeat("a", hashHexLength[typ])
		case strings.HasPrefix(typ, "filename|"):
			h := strings.TrimPrefix(typ, "filename|")
			v = "a.exe|" + strings.Repeat("a", max(hashHexLength[h], 1))
			if s, ok := sample[h]; ok {
				v = "a.exe|" + s
			}
		case strings.HasPrefix(typ, "email") && !strings.Contains(typ, "display") && !strings.Contains(typ, "-") ||
			typ == "email-src" || typ == "email-dst" || strings.HasSuffix(typ, "-email") || typ == "eppn" || typ == "jabber-id":
			v = "a@example.com"
		case typ == "domain|ip":
			v = "example.com|192.0.2.1"
		case typ == "hostname|port":
			v = "example.com|80"
		case strings.HasSuffix(typ, "|port"):
			v = "192.0.2.1|80"
		case IsComposite(typ):
			v = "a|b"
		case typ == "phone-number" || typ == "whois-registrant-phone" || typ == "prtn" || typ == "bin" ||
			typ == "cc-number" || typ == "bank-account-nr" || typ == "aba-rtn":
			v = "12345"
		default:
			v = "A1"
		}
		got, err := NormalizeValue(typ, v)
		if err != nil {
			t.Errorf("%s %q refused: %v", typ, v, err)
			continue
		}
		if again, err := NormalizeValue(typ, got); err != nil || again != got {
			t.Errorf("%s: %q normalises to %q, then to %q (%v)", typ, v, got, again, err)
		}
	}
}

// TestNormalizeDropsWhatMISPRefuses: an event arriving (sync, import, feed) keeps its
// attributes in MISP's form; one MISP refuses is left out with its reason, the rest of
// the event kept, as MISP stores it.
func TestNormalizeDropsWhatMISPRefuses(t *testing.T) {
	doc := `{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","Attribute":[
		{"uuid":"00000000-0000-4000-8000-000000000001","type":"ip-dst","value":"999.1.1.1"},
		{"uuid":"00000000-0000-4000-8000-000000000002","type":"ip-dst|port","value":"192.0.2.1:443"},
		{"uuid":"00000000-0000-4000-8000-000000000003","type":"md5","value":"` + strings.ToUpper(md5) + `"},
		{"uuid":"00000000-0000-4000-8000-000000000004","type":"text","value":""},
		{"uuid":"00000000-0000-4000-8000-000000000005","type":"","value":"x"}],
	  "Object":[{"name":"file","uuid":"00000000-0000-4000-8000-0000000000a0","Attribute":[
		{"uuid":"00000000-0000-4000-8000-000000000006","type":"datetime","object_relation":"t","value":"2024-03-05T12:34:56Z"},
		{"uuid":"00000000-0000-4000-8000-000000000007","type":"sha1","object_relation":"h","value":"nope"}]}]}}`
	e, err := ParseEvent([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, a := range e.Attribute {
		kept = append(kept, a.Type+"="+a.Value)
	}
	for _, a := range e.Object[0].Attribute {
		kept = append(kept, a.Type+"="+a.Value)
	}
	want := []string{"ip-dst|port=192.0.2.1|443", "md5=" + md5, "datetime=2024-03-05T12:34:56.000000+0000"}
	if !slices.Equal(kept, want) {
		t.Errorf("kept %q, want %q", kept, want)
	}
	var dropped []string
	for _, d := range e.Dropped {
		dropped = append(dropped, d.Where+" "+d.UUID[len(d.UUID)-1:]+": "+d.Reason)
	}
	wantDropped := []string{
		"Attribute[0] 1: IP address has an invalid format.",
		"Attribute[3] 4: Value cannot be empty.",
		"Attribute[4] 5: No type set.",
		"Object[0].Attribute[1] 7: " + checksum("40"),
	}
	if !slices.Equal(dropped, wantDropped) {
		t.Errorf("dropped %q, want %q", dropped, wantDropped)
	}
	out, err := MarshalEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "Dropped") || strings.Contains(string(out), "999.1.1.1") {
		t.Errorf("the encoded event carries what was dropped: %s", out)
	}
}

// describeTypes is every attribute type of MISP's table, read from the embedded copy.
func describeTypes(tb testing.TB) []string {
	raw, err := os.ReadFile("../../assets/data/describeTypes.json")
	if err != nil {
		tb.Fatal(err)
	}
	var dt struct {
		Result struct {
			Types []string `json:"types"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &dt); err != nil {
		tb.Fatal(err)
	}
	return dt.Result.Types
}

// FuzzNormalizeValue: no value of any type panics, and a value taken is taken again
// unchanged. The type is picked from MISP's table by index so every run covers real types.
func FuzzNormalizeValue(f *testing.F) {
	types := describeTypes(f)
	seeds := [][2]string{
		{"ip-dst|port", "192.0.2.1:443"}, {"ip-src|port", "[2001:db8::1]:80"}, {"ip-dst", "2001:DB8:0::1/128"},
		{"domain", "Bücher.DE."}, {"domain|ip", "a.b|::1|c"}, {"url", "hxxp://a[.]b[:]80"}, {"email", "a[at]b[DOT]c"},
		{"datetime", "2024-03-05T12:34:56.5+02:00"}, {"AS", "AS1.2"}, {"mac-address", "00-1a-2b-3c-4d-5e"},
		{"filename|md5", "A|" + md5}, {"boolean", "True"}, {"phone-number", "00 (0)1"}, {"hostname|port", "A:1"},
		{"link", "https://[::1]:8/"}, {"text", "\U0001F600"}, {"x509-fingerprint-sha1", "AA:BB"}, {"vulnerability", "cve\u20131"},
	}
	for _, s := range seeds {
		f.Add(uint16(slices.Index(types, s[0])), s[1])
	}
	f.Fuzz(func(t *testing.T, k uint16, value string) {
		typ := types[int(k)%len(types)]
		got, err := NormalizeValue(typ, value)
		if err != nil {
			return
		}
		again, err := NormalizeValue(typ, got)
		if err != nil {
			t.Fatalf("%s %q: normalised to %q, which is refused: %v", typ, value, got, err)
		}
		if again != got {
			t.Fatalf("%s %q: normalised to %q, then to %q", typ, value, got, again)
		}
	})
}

func BenchmarkNormalizeValue(b *testing.B) {
	cases := [][2]string{
		{"ip-dst", "192.0.2.1"}, {"domain", "www.example.com"}, {"sha256", sha256}, {"url", "https://example.com/a"},
		{"datetime", "2024-03-05T12:34:56.000000+0000"}, {"filename|md5", "a.exe|" + md5}, {"text", "some free text"},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c := cases[i%len(cases)]
		if _, err := NormalizeValue(c[0], c[1]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNormalizeSeenAndReports: first_seen and last_seen in MISP's stored form (UTC,
// microseconds), whatever ISO 8601 form they came in, as a real MISP 2.5.1 answered the
// same events/add; an attribute or an object last seen before it was first seen, and a
// report without a name, are left out as MISP leaves them out (the object's attributes
// listed as dropped with its reason).
func TestNormalizeSeenAndReports(t *testing.T) {
	doc := `{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","Attribute":[
		{"uuid":"00000000-0000-4000-8000-000000000001","type":"comment","value":"a","first_seen":"2026-11-01T00:00:00Z","last_seen":"2026-12-01T10:00:00Z"},
		{"uuid":"00000000-0000-4000-8000-000000000002","type":"comment","value":"b","first_seen":"2026-11-01","last_seen":"2026-12-01 10:00:00"},
		{"uuid":"00000000-0000-4000-8000-000000000003","type":"comment","value":"c","first_seen":"2026-11-01T00:00:00+02:00"},
		{"uuid":"00000000-0000-4000-8000-000000000004","type":"comment","value":"d","first_seen":"2026-12-01T00:00:00.123456789Z","last_seen":"2026-12-01T00:00:00.123456Z"},
		{"uuid":"00000000-0000-4000-8000-000000000005","type":"comment","value":"e","first_seen":"2026-12-01T00:00:00Z","last_seen":"2026-11-01T00:00:00Z"}],
	  "Object":[{"name":"x","uuid":"00000000-0000-4000-8000-0000000000a0","first_seen":"2026-12-01","last_seen":"2026-11-01","Attribute":[
		{"uuid":"00000000-0000-4000-8000-000000000006","type":"text","object_relation":"t","value":"in a refused object"}]},
		{"name":"y","uuid":"00000000-0000-4000-8000-0000000000b0","first_seen":"2026-11-01T12:00:00-0130","Attribute":[
		{"uuid":"00000000-0000-4000-8000-000000000007","type":"text","object_relation":"t","value":"kept"}]}],
	  "EventReport":[{"uuid":"00000000-0000-4000-8000-0000000000c0","name":"  ","content":"nameless"},
		{"uuid":"00000000-0000-4000-8000-0000000000c1","name":"named","content":"kept"}]}}`
	e, err := ParseEvent([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, a := range e.Attribute {
		kept = append(kept, a.Value+" "+string(a.FirstSeen)+" "+string(a.LastSeen))
	}
	want := []string{
		"a 2026-11-01T00:00:00.000000+00:00 2026-12-01T10:00:00.000000+00:00",
		"b 2026-11-01T00:00:00.000000+00:00 2026-12-01T10:00:00.000000+00:00",
		"c 2026-10-31T22:00:00.000000+00:00 ",
		"d 2026-12-01T00:00:00.123456+00:00 2026-12-01T00:00:00.123456+00:00",
	}
	if !slices.Equal(kept, want) {
		t.Errorf("kept %q, want %q", kept, want)
	}
	if len(e.Object) != 1 || e.Object[0].Name != "y" || e.Object[0].FirstSeen != "2026-11-01T13:30:00.000000+00:00" {
		t.Errorf("objects %+v, want only y, first seen 2026-11-01T13:30:00.000000+00:00", e.Object)
	}
	var dropped []string
	for _, d := range e.Dropped {
		dropped = append(dropped, d.Where+" "+d.UUID[len(d.UUID)-1:]+": "+d.Reason)
	}
	wantDropped := []string{
		"Attribute[4] 5: last_seen: Last seen value should be greater than first seen value",
		"Object[0].Attribute[0] 6: its object: last_seen: Last seen value should be greater than first seen value",
	}
	if !slices.Equal(dropped, wantDropped) {
		t.Errorf("dropped %q, want %q", dropped, wantDropped)
	}
	if len(e.EventReport) != 1 || e.EventReport[0].Name != "named" {
		t.Errorf("reports %+v, want only the named one", e.EventReport)
	}
}

// TestNormalizeSeenForms: the forms of first_seen that PHP's strtotime reads (MISP
// validates them with it, datetimeOrNull) come out as PHP 8.2's DateTime in GMT made them
// on the machine that ran MISP 2.5.1 (and PHP 8.2's strtotime for the days past a month's
// end and the zone abbreviations); those it refuses (a bare Unix time, a word, a
// thirteenth month, a 32nd day, hour 25) are refused with MISP's field and message, and an attribute holding
// one is dropped with that reason.
func TestNormalizeSeenForms(t *testing.T) {
	for in, want := range map[string]string{
		"@1700000000":                     "2023-11-14T22:13:20.000000+00:00",
		"2026/11/01":                      "2026-11-01T00:00:00.000000+00:00",
		"2026/11/01 10:00:00":             "2026-11-01T10:00:00.000000+00:00",
		"Nov 1 2026":                      "2026-11-01T00:00:00.000000+00:00",
		"1 Nov 2026":                      "2026-11-01T00:00:00.000000+00:00",
		"Sun, 01 Nov 2026 10:00:00 +0100": "2026-11-01T09:00:00.000000+00:00",
		"2026-11-01T10:00:00.123+01:00":   "2026-11-01T09:00:00.123000+00:00",
		"2026-11-01T10:00:00+0100":        "2026-11-01T09:00:00.000000+00:00",
		"20261101":                        "2026-11-01T00:00:00.000000+00:00",
		"20261101T100000":                 "2026-11-01T10:00:00.000000+00:00",
		"2026-11-01 10:00:00 UTC":         "2026-11-01T10:00:00.000000+00:00",
		"11/01/2026":                      "2026-11-01T00:00:00.000000+00:00",
		"2026-11":                         "2026-11-01T00:00:00.000000+00:00",
		// days past the month's end and hour 24 carry over
		"2026-02-30":                 "2026-03-02T00:00:00.000000+00:00",
		"2026-02-31 10:00:00":        "2026-03-03T10:00:00.000000+00:00",
		"2026-04-31":                 "2026-05-01T00:00:00.000000+00:00",
		"2026-00-10":                 "2025-12-10T00:00:00.000000+00:00",
		"2026-02-00":                 "2026-01-31T00:00:00.000000+00:00",
		"2026/02/30":                 "2026-03-02T00:00:00.000000+00:00",
		"02/30/2026":                 "2026-03-02T00:00:00.000000+00:00",
		"2026-2-30":                  "2026-03-02T00:00:00.000000+00:00",
		"20260230":                   "2026-03-02T00:00:00.000000+00:00",
		"2026-11-01 24:00:00":        "2026-11-02T00:00:00.000000+00:00",
		"2026-11-01T24:00":           "2026-11-02T00:00:00.000000+00:00",
		"2026-11-01 24:30":           "2026-11-02T00:30:00.000000+00:00",
		"2026-02-30 10:00:60":        "2026-03-02T10:01:00.000000+00:00",
		"2026-02-30 10:00:59.123456": "2026-03-02T10:00:59.123456+00:00",
		"2026-02-30T10:00:00+02:00":  "2026-03-02T08:00:00.000000+00:00",
		// zone abbreviations, as strtotime's table reads them; a stated zone wins
		"2026-11-01 10:00 CET":          "2026-11-01T09:00:00.000000+00:00",
		"2026-11-01 10:00 cet":          "2026-11-01T09:00:00.000000+00:00",
		"2026-11-01T10:00:00 CEST":      "2026-11-01T08:00:00.000000+00:00",
		"2026-11-01 10:00:00 EST":       "2026-11-01T15:00:00.000000+00:00",
		"2026-11-01 10:00 IST":          "2026-11-01T08:00:00.000000+00:00",
		"2026-11-01 10:00 A":            "2026-11-01T09:00:00.000000+00:00",
		"2026-11-01 10:00:00.5 CET":     "2026-11-01T09:00:00.500000+00:00",
		"2026-11-01 CET":                "2026-10-31T23:00:00.000000+00:00",
		"Nov 1 2026 10:00:00 CET":       "2026-11-01T09:00:00.000000+00:00",
		"1/2/2026 10:00:00 CET":         "2026-01-02T09:00:00.000000+00:00",
		"20261101T100000 CET":           "2026-11-01T09:00:00.000000+00:00",
		"2026-11-01T10:00:00+02:00 CET": "2026-11-01T08:00:00.000000+00:00",
	} {
		first, _, err := NormalizeSeen(Text(in), "")
		if err != nil || string(first) != want {
			t.Errorf("NormalizeSeen(%q) = %q, %v; want %q", in, first, err, want)
		}
	}
	for _, in := range []string{"1700000000", "1700000000000", "garbage", "2026-13-45", "2026.11.01",
		"2026-02-32", "2026-13-01", "2026-02-29T25:00:00", "2026-11-01 10:60:00", "2026-11-01 10:00:00 EST5EDT"} {
		_, _, err := NormalizeSeen("2026-11-01", Text(in))
		var se *SeenError
		if !errors.As(err, &se) || se.Field != "last_seen" || se.Message != "Invalid ISO 8601 format" {
			t.Errorf("NormalizeSeen(last_seen %q): %v, want last_seen: Invalid ISO 8601 format", in, err)
		}
	}
	e, err := ParseEvent([]byte(`{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","Attribute":[
		{"uuid":"00000000-0000-4000-8000-000000000001","type":"comment","value":"bare","first_seen":"1700000000"},
		{"uuid":"00000000-0000-4000-8000-000000000002","type":"comment","value":"at","first_seen":"@1700000000"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Attribute) != 1 || e.Attribute[0].Value != "at" {
		t.Errorf("kept %+v, want only the @ form", e.Attribute)
	}
	if len(e.Dropped) != 1 || e.Dropped[0].Reason != "first_seen: Invalid ISO 8601 format" {
		t.Errorf("dropped %+v, want the bare Unix time with MISP's reason", e.Dropped)
	}
}
