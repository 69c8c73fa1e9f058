"""Words for generated requests: titles and problems that read like what reps file, so the
similar-request matcher sees realistic overlap (many requests per need, shared words
across needs)."""

from __future__ import annotations

import random

FEATURES = (
    "bulk CSV export", "SAML single sign-on", "SCIM user provisioning", "audit log export",
    "custom roles and permissions", "two-factor authentication for admins", "dark mode",
    "Salesforce sync", "HubSpot integration", "webhook retries", "API rate limit increase",
    "data residency in the EU", "scheduled PDF reports", "dashboard sharing links",
    "custom fields on invoices", "multi-currency invoicing", "offline mobile app",
    "Slack notifications for approvals", "Jira two-way sync", "bulk user import",
    "IP allowlisting", "field-level encryption", "usage-based billing", "white-label portal",
    "Excel export of reports", "recurring tasks", "Gantt chart view", "time tracking",
    "SOC 2 report access", "granular API tokens", "sandbox environment", "custom domains",
    "Zapier integration", "Google Sheets sync", "Okta SCIM", "delegated admin",
    "retention policies", "legal hold", "read-only guest access", "password policy settings",
)
SUBJECTS = ("finance team", "IT admins", "security team", "ops leads", "sales managers",
            "support agents", "their auditors", "field technicians", "the procurement team",
            "regional managers")
PAINS = ("do it by hand every week", "cannot roll us out without it",
         "are blocked by compliance", "lose hours each month", "copy data between tools",
         "cannot pass their security review", "have asked three times this quarter",
         "are evaluating a competitor that has it", "need it before renewal",
         "keep filing tickets about it")
QUALIFIERS = ("", "", " for all workspaces", " via the API", " on mobile", " per project",
              " with filters", " for admins", " in the EU region", " at scale")
CUSTOMER_WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark",
                  "Wayne", "Wonka", "Tyrell", "Cyberdyne", "Soylent", "Oscorp", "Gringotts",
                  "Monarch", "Pied Piper", "Massive Dynamic", "Aperture", "Black Mesa", "Dunder")
CUSTOMER_SUFFIXES = ("Inc", "GmbH", "Ltd", "Corp", "Group", "Labs", "Systems", "Holdings",
                     "Partners", "Co")


def title(rng: random.Random) -> str:
    return f"{rng.choice(FEATURES).capitalize()}{rng.choice(QUALIFIERS)}"


VERBS = ("reconcile", "approve", "migrate", "onboard", "forecast", "archive", "invoice",
         "schedule", "escalate", "audit", "provision", "renew", "translate", "route", "tag",
         "merge", "benchmark", "certify", "dispatch", "quote")
OBJECTS = ("purchase orders", "contractors", "warehouses", "clinics", "franchises", "tenants",
           "shipments", "vendors", "patients", "stores", "fleets", "campuses", "subsidiaries",
           "distributors", "claims", "leases", "grants", "tickets", "territories", "partners")


def problem(rng: random.Random, feature_title: str) -> str:
    """A problem in a rep's words: the shared pains recur, the work described varies."""
    return (f"Their {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} and "
            f"{rng.choice(PAINS)}; they want {feature_title.lower()}.")


def customer_name(index: int) -> str:
    """A distinct, stable customer name for every index."""
    word = CUSTOMER_WORDS[index % len(CUSTOMER_WORDS)]
    suffix = CUSTOMER_SUFFIXES[(index // len(CUSTOMER_WORDS)) % len(CUSTOMER_SUFFIXES)]
    number = index // (len(CUSTOMER_WORDS) * len(CUSTOMER_SUFFIXES))
    return f"{word} {suffix}" + (f" {number}" if number else "")
