"""A labelled set of feature requests, written the way sales reps post them in Slack.

Each request belongs to one *need*: two requests are duplicates when they ask for the same
need, whatever the words. Needs with one request are distractors. `HARD_NEGATIVES` lists
pairs that share words but ask for different things (export vs import, SSO vs SCIM
provisioning, dark mode vs dark brand colours).

The set was written in one sitting before any matcher was run on it. Whole needs are
assigned to a split: `tune` was used to choose weights, the concept map and thresholds;
`test` (over a third of the requests) was kept out of every tuning run and is reported
separately by bench/similarity_eval.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Literal

Split = Literal["tune", "test"]


@dataclass(frozen=True)
class LabelledRequest:
    id: int
    need: str
    split: Split
    title: str
    problem: str | None


_NEEDS: dict[str, tuple[Split, list[tuple[str, str | None]]]] = {
    # ---------------------------------------------------------------- tune split
    "report_export_spreadsheet": ("tune", [
        ("Export report data to CSV",
         "Acme's finance team wants to pull the pipeline report into Excel every month."),
        ("Download data as a spreadsheet",
         "Ops lead at Globex needs the numbers out of the dashboard so she can do her own pivots."),
        ("Excel download for dashboards",
         "They keep screenshotting charts because there is no way to get the raw rows out."),
    ]),
    "dark_mode": ("tune", [
        ("Dark mode",
         "Several users at Initech work night shifts and say the white UI is blinding."),
        ("Night theme for the web app",
         "Prospect asked if we have a darker colour scheme, their support team works evenings."),
        ("Darker UI option pls",
         "Eye strain complaints from the customer's NOC team who stare at it all day."),
    ]),
    "sso": ("tune", [
        ("SSO with Okta",
         "Security review is blocked: IT requires every login to go through Okta."),
        ("SAML single sign-on",
         "Enterprise deal stuck until we support SAML 2.0, they won't manage separate passwords."),
        ("Log in with company Azure AD account",
         "Contoso won't roll out to 2,000 seats unless employees can use their Microsoft identity."),
    ]),
    "user_import": ("tune", [
        ("Import users from CSV",
         "Onboarding 500 people by hand is a non-starter, they want to upload a file of users."),
        ("Bulk user upload",
         "Admin wants to add the whole sales org at once from a spreadsheet instead of inviting one by one."),
    ]),
    "user_list_export": ("tune", [
        ("Export users to CSV",
         "Their auditor wants a list of all accounts with roles and last login."),
        ("Download a list of everyone who has access",
         "Quarterly access review at a bank: they need all users and their permissions in a file."),
    ]),
    "mobile_app": ("tune", [
        ("iOS app",
         "Field reps are on iPads all day and the mobile browser version is clunky."),
        ("Native mobile app for iPhone and Android",
         "Customer's technicians work on site without laptops."),
        ("Use the product from a phone",
         "Managers want to approve things while travelling and the site doesn't fit a small screen."),
    ]),
    "slack_alerts": ("tune", [
        ("Get alerts in Slack when a deal changes stage",
         "Team lives in Slack and misses the email notifications."),
        ("Slack integration for notifications",
         "Hooli asked whether updates can be posted to a channel instead of email."),
        ("Push updates into our Slack channels",
         "Their managers want to see new escalations in #support-leads right away."),
    ]),
    "email_digest": ("tune", [
        ("Daily email digest",
         "Too many notification emails, customer wants one summary per day."),
        ("Batch notifications into one summary email",
         "Their managers get 40 emails a day from us and are unsubscribing from everything."),
    ]),
    "public_api": ("tune", [
        ("Public REST API",
         "Customer's dev team wants to sync records with their data warehouse programmatically."),
        ("API access so they can automate order creation from their ERP",
         "They're retyping orders from SAP by hand; their developers would script it if we had endpoints."),
    ]),
    "webhooks": ("tune", [
        ("Webhooks on status change",
         "They want us to call their endpoint when a ticket is closed."),
        ("Notify their server when a record changes",
         "Instead of polling us every minute their integration should get an HTTP callback."),
    ]),
    "two_factor": ("tune", [
        ("Two-factor authentication",
         "Compliance requires MFA for every user."),
        ("2FA via authenticator app",
         "Customer's CISO asked whether we support one-time codes at login, like Google Authenticator."),
        ("Require a second verification step when admins sign in",
         "A phished password gave someone admin access at another vendor, they don't want that again."),
    ]),
    "audit_log": ("tune", [
        ("Audit log of admin changes",
         "Need to know who changed permissions and when, for their SOC 2 audit."),
        ("History of who edited what",
         "A record was deleted last week and nobody can tell who did it."),
        ("Activity trail for compliance",
         "Pharma customer must show regulators every change made to a study record."),
    ]),
    "recurring_tasks": ("tune", [
        ("Recurring tasks",
         "Customer creates the same weekly checklist by hand every Monday."),
        ("Repeat a task every week automatically",
         "Their cleaning crews have the same jobs each week and the coordinator re-enters them."),
    ]),
    "custom_fields": ("tune", [
        ("Custom fields on records",
         "They track a region and a contract tier that we don't have fields for."),
        ("Add our own properties to accounts",
         "Customer stuffs extra data into the notes box because there's nowhere else to put it."),
        ("Let admins define extra attributes on a contact",
         "Every team wants a couple of their own columns, e.g. preferred language, licence number."),
    ]),
    "multi_currency": ("tune", [
        ("Multi-currency support",
         "European subsidiary invoices in EUR and GBP, everything shows in dollars today."),
        ("Show prices in euros",
         "German prospect can't present quotes in USD to their buyers."),
        ("Handle deals in different currencies",
         "Global customer sells in 12 countries and the forecast totals are wrong."),
    ]),
    "localization": ("tune", [
        ("Spanish language UI",
         "The LATAM team doesn't read English well and keeps asking for training."),
        ("Localize the app into German and French",
         "Works council at a German customer requires software in the local language."),
        ("Translate the interface",
         "Rollout to the Brazil office depends on having the menus in Portuguese."),
    ]),
    "offline_mode": ("tune", [
        ("Work offline on mobile",
         "Reps visit farms without signal and lose what they typed."),
        ("Offline access when there's no internet",
         "Inspectors work in basements and tunnels, data should sync once they're back online."),
    ]),
    "calendar_sync": ("tune", [
        ("Google Calendar sync",
         "Meetings booked in the tool don't show up in their calendar."),
        ("Outlook calendar integration",
         "Half the team uses Outlook and keeps double-booking customer visits."),
    ]),
    "bulk_edit": ("tune", [
        ("Bulk edit records",
         "Changing the owner on 300 accounts one at a time took a whole day."),
        ("Update many items at once",
         "They want to select a bunch of rows and change the status together."),
    ]),
    "read_only_role": ("tune", [
        ("Read-only role for viewers",
         "Execs should see dashboards but must not be able to change anything."),
        ("View-only access for some users",
         "Customer worries that interns will edit live data by accident."),
    ]),
    "scheduled_reports": ("tune", [
        ("Schedule reports by email",
         "Manager wants the weekly pipeline report emailed every Monday at 8am."),
        ("Automatically send the dashboard to stakeholders each week",
         "VP of sales doesn't log in, he wants it in his inbox."),
    ]),
    "quote_pdf": ("tune", [
        ("Export quote as PDF",
         "Customer needs a printable version of the quote to send to their buyer."),
        ("Print-friendly quote document",
         "Procurement at the prospect only accepts an attached document, not a link."),
    ]),
    "scim_provisioning": ("tune", [
        ("Auto-provision users from Okta (SCIM)",
         "When someone joins or leaves, IT wants accounts created and deactivated automatically."),
        ("Deactivate accounts automatically when employees leave",
         "Ex-employees kept access for months at a customer; they want it tied to their directory."),
    ]),
    "bulk_delete": ("tune", [
        ("Bulk delete records",
         "They imported duplicates by mistake and need to remove 2,000 rows."),
    ]),
    "api_rate_limit": ("tune", [
        ("Raise API rate limit",
         "Their nightly sync hits 429 errors halfway through."),
    ]),
    "chart_brand_colours": ("tune", [
        ("Custom chart colours to match our brand",
         "Their brand is dark navy and our charts are orange, marketing hates it."),
    ]),
    "overnight_sync": ("tune", [
        ("Run the data sync overnight",
         "Daytime syncs slow down their ERP, they want it scheduled at night."),
    ]),
    "hubspot_migration": ("tune", [
        ("Import history from HubSpot",
         "They are switching from HubSpot and need five years of deals moved over."),
    ]),
    "recurring_invoices": ("tune", [
        ("Recurring invoices",
         "Subscription customer bills the same amount every month and creates each invoice by hand."),
    ]),
    "calendar_view": ("tune", [
        ("Calendar view of tasks",
         "Project managers want to see due dates laid out on a month grid."),
    ]),
    "desktop_app": ("tune", [
        ("Windows desktop app",
         "Their locked-down PCs block most websites, IT prefers an installed client."),
    ]),
    # ---------------------------------------------------------------- test split
    "gdpr_erasure": ("test", [
        ("Delete customer data on request (GDPR)",
         "EU prospect asks how we handle the right to be forgotten."),
        ("Permanently erase a contact's personal information",
         "Legal wants proof that when a person asks, every trace of them is gone."),
    ]),
    "restore_deleted": ("test", [
        ("Undo accidental delete",
         "A user deleted a whole project and we had to restore it from backup."),
        ("Recycle bin to recover deleted items",
         "Customer lost a week of work after someone removed the wrong folder."),
        ("Trash folder so removed things can be brought back",
         "They want 30 days to change their mind before things are gone for good."),
    ]),
    "custom_domain": ("test", [
        ("Use our own domain for the customer portal",
         "Customer wants portal.acme.com instead of our URL."),
        ("Custom domain / CNAME for help center",
         "Their clients get suspicious of links to a domain they don't recognise."),
    ]),
    "white_label": ("test", [
        ("White-label the customer portal",
         "Reseller wants their logo and colours, not ours, anywhere their clients look."),
        ("Remove our branding for partners",
         "Agency partner resells us and doesn't want their customers to see our name."),
    ]),
    "keyboard_shortcuts": ("test", [
        ("Keyboard shortcuts",
         "Power users hate reaching for the mouse."),
        ("Hotkeys for common actions",
         "Support agents want to close tickets and jump to the next one without clicking."),
    ]),
    "user_time_zones": ("test", [
        ("Show times in each user's time zone",
         "Team in Sydney sees due dates in US Eastern."),
        ("Timezone setting per person",
         "Global support team gets confused about when SLAs expire."),
    ]),
    "attachment_search": ("test", [
        ("Search inside attachments",
         "They can't find contracts by what's in them, only by file name."),
        ("Full-text search of uploaded PDFs",
         "Legal team needs to find every agreement that mentions a given clause."),
    ]),
    "salesforce_sync": ("test", [
        ("Salesforce sync",
         "Their reps live in Salesforce and won't log into another tool."),
        ("Two-way CRM integration with SFDC",
         "Opportunities updated on either side should match without copy-paste."),
    ]),
    "accessibility": ("test", [
        ("Screen reader support",
         "A blind employee at the customer can't use the app with JAWS."),
        ("WCAG 2.1 AA compliance",
         "Public sector tender requires an accessibility conformance report."),
        ("Accessibility for visually impaired users",
         "University customer has a legal duty to make tools usable for everyone."),
    ]),
    "sandbox": ("test", [
        ("Test environment to try changes",
         "Admins are scared of breaking live workflows when they experiment."),
        ("Staging sandbox account",
         "They want to trial new automations on a copy before going to production."),
    ]),
    "monthly_billing": ("test", [
        ("Monthly billing instead of annual",
         "Startup can't pay a year upfront."),
        ("Pay month to month",
         "Prospect's budget is approved quarterly so an annual invoice kills the deal."),
    ]),
    "eu_data_residency": ("test", [
        ("Host our data in the EU",
         "German customer's legal team requires data to stay in Europe."),
        ("EU data center option",
         "French public agency can only use providers storing data inside the EU."),
    ]),
    "discount_approval": ("test", [
        ("Manager approval before a quote is sent",
         "Discounts over 20% need sign-off from the sales director."),
        ("Approval step for big discounts",
         "Reps keep giving away margin and finance finds out after the contract is signed."),
    ]),
    "ip_allowlist": ("test", [
        ("Restrict login to office IP addresses",
         "Bank customer's security team requires IP allowlisting."),
        ("IP whitelisting",
         "Insurance prospect only allows access to SaaS tools from their corporate network."),
    ]),
    "share_dashboard_externally": ("test", [
        ("Share a dashboard with people outside the company",
         "They want to send a live link to board members who don't have accounts."),
        ("Public link to a report",
         "Customer's investors ask for the numbers and they don't want to buy seats for them."),
    ]),
    "auto_translate_messages": ("test", [
        ("Translate customer messages automatically",
         "Support gets tickets in Japanese and nobody on the team reads it."),
    ]),
    "time_tracking": ("test", [
        ("Time tracking on tasks",
         "Agency bills clients by the hour and tracks time in a separate tool."),
    ]),
    "phone_search": ("test", [
        ("Search contacts by phone number",
         "When a customer calls, the agent wants to find them by the caller ID."),
    ]),
    "currency_symbol_bug": ("test", [
        ("Currency symbol wrong on invoices",
         "Invoices for the UK entity show $ even though amounts are in pounds."),
    ]),
    "mobile_email_templates": ("test", [
        ("Mobile-friendly email templates",
         "Their campaign emails look broken when opened on a phone."),
    ]),
    "password_policy": ("test", [
        ("Stronger password rules",
         "Security team wants minimum length and expiry for passwords of users who don't use SSO."),
    ]),
    "export_audit_log_siem": ("test", [
        ("Send logs to Splunk",
         "SOC team wants our events streamed into their SIEM."),
    ]),
}

HARD_NEGATIVES: list[tuple[str, str]] = [
    ("Export users to CSV", "Import users from CSV"),
    ("Export users to CSV", "Export report data to CSV"),
    ("Download a list of everyone who has access", "Download data as a spreadsheet"),
    ("Bulk user upload", "Download data as a spreadsheet"),
    ("Import users from CSV", "Import history from HubSpot"),
    ("SSO with Okta", "Auto-provision users from Okta (SCIM)"),
    ("SAML single sign-on", "Two-factor authentication"),
    ("Require a second verification step when admins sign in", "Log in with company Azure AD account"),
    ("Dark mode", "Custom chart colours to match our brand"),
    ("Night theme for the web app", "Run the data sync overnight"),
    ("Bulk edit records", "Bulk delete records"),
    ("Public REST API", "Raise API rate limit"),
    ("Public REST API", "Webhooks on status change"),
    ("Slack integration for notifications", "Daily email digest"),
    ("Daily email digest", "Schedule reports by email"),
    ("Recurring tasks", "Recurring invoices"),
    ("Google Calendar sync", "Calendar view of tasks"),
    ("iOS app", "Windows desktop app"),
    ("Native mobile app for iPhone and Android", "Work offline on mobile"),
    ("Export quote as PDF", "Export report data to CSV"),
    ("Excel download for dashboards", "Automatically send the dashboard to stakeholders each week"),
    ("Read-only role for viewers", "Audit log of admin changes"),
    ("Delete customer data on request (GDPR)", "Undo accidental delete"),
    ("Permanently erase a contact's personal information", "Recycle bin to recover deleted items"),
    ("Use our own domain for the customer portal", "White-label the customer portal"),
    ("Translate customer messages automatically", "Translate the interface"),
    ("Time tracking on tasks", "Show times in each user's time zone"),
    ("Search contacts by phone number", "Search inside attachments"),
    ("Currency symbol wrong on invoices", "Multi-currency support"),
    ("Mobile-friendly email templates", "Native mobile app for iPhone and Android"),
    ("Stronger password rules", "SAML single sign-on"),
    ("Send logs to Splunk", "Audit log of admin changes"),
    ("Restrict login to office IP addresses", "SSO with Okta"),
    ("Share a dashboard with people outside the company", "Automatically send the dashboard to stakeholders each week"),
    ("Two-way CRM integration with SFDC", "Import history from HubSpot"),
    ("Monthly billing instead of annual", "Recurring invoices"),
    ("Use our own domain for the customer portal", "Share a dashboard with people outside the company"),
]


def _build() -> tuple[LabelledRequest, ...]:
    requests: list[LabelledRequest] = []
    for need, (split, items) in _NEEDS.items():
        for title, problem in items:
            requests.append(LabelledRequest(len(requests) + 1, need, split, title, problem))
    return tuple(requests)


REQUESTS: tuple[LabelledRequest, ...] = _build()
BY_TITLE: dict[str, LabelledRequest] = {r.title: r for r in REQUESTS}


def requests_in(split: Split | None = None) -> list[LabelledRequest]:
    return [r for r in REQUESTS if split is None or r.split == split]


def duplicate_pairs(split: Split | None = None) -> list[tuple[LabelledRequest, LabelledRequest]]:
    """Every pair of requests that ask for the same need."""
    return [
        (a, b)
        for a, b in combinations(REQUESTS, 2)
        if a.need == b.need and (split is None or a.split == split)
    ]


def hard_negative_pairs(
    split: Split | None = None,
) -> list[tuple[LabelledRequest, LabelledRequest]]:
    """Listed pairs with different needs; a pair is in `test` if either side is."""
    pairs = []
    for title_a, title_b in HARD_NEGATIVES:
        a, b = BY_TITLE[title_a], BY_TITLE[title_b]
        pair_split: Split = "test" if "test" in (a.split, b.split) else "tune"
        if split is None or pair_split == split:
            pairs.append((a, b))
    return pairs
