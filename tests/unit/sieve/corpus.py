"""Scripts and messages for the Pigeonhole differential: RFC examples, each extension, edges.

A case is (name, script, message key, envelope sender, envelope recipient).
"""

from __future__ import annotations

PLAIN = (
    b"Return-Path: <bob@example.org>\r\n"
    b"Received: from mx.example.org by mx.example.com; Thu, 03 Dec 2026 09:00:00 +0000\r\n"
    b"Received: from laptop by mx.example.org; Thu, 03 Dec 2026 08:59:00 +0100\r\n"
    b"From: Bob Sender <bob@example.org>\r\n"
    b'To: User <user@example.com>, "Other, Person" <other@example.net>\r\n'
    b"Cc: carol+lists@example.com\r\n"
    b"Subject: Hello there, MAKE MONEY fast\r\n"
    b"Date: Thu, 03 Dec 2026 10:30:05 +0100\r\n"
    b"Message-ID: <plain@example.org>\r\n"
    b"X-Spam-Score: 7\r\n"
    b"X-Priority: 1\r\n"
    b"X-Priority: 3\r\n"
    b"\r\n"
    b"Hi,\r\nthis is the body with a secret word: banana.\r\n"
)
PLUS = (
    b"From: news@shop.example\r\n"
    b"To: user+news@example.com\r\n"
    b"Subject: =?UTF-8?B?Q2Fmw6kgb2ZmZXJz?=\r\n"
    b"Date: Mon, 30 Nov 2026 23:15:00 -0800\r\n"
    b"Message-ID: <plus@shop.example>\r\n"
    b"\r\n"
    b"Deals of the week.\r\n"
)
LIST = (
    b"From: announce@lists.example.org\r\n"
    b"To: user@example.com\r\n"
    b"List-Id: Announcements <announce.lists.example.org>\r\n"
    b"Precedence: list\r\n"
    b"Subject: [announce] release 1.0\r\n"
    b"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\n"
    b"\r\n"
    b"Release notes.\r\n"
)
AUTO = (
    b"From: robot@example.org\r\n"
    b"To: user@example.com\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"Subject: Out of office\r\n"
    b"\r\n"
    b"Away.\r\n"
)
MULTIPART = (
    b"From: alice@example.net\r\n"
    b"To: team@example.com\r\n"
    b"Bcc: user@example.com\r\n"
    b"Subject: report\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"The quarterly figures are attached. Caf=C3=A9.\r\n"
    b"--b1\r\n"
    b"Content-Type: text/html\r\n"
    b"\r\n"
    b"<p>html part with orange</p>\r\n"
    b"--b1\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"c2VjcmV0IGF0dGFjaG1lbnQ=\r\n"
    b"--b1--\r\n"
)
GROUP = (
    b"From: Team <team@example.org>\r\n"
    b"To: undisclosed-recipients:;\r\n"
    b'Cc: friends: ann@example.net, "B. B." <bb@example.net>;, solo@example.net\r\n'
    b"Subject:\r\n"
    b"X-Num: 007\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/html; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"<html><body><p>Gr=FC=DFe aus <b>K=F6ln</b></p></body></html>\r\n"
)
MESSAGES = {
    "group": GROUP,
    "plain": PLAIN,
    "plus": PLUS,
    "list": LIST,
    "auto": AUTO,
    "multipart": MULTIPART,
}

# Scripts that `include` (RFC 6609) finds: (location, name) -> text.
INCLUDED = {
    ("personal", "sub"): 'require "fileinto";\nfileinto "fromsub";\n',
    ("global", "sub"): 'require "fileinto";\nfileinto "fromglobal";\n',
    (
        "personal",
        "ret",
    ): 'require ["fileinto", "include"];\nfileinto "r1";\nreturn;\nfileinto "r2";\n',
    ("personal", "halt"): 'require "fileinto";\nfileinto "h1";\nstop;\n',
    ("personal", "self"): 'require "include";\ninclude "self";\n',
    ("personal", "usevar"): 'require ["include", "variables", "fileinto"];\nglobal "box";\n'
    'fileinto "${box}";\n',
    ("personal", "localvar"): 'require ["variables", "fileinto"];\nfileinto "x${box}y";\n',
    (
        "personal",
        "setvar",
    ): 'require ["include", "variables"];\nglobal "box";\nset "box" "fromsub";\n',
}

BOB = "bob@example.org"
USER = "user@example.com"


def case(
    name: str, script: str, message: str = "plain", sender: str = BOB, recipient: str = USER
) -> tuple[str, str, str, str, str]:
    """One corpus case: (name, script, MESSAGES key, envelope sender, envelope recipient)."""
    return name, script, message, sender, recipient


CASES: list[tuple[str, str, str, str, str]] = [
    # ---- RFC 5228 core ----
    case("empty script keeps", ""),
    case("comment only", "# nothing\n/* block\ncomment */\n"),
    case("explicit keep", "keep;"),
    case("discard", "discard;"),
    case("stop before discard", "stop;\ndiscard;"),
    case("redirect", 'redirect "x@example.net";'),
    case("redirect twice is once", 'redirect "x@example.net";\nredirect "x@example.net";'),
    case("header contains", 'if header :contains "subject" "money" { discard; }'),
    case(
        "header is case-insensitive",
        'if header :is "Subject" "hello there, make money fast" { discard; }',
    ),
    case(
        "header octet is exact",
        'if header :comparator "i;octet" :is "Subject" "hello there, make money fast" { discard; }',
    ),
    case("header matches", 'if header :matches "subject" "Hello*fast" { discard; }'),
    case("header matches question mark", 'if header :matches "x-spam-score" "?" { discard; }'),
    case("header matches escaped star", 'if header :matches "subject" "Hello\\\\*" { discard; }'),
    case("header empty contains exists", 'if header :contains "x-priority" "" { discard; }'),
    case("header missing", 'if header :contains "x-missing" "" { discard; }'),
    case("header second value", 'if header :is "x-priority" "3" { discard; }'),
    case(
        "header decoded 2047", 'if header :contains "subject" "Café" { discard; }', message="plus"
    ),
    case("address all", 'if address :is "from" "bob@example.org" { discard; }'),
    case("address domain", 'if address :domain :is "to" "example.net" { discard; }'),
    case("address localpart", 'if address :localpart :is "cc" "carol+lists" { discard; }'),
    case("address display name ignored", 'if address :contains "from" "Sender" { discard; }'),
    case("address quoted comma", 'if address :is "to" "other@example.net" { discard; }'),
    case("exists all", 'if exists ["from", "date"] { discard; }'),
    case("exists one missing", 'if exists ["from", "x-nope"] { discard; }'),
    case("size over", "if size :over 100 { discard; }"),
    case("size under K", "if size :under 1K { discard; }"),
    case("size over M", "if size :over 1M { discard; }"),
    case(
        "allof anyof not",
        'if allof (not exists "x-nope", anyof (false, header :contains "from" "bob")) { discard; }',
    ),
    case(
        "if elsif else",
        'if false { discard; } elsif true { redirect "a@example.net"; } else { keep; }',
    ),
    case("multiline text reason", 'require "reject";\nreject text:\nline one\n..dotted\n.\n;'),
    case("quoted escapes", 'if header :contains "subject" "\\H\\ello" { discard; }'),
    # ---- errors ----
    case("unknown command", "frobnicate;"),
    case("missing require", 'fileinto "x";'),
    case("unknown extension", 'require "nonexistent-ext";'),
    case("missing semicolon", "keep\ndiscard;"),
    case("unterminated string", 'if header :is "subject "x" { keep; }'),
    case("else without if", "else { keep; }"),
    case("require after command", 'keep;\nrequire "fileinto";'),
    case("bad comparator", 'if header :comparator "i;nope" :is "s" "x" { keep; }'),
    case("size without tag", "if size 100 { keep; }"),
    case("two match types", 'if header :is :contains "s" "x" { keep; }'),
    case("unknown tag", 'if header :frob "s" "x" { keep; }'),
    case("missing test", "if { keep; }"),
    # ---- fileinto, copy, mailbox ----
    case("fileinto", 'require "fileinto";\nfileinto "Work";'),
    case("fileinto and keep", 'require "fileinto";\nfileinto "Work";\nkeep;'),
    case("fileinto INBOX dedup", 'require "fileinto";\nfileinto "INBOX";\nkeep;'),
    case("fileinto copy", 'require ["fileinto", "copy"];\nfileinto :copy "Work";'),
    case("redirect copy", 'require "copy";\nredirect :copy "x@example.net";'),
    case("copy not required", 'redirect :copy "x@example.net";'),
    case("fileinto create", 'require ["fileinto", "mailbox"];\nfileinto :create "New";'),
    case(
        "mailboxexists INBOX",
        'require ["fileinto", "mailbox"];\nif mailboxexists "INBOX" { fileinto "Yes"; }',
    ),
    # ---- reject ----
    case("reject", 'require "reject";\nreject "not wanted";'),
    case(
        "reject with fileinto conflicts",
        'require ["reject", "fileinto"];\nfileinto "a";\nreject "x";',
    ),
    case("reject with discard", 'require "reject";\ndiscard;\nreject "x";'),
    # ---- envelope, subaddress ----
    case(
        "envelope from",
        'require "envelope";\nif envelope :is "from" "bob@example.org" { discard; }',
    ),
    case(
        "envelope to domain",
        'require "envelope";\nif envelope :domain :is "to" "example.com" { discard; }',
    ),
    case(
        "envelope null sender",
        'require "envelope";\nif envelope :is "from" "" { discard; }',
        sender="",
    ),
    case(
        "subaddress detail",
        'require ["envelope", "subaddress", "fileinto"];\nif envelope :detail "to" "news" { fileinto "news"; }',
        message="plus",
        recipient="user+news@example.com",
    ),
    case(
        "subaddress user",
        'require ["envelope", "subaddress", "fileinto"];\nif envelope :user "to" "user" { fileinto "u"; }',
        message="plus",
        recipient="user+news@example.com",
    ),
    case(
        "subaddress no detail",
        'require ["envelope", "subaddress"];\nif envelope :detail :matches "to" "*" { discard; }',
    ),
    case(
        "subaddress empty detail",
        'require ["envelope", "subaddress"];\nif envelope :detail :is "to" "" { discard; }',
        recipient="user+@example.com",
    ),
    case(
        "subaddress header", 'require ["subaddress"];\nif address :detail "cc" "lists" { discard; }'
    ),
    # ---- imap4flags ----
    case("addflag keep", 'require "imap4flags";\naddflag "\\\\Seen";\nkeep;'),
    case("flags on implicit keep", 'require "imap4flags";\nsetflag ["\\\\Flagged", "$Work"];'),
    case("removeflag", 'require "imap4flags";\nsetflag "a b c";\nremoveflag "B";'),
    case(
        "fileinto flags tag",
        'require ["imap4flags", "fileinto"];\naddflag "x";\nfileinto :flags "\\\\Answered" "F";\nfileinto "G";',
    ),
    case(
        "hasflag",
        'require "imap4flags";\naddflag "seen-it";\nif hasflag :is "seen-it" { discard; }',
    ),
    case(
        "flag variable",
        'require ["imap4flags", "variables"];\nset "f" "";\naddflag "f" "one";\nif hasflag "f" "one" { discard; }',
    ),
    # ---- variables ----
    case(
        "set and use", 'require ["variables", "fileinto"];\nset "box" "Work";\nfileinto "${box}";'
    ),
    case(
        "match variables",
        'require ["variables", "fileinto"];\nif header :matches "subject" "* there, *" { fileinto "${1}-${2}"; }',
    ),
    case(
        "rfc5229 list example",
        'require ["variables", "fileinto"];\nif header :matches "List-ID" "*<*@*" { fileinto "INBOX.lists.${2}"; stop; }',
        message="list",
    ),
    case(
        "rfc5229 subject example",
        'require ["variables", "fileinto"];\nif header :matches "Subject" "[*] *" { fileinto "${1}"; }',
        message="list",
    ),
    case(
        "modifiers",
        'require ["variables", "fileinto"];\nset :upper "a" "work";\nset :lowerfirst "b" "ABC";\nset :length "c" "12345";\nfileinto "${a}${b}${c}";',
    ),
    case(
        "quotewildcard",
        'require ["variables"];\nset :quotewildcard "q" "a*b";\nif string :is "${q}" "a\\\\*b" { discard; }',
    ),
    case("unknown variable empty", 'require ["variables", "fileinto"];\nfileinto "x${nope}y";'),
    case(
        "string test",
        'require "variables";\nset "a" "hello";\nif string :contains "${a}" "ell" { discard; }',
    ),
    case(
        "string empty count",
        'require ["variables", "relational"];\nif string :count "eq" :comparator "i;ascii-numeric" "" "0" { discard; }',
    ),
    case(
        "variable case-insensitive name",
        'require ["variables", "fileinto"];\nset "Box" "W";\nfileinto "${BOX}";',
    ),
    case(
        "match var survives failed test",
        'require ["variables", "fileinto"];\nif header :matches "from" "*@*" { }\nif header :matches "from" "nomatch*" { }\nfileinto "${2}";',
    ),
    # ---- relational ----
    case(
        "value gt numeric",
        'require ["relational", "comparator-i;ascii-numeric"];\nif header :value "gt" :comparator "i;ascii-numeric" "x-spam-score" "5" { discard; }',
    ),
    case(
        "value lt casemap",
        'require "relational";\nif header :value "lt" "subject" "I" { discard; }',
    ),
    case(
        "count headers",
        'require ["relational", "comparator-i;ascii-numeric"];\nif header :count "eq" :comparator "i;ascii-numeric" "x-priority" "2" { discard; }',
    ),
    case(
        "count addresses",
        'require ["relational", "comparator-i;ascii-numeric"];\nif address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3" { discard; }',
    ),
    case(
        "numeric non-digit is infinity",
        'require ["relational", "comparator-i;ascii-numeric"];\nif header :value "gt" :comparator "i;ascii-numeric" "subject" "99999" { discard; }',
    ),
    case("bad relation", 'require "relational";\nif header :value "xx" "s" "1" { keep; }'),
    # ---- body ----
    case("body contains", 'require "body";\nif body :contains "banana" { discard; }'),
    case(
        "body text decodes qp",
        'require "body";\nif body :text :contains "Café" { discard; }',
        message="multipart",
    ),
    case(
        "body content html",
        'require "body";\nif body :content "text/html" :contains "orange" { discard; }',
        message="multipart",
    ),
    case(
        "body content plain not html",
        'require "body";\nif body :content "text/plain" :contains "orange" { discard; }',
        message="multipart",
    ),
    case(
        "body raw sees base64",
        'require "body";\nif body :raw :contains "c2VjcmV0" { discard; }',
        message="multipart",
    ),
    case(
        "body text skips attachment",
        'require "body";\nif body :text :contains "secret attachment" { discard; }',
        message="multipart",
    ),
    case("body matches", 'require "body";\nif body :matches "*banana*" { discard; }'),
    # ---- date, index ----
    case("date year", 'require "date";\nif date :is "date" "year" "2026" { discard; }'),
    case(
        "date hour converted to UTC", 'require "date";\nif date :is "date" "hour" "09" { discard; }'
    ),
    case(
        "date originalzone",
        'require "date";\nif date :originalzone :is "date" "zone" "+0100" { discard; }',
    ),
    case(
        "date zone tag",
        'require "date";\nif date :zone "-0500" :is "date" "time" "04:30:05" { discard; }',
    ),
    case("date weekday", 'require "date";\nif date :is "date" "weekday" "4" { discard; }'),
    case("date julian", 'require "date";\nif date :is "date" "julian" "61377" { discard; }'),
    case(
        "date iso8601",
        'require "date";\nif date :originalzone :is "date" "iso8601" "2026-12-03T10:30:05+01:00" { discard; }',
    ),
    case(
        "date std11",
        'require "date";\nif date :originalzone :is "date" "std11" "Thu, 03 Dec 2026 10:30:05 +0100" { discard; }',
    ),
    case(
        "date across midnight",
        'require "date";\nif date :is "date" "date" "2026-12-01" { discard; }',
        message="plus",
    ),
    case(
        "date relational",
        'require ["date", "relational"];\nif date :value "ge" "date" "date" "2026-12-01" { discard; }',
    ),
    case(
        "date received last",
        'require ["date", "index"];\nif date :index 1 :last :originalzone :is "received" "zone" "+0100" { discard; }',
    ),
    case("date missing header", 'require "date";\nif date :is "x-nope" "year" "2026" { discard; }'),
    case("date bad part", 'require "date";\nif date :is "date" "century" "21" { discard; }'),
    case(
        "currentdate year",
        'require ["date", "relational"];\nif currentdate :value "ge" "year" "2020" { discard; }',
    ),
    case("index first", 'require "index";\nif header :index 1 :is "x-priority" "1" { discard; }'),
    case(
        "index second not first",
        'require "index";\nif header :index 1 :is "x-priority" "3" { discard; }',
    ),
    case(
        "index last", 'require "index";\nif header :index 1 :last :is "x-priority" "3" { discard; }'
    ),
    case(
        "index out of range",
        'require "index";\nif header :index 5 :contains "x-priority" "" { discard; }',
    ),
    case(
        "last without index", 'require "index";\nif header :last :is "x-priority" "3" { discard; }'
    ),
    # ---- vacation ----
    case("vacation plain", 'require "vacation";\nvacation "I am away";'),
    case("vacation days", 'require "vacation";\nvacation :days 3 :subject "Away" "I am away";'),
    case("vacation list skipped", 'require "vacation";\nvacation "I am away";', message="list"),
    case(
        "vacation auto-submitted skipped",
        'require "vacation";\nvacation "I am away";',
        message="auto",
    ),
    case("vacation null sender skipped", 'require "vacation";\nvacation "I am away";', sender=""),
    case("vacation own sender skipped", 'require "vacation";\nvacation "I am away";', sender=USER),
    case(
        "vacation not addressed",
        'require "vacation";\nvacation "I am away";',
        message="multipart",
        recipient="team2@example.com",
    ),
    case(
        "vacation addresses",
        'require "vacation";\nvacation :addresses "team@example.com" "away";',
        message="multipart",
        recipient="other@example.com",
    ),
    case("vacation bcc addressed", 'require "vacation";\nvacation "away";', message="multipart"),
    case(
        "vacation mailer-daemon",
        'require "vacation";\nvacation "away";',
        sender="MAILER-DAEMON@example.org",
    ),
    case("vacation twice is error", 'require "vacation";\nvacation "a";\nvacation "b";'),
    case("vacation with discard", 'require "vacation";\nvacation "a";\ndiscard;'),
    # ---- encoded-character ----
    case(
        "encoded character",
        'require ["encoded-character", "fileinto"];\nfileinto "${hex:41 42}${unicode:43}";',
    ),
    # ---- RFC examples and more edges ----
    case(
        "rfc5228 section 9 plain",
        '# Example Sieve Filter (RFC 5228 section 9)\nrequire ["fileinto"];\nif header :is "Sender" "owner-ietf-mta-filters@imc.org"\n        {\n        fileinto "filter";  # move to "filter" mailbox\n        }\nelsif address :DOMAIN :is ["From", "To"] "example.com"\n        {\n        keep;               # keep in "In" mailbox\n        }\nelsif anyof (NOT address :all :contains\n               ["To", "Cc", "Bcc"] "me@example.com",\n             header :matches "subject"\n               ["*make*money*fast*", "*university*dipl*mas*"])\n        {\n        fileinto "spam";   # move to "spam" mailbox\n        }\nelse\n        {\n        fileinto "personal";\n        }\n',
    ),
    case(
        "rfc5228 section 9 list",
        '# Example Sieve Filter (RFC 5228 section 9)\nrequire ["fileinto"];\nif header :is "Sender" "owner-ietf-mta-filters@imc.org"\n        {\n        fileinto "filter";  # move to "filter" mailbox\n        }\nelsif address :DOMAIN :is ["From", "To"] "example.com"\n        {\n        keep;               # keep in "In" mailbox\n        }\nelsif anyof (NOT address :all :contains\n               ["To", "Cc", "Bcc"] "me@example.com",\n             header :matches "subject"\n               ["*make*money*fast*", "*university*dipl*mas*"])\n        {\n        fileinto "spam";   # move to "spam" mailbox\n        }\nelse\n        {\n        fileinto "personal";\n        }\n',
        message="list",
    ),
    case(
        "rfc5228 section 9 multipart",
        '# Example Sieve Filter (RFC 5228 section 9)\nrequire ["fileinto"];\nif header :is "Sender" "owner-ietf-mta-filters@imc.org"\n        {\n        fileinto "filter";  # move to "filter" mailbox\n        }\nelsif address :DOMAIN :is ["From", "To"] "example.com"\n        {\n        keep;               # keep in "In" mailbox\n        }\nelsif anyof (NOT address :all :contains\n               ["To", "Cc", "Bcc"] "me@example.com",\n             header :matches "subject"\n               ["*make*money*fast*", "*university*dipl*mas*"])\n        {\n        fileinto "spam";   # move to "spam" mailbox\n        }\nelse\n        {\n        fileinto "personal";\n        }\n',
        message="multipart",
    ),
    case(
        "rfc5232 deleted when large",
        'require "imap4flags";\nif size :over 500K { setflag "\\\\Deleted"; }',
    ),
    case("rfc5173 raw", 'require "body";\nif body :raw :contains "MAKE MONEY FAST" { discard; }'),
    case(
        "rfc5173 content text",
        'require ["body", "fileinto"];\nif body :content "text" :contains ["missile", "quarterly"] { fileinto "secrets"; }',
        message="multipart",
    ),
    case(
        "rfc5230 addresses days",
        'require "vacation";\nvacation :days 23 :addresses ["tjs@example.edu", "ts4z@landru.example.edu"] "I\'m away until October 19.";',
    ),
    case(
        "rfc5233 user",
        'require ["envelope", "subaddress", "fileinto"];\nif envelope :user "to" "user" { fileinto "mine"; }',
    ),
    case(
        "rfc5229 honorific",
        'require ["variables", "fileinto"];\nset "honorific" "Mr";\nset "first_name" "Joe";\nset "last_name" "Doe";\nset "vacation" text:\nDear ${HONORIFIC} ${last_name},\n.\n;\nfileinto "${vacation}";',
    ),
    case(
        "count with casemap compares text",
        'require "relational";\nif header :count "ge" "received" "10" { discard; }',
    ),
    case(
        "count zero for missing",
        'require ["relational", "comparator-i;ascii-numeric"];\nif header :count "eq" :comparator "i;ascii-numeric" "x-none" "0" { discard; }',
    ),
    case("matches star on empty", 'require "variables";\nif string :matches "" "*" { discard; }'),
    case(
        "stop inside nested block",
        'require "fileinto";\nif true { if true { fileinto "a"; stop; } }\nfileinto "b";',
    ),
    case(
        "header list against list",
        'if header :contains ["to", "cc"] ["nobody", "carol"] { discard; }',
    ),
    case("size under G", "if size :under 1G { discard; }"),
    case("address domain case", 'if address :domain :is "from" "EXAMPLE.ORG" { discard; }'),
    case(
        "envelope to localpart plus",
        'require "envelope";\nif envelope :localpart :is "to" "user+news" { discard; }',
        message="plus",
        recipient="user+news@example.com",
    ),
    case(
        "date zone minus",
        'require "date";\nif date :zone "-0800" :is "date" "date" "2026-11-30" { discard; }',
        message="plus",
    ),
    case(
        "removeflag variable",
        'require ["imap4flags", "variables"];\nset "f" "a b";\nremoveflag "f" "a";\nif hasflag "f" "b" { discard; }',
    ),
    case("flags on keep tag", 'require "imap4flags";\nkeep :flags "$Label1";'),
    case(
        "length of match",
        'require "variables";\nif header :matches "x-spam-score" "*" { set :length "n" "${1}"; }\nif string :is "${n}" "1" { discard; }',
    ),
    case(
        "unicode subject matches",
        'require "variables";\nif header :matches "subject" "Caf? *" { discard; }',
        message="plus",
    ),
    case("discard then keep", "discard;\nkeep;"),
    case("redirect then keep", 'redirect "a@example.net";\nkeep;'),
    case("fileinto bad require list", 'require ["fileinto", "nope"];\nkeep;'),
    case("deeply nested anyof", "if " + "anyof(" * 30 + "true" + ")" * 30 + " { discard; }"),
    # ---- include (RFC 6609) ----
    case(
        "include personal",
        'require ["include", "fileinto"];\ninclude :personal "sub";\nfileinto "after";',
    ),
    case("include global", 'require "include";\ninclude :global "sub";'),
    case("include default is personal", 'require "include";\ninclude "sub";'),
    case("include missing", 'require "include";\ninclude "nope";'),
    case("include optional missing", 'require "include";\ninclude :optional "nope";\ndiscard;'),
    case(
        "include once",
        'require ["include", "fileinto"];\ninclude :once "ret";\ninclude :once "ret";',
    ),
    case("include return", 'require ["include", "fileinto"];\ninclude "ret";\nfileinto "main";'),
    case(
        "return in main", 'require ["include", "fileinto"];\nfileinto "a";\nreturn;\nfileinto "b";'
    ),
    case(
        "include stop stops all",
        'require ["include", "fileinto"];\ninclude "halt";\nfileinto "main";',
    ),
    case("include recursive", 'require "include";\ninclude "self";'),
    case(
        "global variable shared",
        'require ["include", "variables"];\nglobal "box";\nset "box" "G";\ninclude "usevar";',
    ),
    case(
        "local variable not shared",
        'require ["include", "variables"];\nset "box" "G";\ninclude "localvar";',
    ),
    case(
        "global set in included",
        'require ["include", "variables", "fileinto"];\nglobal "box";\ninclude "setvar";\nfileinto "${box}";',
    ),
    case(
        "global namespace",
        'require ["include", "variables", "fileinto"];\ninclude "setvar";\nfileinto "${global.box}";',
    ),
    case("global without variables", 'require "include";\nglobal "x";'),
    case("personal and global conflict", 'require "include";\ninclude :personal :global "sub";'),
    # ---- groups, empty values, numbers, html ----
    case(
        "address in a group", 'if address :is "cc" "bb@example.net" { discard; }', message="group"
    ),
    case(
        "address count with groups",
        'require ["relational", "comparator-i;ascii-numeric"];\nif address :count "eq" :comparator "i;ascii-numeric" "cc" "3" { discard; }',
        message="group",
    ),
    case("address of empty group", 'if address :contains "to" "" { discard; }', message="group"),
    case("empty subject is", 'if header :is "subject" "" { discard; }', message="group"),
    case("missing header is empty", 'if header :is "x-missing" "" { discard; }', message="group"),
    case(
        "numeric leading zeros",
        'require ["relational", "comparator-i;ascii-numeric"];\nif header :value "eq" :comparator "i;ascii-numeric" "x-num" "7" { discard; }',
        message="group",
    ),
    case(
        "numeric is leading zeros",
        'require "comparator-i;ascii-numeric";\nif header :is :comparator "i;ascii-numeric" "x-num" "7" { discard; }',
        message="group",
    ),
    case(
        "body text of html",
        'require "body";\nif body :text :contains "Grüße" { discard; }',
        message="group",
    ),
    case(
        "body content html latin1",
        'require "body";\nif body :content "text/html" :contains "Köln" { discard; }',
        message="group",
    ),
    case(
        "body content multipart",
        'require "body";\nif body :content "multipart" :contains "quarterly" { discard; }',
        message="multipart",
    ),
    case("exists is case-insensitive", 'if exists "X-NUM" { discard; }', message="group"),
    case(
        "octet contains non-ascii",
        'if header :comparator "i;octet" :contains "subject" "Caf\u00e9" { discard; }',
        message="plus",
    ),
    case(
        "casemap non-ascii not folded",
        'if header :contains "subject" "CAF\u00c9" { discard; }',
        message="plus",
    ),
    case("size over zero", "if size :over 0 { discard; }"),
    case("not not", "if not not true { discard; }"),
    case("fileinto hierarchy", 'require "fileinto";\nfileinto "INBOX/sub";'),
    case("fileinto inbox lowercase", 'require "fileinto";\nfileinto "inbox";'),
    case(
        "envelope to case",
        'require "envelope";\nif envelope :all :is "to" "USER@EXAMPLE.COM" { discard; }',
    ),
    case(
        "matches many stars",
        'require "variables";\nif header :matches "from" "*o*@*.*" { set "x" "${1}|${2}|${3}|${4}"; }\nif string :is "${x}" "Bob Sender <b|b|example|org>" { discard; }',
    ),
]
