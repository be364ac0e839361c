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

CASES: list[tuple[str, str, str, str, str]] = [
    # ---- RFC 5228 core ----
    ("empty script keeps", "", "plain", BOB, USER),
    ("comment only", "# nothing\n/* block\ncomment */\n", "plain", BOB, USER),
    ("explicit keep", "keep;", "plain", BOB, USER),
    ("discard", "discard;", "plain", BOB, USER),
    ("stop before discard", "stop;\ndiscard;", "plain", BOB, USER),
    ("redirect", 'redirect "x@example.net";', "plain", BOB, USER),
    (
        "redirect twice is once",
        'redirect "x@example.net";\nredirect "x@example.net";',
        "plain",
        BOB,
        USER,
    ),
    ("header contains", 'if header :contains "subject" "money" { discard; }', "plain", BOB, USER),
    (
        "header is case-insensitive",
        'if header :is "Subject" "hello there, make money fast" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "header octet is exact",
        'if header :comparator "i;octet" :is "Subject" "hello there, make money fast" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "header matches",
        'if header :matches "subject" "Hello*fast" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "header matches question mark",
        'if header :matches "x-spam-score" "?" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "header matches escaped star",
        'if header :matches "subject" "Hello\\\\*" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "header empty contains exists",
        'if header :contains "x-priority" "" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    ("header missing", 'if header :contains "x-missing" "" { discard; }', "plain", BOB, USER),
    ("header second value", 'if header :is "x-priority" "3" { discard; }', "plain", BOB, USER),
    ("header decoded 2047", 'if header :contains "subject" "Café" { discard; }', "plus", BOB, USER),
    ("address all", 'if address :is "from" "bob@example.org" { discard; }', "plain", BOB, USER),
    (
        "address domain",
        'if address :domain :is "to" "example.net" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "address localpart",
        'if address :localpart :is "cc" "carol+lists" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "address display name ignored",
        'if address :contains "from" "Sender" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "address quoted comma",
        'if address :is "to" "other@example.net" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    ("exists all", 'if exists ["from", "date"] { discard; }', "plain", BOB, USER),
    ("exists one missing", 'if exists ["from", "x-nope"] { discard; }', "plain", BOB, USER),
    ("size over", "if size :over 100 { discard; }", "plain", BOB, USER),
    ("size under K", "if size :under 1K { discard; }", "plain", BOB, USER),
    ("size over M", "if size :over 1M { discard; }", "plain", BOB, USER),
    (
        "allof anyof not",
        'if allof (not exists "x-nope", anyof (false, header :contains "from" "bob")) { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "if elsif else",
        'if false { discard; } elsif true { redirect "a@example.net"; } else { keep; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "multiline text reason",
        'require "reject";\nreject text:\nline one\n..dotted\n.\n;',
        "plain",
        BOB,
        USER,
    ),
    (
        "quoted escapes",
        'if header :contains "subject" "\\H\\ello" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    # ---- errors ----
    ("unknown command", "frobnicate;", "plain", BOB, USER),
    ("missing require", 'fileinto "x";', "plain", BOB, USER),
    ("unknown extension", 'require "nonexistent-ext";', "plain", BOB, USER),
    ("missing semicolon", "keep\ndiscard;", "plain", BOB, USER),
    ("unterminated string", 'if header :is "subject "x" { keep; }', "plain", BOB, USER),
    ("else without if", "else { keep; }", "plain", BOB, USER),
    ("require after command", 'keep;\nrequire "fileinto";', "plain", BOB, USER),
    ("bad comparator", 'if header :comparator "i;nope" :is "s" "x" { keep; }', "plain", BOB, USER),
    ("size without tag", "if size 100 { keep; }", "plain", BOB, USER),
    ("two match types", 'if header :is :contains "s" "x" { keep; }', "plain", BOB, USER),
    ("unknown tag", 'if header :frob "s" "x" { keep; }', "plain", BOB, USER),
    ("missing test", "if { keep; }", "plain", BOB, USER),
    # ---- fileinto, copy, mailbox ----
    ("fileinto", 'require "fileinto";\nfileinto "Work";', "plain", BOB, USER),
    ("fileinto and keep", 'require "fileinto";\nfileinto "Work";\nkeep;', "plain", BOB, USER),
    ("fileinto INBOX dedup", 'require "fileinto";\nfileinto "INBOX";\nkeep;', "plain", BOB, USER),
    ("fileinto copy", 'require ["fileinto", "copy"];\nfileinto :copy "Work";', "plain", BOB, USER),
    ("redirect copy", 'require "copy";\nredirect :copy "x@example.net";', "plain", BOB, USER),
    ("copy not required", 'redirect :copy "x@example.net";', "plain", BOB, USER),
    (
        "fileinto create",
        'require ["fileinto", "mailbox"];\nfileinto :create "New";',
        "plain",
        BOB,
        USER,
    ),
    (
        "mailboxexists INBOX",
        'require ["fileinto", "mailbox"];\nif mailboxexists "INBOX" { fileinto "Yes"; }',
        "plain",
        BOB,
        USER,
    ),
    # ---- reject ----
    ("reject", 'require "reject";\nreject "not wanted";', "plain", BOB, USER),
    (
        "reject with fileinto conflicts",
        'require ["reject", "fileinto"];\nfileinto "a";\nreject "x";',
        "plain",
        BOB,
        USER,
    ),
    ("reject with discard", 'require "reject";\ndiscard;\nreject "x";', "plain", BOB, USER),
    # ---- envelope, subaddress ----
    (
        "envelope from",
        'require "envelope";\nif envelope :is "from" "bob@example.org" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "envelope to domain",
        'require "envelope";\nif envelope :domain :is "to" "example.com" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "envelope null sender",
        'require "envelope";\nif envelope :is "from" "" { discard; }',
        "plain",
        "",
        USER,
    ),
    (
        "subaddress detail",
        'require ["envelope", "subaddress", "fileinto"];\nif envelope :detail "to" "news" { fileinto "news"; }',
        "plus",
        BOB,
        "user+news@example.com",
    ),
    (
        "subaddress user",
        'require ["envelope", "subaddress", "fileinto"];\nif envelope :user "to" "user" { fileinto "u"; }',
        "plus",
        BOB,
        "user+news@example.com",
    ),
    (
        "subaddress no detail",
        'require ["envelope", "subaddress"];\nif envelope :detail :matches "to" "*" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "subaddress empty detail",
        'require ["envelope", "subaddress"];\nif envelope :detail :is "to" "" { discard; }',
        "plain",
        BOB,
        "user+@example.com",
    ),
    (
        "subaddress header",
        'require ["subaddress"];\nif address :detail "cc" "lists" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    # ---- imap4flags ----
    ("addflag keep", 'require "imap4flags";\naddflag "\\\\Seen";\nkeep;', "plain", BOB, USER),
    (
        "flags on implicit keep",
        'require "imap4flags";\nsetflag ["\\\\Flagged", "$Work"];',
        "plain",
        BOB,
        USER,
    ),
    ("removeflag", 'require "imap4flags";\nsetflag "a b c";\nremoveflag "B";', "plain", BOB, USER),
    (
        "fileinto flags tag",
        'require ["imap4flags", "fileinto"];\naddflag "x";\nfileinto :flags "\\\\Answered" "F";\nfileinto "G";',
        "plain",
        BOB,
        USER,
    ),
    (
        "hasflag",
        'require "imap4flags";\naddflag "seen-it";\nif hasflag :is "seen-it" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "flag variable",
        'require ["imap4flags", "variables"];\nset "f" "";\naddflag "f" "one";\nif hasflag "f" "one" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    # ---- variables ----
    (
        "set and use",
        'require ["variables", "fileinto"];\nset "box" "Work";\nfileinto "${box}";',
        "plain",
        BOB,
        USER,
    ),
    (
        "match variables",
        'require ["variables", "fileinto"];\nif header :matches "subject" "* there, *" { fileinto "${1}-${2}"; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "rfc5229 list example",
        'require ["variables", "fileinto"];\nif header :matches "List-ID" "*<*@*" { fileinto "INBOX.lists.${2}"; stop; }',
        "list",
        BOB,
        USER,
    ),
    (
        "rfc5229 subject example",
        'require ["variables", "fileinto"];\nif header :matches "Subject" "[*] *" { fileinto "${1}"; }',
        "list",
        BOB,
        USER,
    ),
    (
        "modifiers",
        'require ["variables", "fileinto"];\nset :upper "a" "work";\nset :lowerfirst "b" "ABC";\nset :length "c" "12345";\nfileinto "${a}${b}${c}";',
        "plain",
        BOB,
        USER,
    ),
    (
        "quotewildcard",
        'require ["variables"];\nset :quotewildcard "q" "a*b";\nif string :is "${q}" "a\\\\*b" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "unknown variable empty",
        'require ["variables", "fileinto"];\nfileinto "x${nope}y";',
        "plain",
        BOB,
        USER,
    ),
    (
        "string test",
        'require "variables";\nset "a" "hello";\nif string :contains "${a}" "ell" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "string empty count",
        'require ["variables", "relational"];\nif string :count "eq" :comparator "i;ascii-numeric" "" "0" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "variable case-insensitive name",
        'require ["variables", "fileinto"];\nset "Box" "W";\nfileinto "${BOX}";',
        "plain",
        BOB,
        USER,
    ),
    (
        "match var survives failed test",
        'require ["variables", "fileinto"];\nif header :matches "from" "*@*" { }\nif header :matches "from" "nomatch*" { }\nfileinto "${2}";',
        "plain",
        BOB,
        USER,
    ),
    # ---- relational ----
    (
        "value gt numeric",
        'require ["relational", "comparator-i;ascii-numeric"];\nif header :value "gt" :comparator "i;ascii-numeric" "x-spam-score" "5" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "value lt casemap",
        'require "relational";\nif header :value "lt" "subject" "I" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "count headers",
        'require ["relational", "comparator-i;ascii-numeric"];\nif header :count "eq" :comparator "i;ascii-numeric" "x-priority" "2" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "count addresses",
        'require ["relational", "comparator-i;ascii-numeric"];\nif address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "numeric non-digit is infinity",
        'require ["relational", "comparator-i;ascii-numeric"];\nif header :value "gt" :comparator "i;ascii-numeric" "subject" "99999" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "bad relation",
        'require "relational";\nif header :value "xx" "s" "1" { keep; }',
        "plain",
        BOB,
        USER,
    ),
    # ---- body ----
    (
        "body contains",
        'require "body";\nif body :contains "banana" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "body text decodes qp",
        'require "body";\nif body :text :contains "Café" { discard; }',
        "multipart",
        BOB,
        USER,
    ),
    (
        "body content html",
        'require "body";\nif body :content "text/html" :contains "orange" { discard; }',
        "multipart",
        BOB,
        USER,
    ),
    (
        "body content plain not html",
        'require "body";\nif body :content "text/plain" :contains "orange" { discard; }',
        "multipart",
        BOB,
        USER,
    ),
    (
        "body raw sees base64",
        'require "body";\nif body :raw :contains "c2VjcmV0" { discard; }',
        "multipart",
        BOB,
        USER,
    ),
    (
        "body text skips attachment",
        'require "body";\nif body :text :contains "secret attachment" { discard; }',
        "multipart",
        BOB,
        USER,
    ),
    (
        "body matches",
        'require "body";\nif body :matches "*banana*" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    # ---- date, index ----
    (
        "date year",
        'require "date";\nif date :is "date" "year" "2026" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "date hour converted to UTC",
        'require "date";\nif date :is "date" "hour" "09" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "date originalzone",
        'require "date";\nif date :originalzone :is "date" "zone" "+0100" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "date zone tag",
        'require "date";\nif date :zone "-0500" :is "date" "time" "04:30:05" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "date weekday",
        'require "date";\nif date :is "date" "weekday" "4" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "date julian",
        'require "date";\nif date :is "date" "julian" "61377" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "date iso8601",
        'require "date";\nif date :originalzone :is "date" "iso8601" "2026-12-03T10:30:05+01:00" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "date std11",
        'require "date";\nif date :originalzone :is "date" "std11" "Thu, 03 Dec 2026 10:30:05 +0100" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "date across midnight",
        'require "date";\nif date :is "date" "date" "2026-12-01" { discard; }',
        "plus",
        BOB,
        USER,
    ),
    (
        "date relational",
        'require ["date", "relational"];\nif date :value "ge" "date" "date" "2026-12-01" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "date received last",
        'require ["date", "index"];\nif date :index 1 :last :originalzone :is "received" "zone" "+0100" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "date missing header",
        'require "date";\nif date :is "x-nope" "year" "2026" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "date bad part",
        'require "date";\nif date :is "date" "century" "21" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "currentdate year",
        'require ["date", "relational"];\nif currentdate :value "ge" "year" "2020" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "index first",
        'require "index";\nif header :index 1 :is "x-priority" "1" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "index second not first",
        'require "index";\nif header :index 1 :is "x-priority" "3" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "index last",
        'require "index";\nif header :index 1 :last :is "x-priority" "3" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "index out of range",
        'require "index";\nif header :index 5 :contains "x-priority" "" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "last without index",
        'require "index";\nif header :last :is "x-priority" "3" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    # ---- vacation ----
    ("vacation plain", 'require "vacation";\nvacation "I am away";', "plain", BOB, USER),
    (
        "vacation days",
        'require "vacation";\nvacation :days 3 :subject "Away" "I am away";',
        "plain",
        BOB,
        USER,
    ),
    ("vacation list skipped", 'require "vacation";\nvacation "I am away";', "list", BOB, USER),
    (
        "vacation auto-submitted skipped",
        'require "vacation";\nvacation "I am away";',
        "auto",
        BOB,
        USER,
    ),
    (
        "vacation null sender skipped",
        'require "vacation";\nvacation "I am away";',
        "plain",
        "",
        USER,
    ),
    (
        "vacation own sender skipped",
        'require "vacation";\nvacation "I am away";',
        "plain",
        USER,
        USER,
    ),
    (
        "vacation not addressed",
        'require "vacation";\nvacation "I am away";',
        "multipart",
        BOB,
        "team2@example.com",
    ),
    (
        "vacation addresses",
        'require "vacation";\nvacation :addresses "team@example.com" "away";',
        "multipart",
        BOB,
        "other@example.com",
    ),
    ("vacation bcc addressed", 'require "vacation";\nvacation "away";', "multipart", BOB, USER),
    (
        "vacation mailer-daemon",
        'require "vacation";\nvacation "away";',
        "plain",
        "MAILER-DAEMON@example.org",
        USER,
    ),
    (
        "vacation twice is error",
        'require "vacation";\nvacation "a";\nvacation "b";',
        "plain",
        BOB,
        USER,
    ),
    ("vacation with discard", 'require "vacation";\nvacation "a";\ndiscard;', "plain", BOB, USER),
    # ---- encoded-character ----
    (
        "encoded character",
        'require ["encoded-character", "fileinto"];\nfileinto "${hex:41 42}${unicode:43}";',
        "plain",
        BOB,
        USER,
    ),
    # ---- RFC examples and more edges ----
    (
        "rfc5228 section 9 plain",
        '# Example Sieve Filter (RFC 5228 section 9)\nrequire ["fileinto"];\nif header :is "Sender" "owner-ietf-mta-filters@imc.org"\n        {\n        fileinto "filter";  # move to "filter" mailbox\n        }\nelsif address :DOMAIN :is ["From", "To"] "example.com"\n        {\n        keep;               # keep in "In" mailbox\n        }\nelsif anyof (NOT address :all :contains\n               ["To", "Cc", "Bcc"] "me@example.com",\n             header :matches "subject"\n               ["*make*money*fast*", "*university*dipl*mas*"])\n        {\n        fileinto "spam";   # move to "spam" mailbox\n        }\nelse\n        {\n        fileinto "personal";\n        }\n',
        "plain",
        BOB,
        USER,
    ),
    (
        "rfc5228 section 9 list",
        '# Example Sieve Filter (RFC 5228 section 9)\nrequire ["fileinto"];\nif header :is "Sender" "owner-ietf-mta-filters@imc.org"\n        {\n        fileinto "filter";  # move to "filter" mailbox\n        }\nelsif address :DOMAIN :is ["From", "To"] "example.com"\n        {\n        keep;               # keep in "In" mailbox\n        }\nelsif anyof (NOT address :all :contains\n               ["To", "Cc", "Bcc"] "me@example.com",\n             header :matches "subject"\n               ["*make*money*fast*", "*university*dipl*mas*"])\n        {\n        fileinto "spam";   # move to "spam" mailbox\n        }\nelse\n        {\n        fileinto "personal";\n        }\n',
        "list",
        BOB,
        USER,
    ),
    (
        "rfc5228 section 9 multipart",
        '# Example Sieve Filter (RFC 5228 section 9)\nrequire ["fileinto"];\nif header :is "Sender" "owner-ietf-mta-filters@imc.org"\n        {\n        fileinto "filter";  # move to "filter" mailbox\n        }\nelsif address :DOMAIN :is ["From", "To"] "example.com"\n        {\n        keep;               # keep in "In" mailbox\n        }\nelsif anyof (NOT address :all :contains\n               ["To", "Cc", "Bcc"] "me@example.com",\n             header :matches "subject"\n               ["*make*money*fast*", "*university*dipl*mas*"])\n        {\n        fileinto "spam";   # move to "spam" mailbox\n        }\nelse\n        {\n        fileinto "personal";\n        }\n',
        "multipart",
        BOB,
        USER,
    ),
    (
        "rfc5232 deleted when large",
        'require "imap4flags";\nif size :over 500K { setflag "\\\\Deleted"; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "rfc5173 raw",
        'require "body";\nif body :raw :contains "MAKE MONEY FAST" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "rfc5173 content text",
        'require ["body", "fileinto"];\nif body :content "text" :contains ["missile", "quarterly"] { fileinto "secrets"; }',
        "multipart",
        BOB,
        USER,
    ),
    (
        "rfc5230 addresses days",
        'require "vacation";\nvacation :days 23 :addresses ["tjs@example.edu", "ts4z@landru.example.edu"] "I\'m away until October 19.";',
        "plain",
        BOB,
        USER,
    ),
    (
        "rfc5233 user",
        'require ["envelope", "subaddress", "fileinto"];\nif envelope :user "to" "user" { fileinto "mine"; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "rfc5229 honorific",
        'require ["variables", "fileinto"];\nset "honorific" "Mr";\nset "first_name" "Joe";\nset "last_name" "Doe";\nset "vacation" text:\nDear ${HONORIFIC} ${last_name},\n.\n;\nfileinto "${vacation}";',
        "plain",
        BOB,
        USER,
    ),
    (
        "count with casemap compares text",
        'require "relational";\nif header :count "ge" "received" "10" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "count zero for missing",
        'require ["relational", "comparator-i;ascii-numeric"];\nif header :count "eq" :comparator "i;ascii-numeric" "x-none" "0" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "matches star on empty",
        'require "variables";\nif string :matches "" "*" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "stop inside nested block",
        'require "fileinto";\nif true { if true { fileinto "a"; stop; } }\nfileinto "b";',
        "plain",
        BOB,
        USER,
    ),
    (
        "header list against list",
        'if header :contains ["to", "cc"] ["nobody", "carol"] { discard; }',
        "plain",
        BOB,
        USER,
    ),
    ("size under G", "if size :under 1G { discard; }", "plain", BOB, USER),
    (
        "address domain case",
        'if address :domain :is "from" "EXAMPLE.ORG" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "envelope to localpart plus",
        'require "envelope";\nif envelope :localpart :is "to" "user+news" { discard; }',
        "plus",
        BOB,
        "user+news@example.com",
    ),
    (
        "date zone minus",
        'require "date";\nif date :zone "-0800" :is "date" "date" "2026-11-30" { discard; }',
        "plus",
        BOB,
        USER,
    ),
    (
        "removeflag variable",
        'require ["imap4flags", "variables"];\nset "f" "a b";\nremoveflag "f" "a";\nif hasflag "f" "b" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    ("flags on keep tag", 'require "imap4flags";\nkeep :flags "$Label1";', "plain", BOB, USER),
    (
        "length of match",
        'require "variables";\nif header :matches "x-spam-score" "*" { set :length "n" "${1}"; }\nif string :is "${n}" "1" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "unicode subject matches",
        'require "variables";\nif header :matches "subject" "Caf? *" { discard; }',
        "plus",
        BOB,
        USER,
    ),
    ("discard then keep", "discard;\nkeep;", "plain", BOB, USER),
    ("redirect then keep", 'redirect "a@example.net";\nkeep;', "plain", BOB, USER),
    ("fileinto bad require list", 'require ["fileinto", "nope"];\nkeep;', "plain", BOB, USER),
    (
        "deeply nested anyof",
        "if " + "anyof(" * 30 + "true" + ")" * 30 + " { discard; }",
        "plain",
        BOB,
        USER,
    ),
    # ---- include (RFC 6609) ----
    (
        "include personal",
        'require ["include", "fileinto"];\ninclude :personal "sub";\nfileinto "after";',
        "plain",
        BOB,
        USER,
    ),
    ("include global", 'require "include";\ninclude :global "sub";', "plain", BOB, USER),
    ("include default is personal", 'require "include";\ninclude "sub";', "plain", BOB, USER),
    ("include missing", 'require "include";\ninclude "nope";', "plain", BOB, USER),
    (
        "include optional missing",
        'require "include";\ninclude :optional "nope";\ndiscard;',
        "plain",
        BOB,
        USER,
    ),
    (
        "include once",
        'require ["include", "fileinto"];\ninclude :once "ret";\ninclude :once "ret";',
        "plain",
        BOB,
        USER,
    ),
    (
        "include return",
        'require ["include", "fileinto"];\ninclude "ret";\nfileinto "main";',
        "plain",
        BOB,
        USER,
    ),
    (
        "return in main",
        'require ["include", "fileinto"];\nfileinto "a";\nreturn;\nfileinto "b";',
        "plain",
        BOB,
        USER,
    ),
    (
        "include stop stops all",
        'require ["include", "fileinto"];\ninclude "halt";\nfileinto "main";',
        "plain",
        BOB,
        USER,
    ),
    ("include recursive", 'require "include";\ninclude "self";', "plain", BOB, USER),
    (
        "global variable shared",
        'require ["include", "variables"];\nglobal "box";\nset "box" "G";\ninclude "usevar";',
        "plain",
        BOB,
        USER,
    ),
    (
        "local variable not shared",
        'require ["include", "variables"];\nset "box" "G";\ninclude "localvar";',
        "plain",
        BOB,
        USER,
    ),
    (
        "global set in included",
        'require ["include", "variables", "fileinto"];\nglobal "box";\ninclude "setvar";\nfileinto "${box}";',
        "plain",
        BOB,
        USER,
    ),
    (
        "global namespace",
        'require ["include", "variables", "fileinto"];\ninclude "setvar";\nfileinto "${global.box}";',
        "plain",
        BOB,
        USER,
    ),
    ("global without variables", 'require "include";\nglobal "x";', "plain", BOB, USER),
    (
        "personal and global conflict",
        'require "include";\ninclude :personal :global "sub";',
        "plain",
        BOB,
        USER,
    ),
    # ---- groups, empty values, numbers, html ----
    ("address in a group", 'if address :is "cc" "bb@example.net" { discard; }', "group", BOB, USER),
    (
        "address count with groups",
        'require ["relational", "comparator-i;ascii-numeric"];\nif address :count "eq" :comparator "i;ascii-numeric" "cc" "3" { discard; }',
        "group",
        BOB,
        USER,
    ),
    ("address of empty group", 'if address :contains "to" "" { discard; }', "group", BOB, USER),
    ("empty subject is", 'if header :is "subject" "" { discard; }', "group", BOB, USER),
    ("missing header is empty", 'if header :is "x-missing" "" { discard; }', "group", BOB, USER),
    (
        "numeric leading zeros",
        'require ["relational", "comparator-i;ascii-numeric"];\nif header :value "eq" :comparator "i;ascii-numeric" "x-num" "7" { discard; }',
        "group",
        BOB,
        USER,
    ),
    (
        "numeric is leading zeros",
        'require "comparator-i;ascii-numeric";\nif header :is :comparator "i;ascii-numeric" "x-num" "7" { discard; }',
        "group",
        BOB,
        USER,
    ),
    (
        "body text of html",
        'require "body";\nif body :text :contains "Grüße" { discard; }',
        "group",
        BOB,
        USER,
    ),
    (
        "body content html latin1",
        'require "body";\nif body :content "text/html" :contains "Köln" { discard; }',
        "group",
        BOB,
        USER,
    ),
    (
        "body content multipart",
        'require "body";\nif body :content "multipart" :contains "quarterly" { discard; }',
        "multipart",
        BOB,
        USER,
    ),
    ("exists is case-insensitive", 'if exists "X-NUM" { discard; }', "group", BOB, USER),
    (
        "octet contains non-ascii",
        'if header :comparator "i;octet" :contains "subject" "Caf\u00e9" { discard; }',
        "plus",
        BOB,
        USER,
    ),
    (
        "casemap non-ascii not folded",
        'if header :contains "subject" "CAF\u00c9" { discard; }',
        "plus",
        BOB,
        USER,
    ),
    ("size over zero", "if size :over 0 { discard; }", "plain", BOB, USER),
    ("not not", "if not not true { discard; }", "plain", BOB, USER),
    ("fileinto hierarchy", 'require "fileinto";\nfileinto "INBOX/sub";', "plain", BOB, USER),
    ("fileinto inbox lowercase", 'require "fileinto";\nfileinto "inbox";', "plain", BOB, USER),
    (
        "envelope to case",
        'require "envelope";\nif envelope :all :is "to" "USER@EXAMPLE.COM" { discard; }',
        "plain",
        BOB,
        USER,
    ),
    (
        "matches many stars",
        'require "variables";\nif header :matches "from" "*o*@*.*" { set "x" "${1}|${2}|${3}|${4}"; }\nif string :is "${x}" "Bob Sender <b|b|example|org>" { discard; }',
        "plain",
        BOB,
        USER,
    ),
]
