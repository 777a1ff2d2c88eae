#!/usr/bin/env python3
"""Post a livehook plan as ONE pull-request comment, edited in place on every later run.

The comment is found by a hidden marker, `<!-- livehook-plan:KEY -->`, on its first line, so each
push updates the same comment instead of adding one (as Atlantis and tfcmt do), and other bots'
comments are never touched. All GitHub calls go through the `gh` CLI that GitHub's runners ship,
authenticated by GH_TOKEN (the workflow's GITHUB_TOKEN).

When the comment cannot be read or written -- typically a pull request from a fork, whose token
is read-only and earns HTTP 403 -- the plan goes to the job summary instead, a `::warning::` says
why, and the script still exits 0: a missing comment must not fail the plan.

Usage: sticky-comment.py --repo OWNER/NAME --pr NUMBER --key KEY --body-file PLAN.md
           [--footer TEXT] [--plan-already-in-summary]
"""

import argparse
import json
import os
import re
import subprocess
import sys

# GitHub refuses an issue comment body over this many characters.
COMMENT_LIMIT = 65_536


def marker(key):
    """The hidden first line that identifies this plan's comment; `--` cannot end a comment early."""
    safe = re.sub(r"[^A-Za-z0-9._/:-]+", "-", key).replace("--", "-").strip("-")
    return f"<!-- livehook-plan:{safe or 'default'} -->"


def compose(mark, plan, footer):
    """The comment body within GitHub's limit: the footer goes first, then the plan's tail."""
    body = f"{mark}\n{plan.rstrip()}\n"
    if footer:
        with_footer = f"{body}\n{footer}\n"
        if len(with_footer) <= COMMENT_LIMIT:
            return with_footer
    if len(body) <= COMMENT_LIMIT:
        return body
    note = "\n_Cut to fit GitHub's comment limit; the job summary has the full plan._\n"
    cut = body[: COMMENT_LIMIT - len(note)]
    return cut[: cut.rfind("\n") + 1] + note


class GhError(Exception):
    """`gh` exited non-zero; the message is what it said on stderr."""


def gh_api(*args, payload=None):
    proc = subprocess.run(
        ["gh", "api", *args],
        input=None if payload is None else json.dumps(payload),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise GhError(proc.stderr.strip() or f"gh exited {proc.returncode}")
    return proc.stdout


def json_documents(text):
    """`gh api --paginate` prints one JSON array per page, back to back: all their items."""
    decoder = json.JSONDecoder()
    items, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            return items
        page, pos = decoder.raw_decode(text, pos)
        items.extend(page)


def find_comment(repo, pr, mark):
    """The id of the oldest comment whose first line is the marker, or None."""
    listing = gh_api("--paginate", f"repos/{repo}/issues/{pr}/comments?per_page=100")
    for comment in json_documents(listing):
        if comment.get("body", "").lstrip().startswith(mark):
            return comment["id"]
    return None


def why(error):
    text = str(error)
    if "HTTP 403" in text or "Resource not accessible" in text:
        return (
            "the workflow's token may not write to this pull request (a pull request from a fork "
            "gets a read-only token; otherwise grant `permissions: pull-requests: write`)"
        )
    return "gh could not read or write the pull request's comments"


def fall_back(plan, error, plan_already_in_summary):
    """Put the plan in the job summary and warn, instead of failing the job."""
    reason = why(error)
    detail = str(error).splitlines()[0] if str(error) else ""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(f"> The plan could not be posted as a pull-request comment: {reason}.\n\n")
            if not plan_already_in_summary:
                out.write(plan.rstrip() + "\n")
    where = "the job summary has the plan" if summary else "no job summary to write it to"
    # Workflow commands are one line; `%` and newlines would be taken as escapes.
    message = f"plan not posted as a comment: {reason}; {where}. gh said: {detail}"
    message = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    print(f"::warning title=livehook comment::{message}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=os.environ.get("GITHUB_REPOSITORY"))
    parser.add_argument("--pr", required=True, type=int)
    parser.add_argument("--key", default="default")
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--footer", default="")
    parser.add_argument("--plan-already-in-summary", action="store_true")
    args = parser.parse_args()
    if not args.repo:
        parser.error("--repo or GITHUB_REPOSITORY is required")

    with open(args.body_file, encoding="utf-8") as f:
        plan = f.read()
    mark = marker(args.key)
    body = compose(mark, plan, args.footer)
    try:
        existing = find_comment(args.repo, args.pr, mark)
        if existing is None:
            gh_api("--method", "POST", f"repos/{args.repo}/issues/{args.pr}/comments",
                   "--input", "-", payload={"body": body})
            print(f"Posted the livehook plan as a new comment on #{args.pr}.")
        else:
            gh_api("--method", "PATCH", f"repos/{args.repo}/issues/comments/{existing}",
                   "--input", "-", payload={"body": body})
            print(f"Updated the livehook plan comment {existing} on #{args.pr}.")
    except (GhError, ValueError) as error:
        fall_back(plan, error, args.plan_already_in_summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
