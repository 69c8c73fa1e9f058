"""One-off script: extracts the Web API method list the Slack double checks calls against.

Source: Slack's Web API spec (OpenAPI 2.0), github.com/slackapi/slack-api-specs,
web-api/slack_web_openapi_v2_without_examples.json, commit bc08db4 (2021-09-07), MIT licence.
The full spec is ~1 MB; only what the double needs is kept in `web_api_methods.json`:
for each method its HTTP verb, its argument names and which of them are required.
`token` is left out: slack_sdk sends it in the Authorization header.

Run from the repository root, with the spec beside the repository (as CI lays it out):
    python tests/slack/spec/extract.py [../shared/slack/slack_web_openapi_v2_without_examples.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[3] / "shared" / "slack" / "slack_web_openapi_v2_without_examples.json"
TARGET = HERE / "web_api_methods.json"


def extract(spec: dict) -> dict[str, dict]:
    methods: dict[str, dict] = {}
    for path, operations in sorted(spec["paths"].items()):
        for verb, operation in operations.items():
            parameters = [p for p in operation.get("parameters", []) if p["name"] != "token"]
            methods[path.lstrip("/")] = {
                "http_method": verb.upper(),
                "args": sorted(p["name"] for p in parameters),
                "required": sorted(p["name"] for p in parameters if p.get("required")),
            }
    return methods


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    spec = json.loads(source.read_text())
    document = {
        "source": "github.com/slackapi/slack-api-specs web-api/"
        "slack_web_openapi_v2_without_examples.json (commit bc08db4, 2021-09-07, MIT licence), "
        "extracted by tests/slack/spec/extract.py",
        "methods": extract(spec),
    }
    TARGET.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    print(f"{len(document['methods'])} methods -> {TARGET}")


if __name__ == "__main__":
    main(sys.argv)
