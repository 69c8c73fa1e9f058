"""Hand-curated product vocabulary for the lexical matcher.

This is domain knowledge, not learned: the words reps use for the same thing in a B2B
SaaS product. Each concept lists phrases (lower case, plain words); the matcher stems them
the same way it stems request text and replaces the longest phrase found by `~concept`,
so "csv", "excel" and "spreadsheet" all become `~spreadsheet`.

To extend: add a phrase to an existing concept, or a new concept. Keep concepts at the
level of a synonym ("export" = "download"), not of a whole feature request; a concept that
is too broad makes unrelated requests look alike. After a change, run
`python -m bench.similarity_eval`: stored lexical vectors must be recomputed too (bump
`LEXICAL_VERSION` in lexical.py).
"""

from __future__ import annotations

CONCEPTS: dict[str, tuple[str, ...]] = {
    # data in and out
    "spreadsheet": ("csv", "excel", "xlsx", "xls", "spreadsheet", "google sheets", "tsv",
                    "flat file", "raw rows", "raw data"),
    "export": ("export", "download", "extract", "get out", "pull out", "dump", "take out",
               "get the data out", "pull into"),
    "import": ("import", "upload", "bulk upload", "load in", "migrate", "migration",
               "move over", "moved over", "bring in", "switching from"),
    "pdf": ("pdf", "printable", "print", "print friendly", "printout"),
    # look and feel
    "dark_theme": ("dark mode", "dark theme", "night mode", "night theme", "darker",
                   "dark ui", "low light", "dim mode", "darker colour scheme",
                   "darker color scheme"),
    "theme": ("theme", "colour scheme", "color scheme", "appearance", "skin"),
    "colour": ("colour", "color", "palette"),
    "brand": ("brand", "branding", "logo", "white label", "whitelabel", "rebrand",
              "our name"),
    "ui": ("ui", "interface", "user interface", "menu", "look and feel", "front end",
           "web app"),
    "shortcut": ("keyboard shortcut", "shortcut", "hotkey", "hot key", "keybinding",
                 "key binding", "without clicking", "without the mouse", "mouse"),
    "accessibility": ("accessibility", "accessible", "a11y", "wcag", "screen reader",
                      "jaws", "nvda", "voiceover", "section 508", "blind",
                      "visually impaired", "low vision", "usable for everyone"),
    "language": ("language", "localize", "localise", "localization", "localisation",
                 "translate", "translation", "i18n", "l10n", "spanish", "german", "french",
                 "portuguese", "japanese", "english", "chinese", "italian", "dutch"),
    # identity and security
    "sso": ("sso", "single sign on", "saml", "saml 2 0", "federated login", "adfs",
            "onelogin", "ping identity", "log in with", "sign in with", "login with",
            "company account", "corporate account", "work account", "company login",
            "corporate login", "company credentials"),
    "idp": ("okta", "azure ad", "active directory", "entra", "microsoft identity",
            "google workspace", "directory", "identity provider"),
    "login": ("log in", "login", "sign in", "signin", "logon", "log on", "authenticate",
              "authentication"),
    "mfa": ("2fa", "mfa", "two factor", "multi factor", "authenticator", "one time code",
            "otp", "totp", "second factor", "2 step", "two step", "verification code",
            "second verification"),
    "password": ("password", "passphrase", "credential"),
    "provisioning": ("scim", "provision", "provisioning", "deprovision", "deprovisioning",
                     "auto provision", "deactivate", "offboarding", "offboard"),
    "allowlist": ("allowlist", "allowlisting", "whitelist", "whitelisting", "ip range",
                  "ip address", "ip"),
    "network": ("corporate network", "office network", "vpn", "office ip"),
    "permission": ("role", "permission", "access level", "access right", "privilege"),
    "readonly": ("read only", "view only", "viewer", "cannot edit", "can't edit",
                 "not be able to change", "look but not touch"),
    "audit": ("audit log", "audit trail", "activity log", "activity trail", "change history",
              "edit history", "version history", "who changed", "who edited", "who did"),
    "compliance": ("compliance", "compliant", "soc 2", "soc2", "iso 27001", "hipaa",
                   "regulator", "regulatory", "conformance", "auditor"),
    "siem": ("siem", "splunk", "datadog", "sumo logic", "log forwarding", "log stream",
             "stream logs"),
    "privacy": ("gdpr", "ccpa", "right to be forgotten", "personal data",
                "personal information", "pii", "data subject", "privacy"),
    "residency": ("data residency", "data center", "datacenter", "data centre", "hosting",
                  "host", "hosted", "region", "data location", "store data", "storing data",
                  "stay in"),
    "eu": ("eu", "europe", "european", "european union"),
    # platforms and channels
    "mobile": ("mobile", "ios", "android", "iphone", "ipad", "phone", "smartphone", "tablet",
               "small screen", "native app"),
    "desktop": ("desktop", "desktop app", "installed client", "desktop client",
                "windows app", "mac app"),
    "offline": ("offline", "no internet", "no signal", "without signal", "no connection",
                "without internet", "no connectivity", "no reception", "back online"),
    "chat": ("slack", "microsoft teams", "ms teams", "channel"),
    "email": ("email", "e mail", "mail", "inbox"),
    "notify": ("notification", "notify", "notif", "alert", "ping", "push notification"),
    "digest": ("digest", "summary", "roundup", "round up", "recap"),
    "calendar": ("calendar", "ical", "ics", "outlook calendar", "google calendar",
                 "double booking", "double book"),
    "api": ("api", "rest api", "endpoint", "programmatic", "programmatically", "sdk",
            "graphql", "script"),
    "webhook": ("webhook", "callback", "http callback", "event subscription", "call their",
                "instead of polling"),
    "rate_limit": ("rate limit", "throttle", "throttling", "429", "quota"),
    "integration": ("integration", "integrate", "sync", "synchronise", "synchronize",
                    "connector", "two way", "bi directional", "bidirectional"),
    "crm": ("crm", "salesforce", "sfdc", "hubspot", "pipedrive", "dynamics", "zoho"),
    "erp": ("erp", "sap", "netsuite", "oracle"),
    # records and actions
    "bulk": ("bulk", "mass", "many at once", "at once", "in one go", "batch", "en masse",
             "all at once", "together"),
    "edit": ("edit", "update", "change", "modify"),
    "delete": ("delete", "remove", "erase", "purge", "wipe", "gone"),
    "restore": ("undo", "restore", "recover", "undelete", "recycle bin", "trash",
                "bring back", "brought back", "change their mind"),
    "permanent": ("permanently", "for good", "irreversibly", "hard delete", "every trace"),
    "custom": ("custom", "own", "extra", "additional", "define"),
    "field": ("field", "attribute", "property", "column"),
    "search": ("search", "find", "look up", "lookup"),
    "attachment": ("attachment", "attached file", "uploaded file", "document", "file"),
    "periodic": ("recurring", "recurrence", "repeat", "repeating", "every week", "weekly",
                 "each week", "every month", "monthly", "every day", "daily", "per day",
                 "every monday"),
    "schedule": ("schedule", "scheduled", "at 8am", "automatically send"),
    "report": ("report", "dashboard", "chart", "analytics", "numbers"),
    "share": ("share", "sharing", "public link", "shareable link", "live link",
              "send a link"),
    "external": ("external", "outside the company", "guest", "third party",
                 "don't have accounts", "without an account", "non user"),
    "approval": ("approval", "approve", "sign off", "authorise", "authorize"),
    "discount": ("discount", "margin", "rebate", "price reduction"),
    "quote": ("quote", "quotation", "proposal", "estimate"),
    "invoice": ("invoice", "invoicing"),
    "billing": ("billing", "bill", "pay", "payment", "upfront", "plan", "subscription"),
    "currency": ("currency", "currencies", "multi currency", "eur", "euro", "gbp", "pound",
                 "usd", "dollar", "yen", "exchange rate", "fx"),
    "timezone": ("time zone", "timezone", "local time", "utc"),
    "time_tracking": ("time tracking", "track time", "timesheet", "billable hours",
                      "hours worked", "by the hour"),
    "sandbox": ("sandbox", "staging", "test environment", "test account", "dev environment",
                "copy of production", "trial environment"),
    "production": ("production", "live", "prod"),
    "domain": ("domain", "cname", "url", "subdomain", "vanity url"),
    "portal": ("portal", "help center", "help centre", "customer portal"),
    "task": ("task", "todo", "to do", "checklist", "work item", "job"),
    "user": ("user", "account", "seat", "member", "employee", "people", "person", "staff",
             "everyone"),
    "record": ("record", "item", "row", "entry", "object"),
    "contact": ("contact", "lead"),
    "deal": ("deal", "opportunity", "pipeline"),
}

CONFLICTS: tuple[tuple[str, str], ...] = (
    ("export", "import"),
    ("permanent", "restore"),
    ("readonly", "edit"),
)
"""Concepts that ask for opposite things: a request with one and not the other is a
different need from one with the other and not the one ("export users" vs "import users")."""

WEAK: frozenset[str] = frozenset({
    "~record", "~ui", "~custom", "~production",
    "app", "tool", "data", "product", "system", "platform", "feature", "way", "thing",
    "team", "option", "setting", "page", "screen", "view", "new", "add", "use", "make",
    "get", "show", "see", "set", "company", "work", "day", "week", "time", "one",
})
"""Features that say little about which need is meant; they count at a third weight."""

STOPWORDS: frozenset[str] = frozenset("""
a about above after again against all am an and any are aren as at be because been before
being below between both but by can cannot could did didn do does doesn doing don down
during each few for from further had hadn has hasn have haven having he her here hers
herself him himself his how i if in into is isn it its itself just let like me more most
my myself no nor not now of off on once only or other our ours ourselves out over own
same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was wasn we were weren what when where
which while who whom why will with won would you your yours yourself yourselves
customer customers client clients prospect prospects rep reps want wants wanted need needs
needed ask asks asked asking request requested requesting would like please pls plz asap
able ability allow allows let lets support supported supporting also really still even
every via instead e g eg etc us today keep keeps keeping since dont doesnt didnt isnt
arent wasnt werent cant wont hasnt havent hadnt im its theyre weve theyve thats whats
""".split())
"""Filler in how reps write requests. Concepts are matched before these are dropped, so a
phrase may contain them ("right to be forgotten")."""
