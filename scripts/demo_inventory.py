"""What the demo's emulators hold: agent tokens, agents and branch deployments in the Dagster+ emulator;
ECR repositories, IAM users and access keys in moto.

Run by `scripts/demo --status` and by `scripts/demo --destroy` (with --expect-empty, after `terraform destroy`
and before the emulators stop), with the settings of target/demo/env.sh in the environment.

    demo_inventory.py                 print what each emulator holds, one object a line
    demo_inventory.py --expect-empty  wait up to 15 s for both to be empty (a deleted branch deployment stays
                                      PENDING_DELETION for a moment); exit 1 naming whatever is left
"""

import json
import os
import sys
import time
import urllib.request

import boto3

EMPTY_WAIT_SECONDS = 15


def graphql(query):
    request = urllib.request.Request(
        os.environ["DAGSTER_CLOUD_URL"].rstrip("/") + "/graphql",
        data=json.dumps({"query": query, "variables": {}}).encode(),
        headers={"Content-Type": "application/json", "Dagster-Cloud-Api-Token": os.environ["DAGSTER_CLOUD_API_TOKEN"]},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.load(response)
    if body.get("errors"):
        raise SystemExit(f"demo_inventory: the Dagster+ emulator answered with errors: {body['errors']}")
    return body["data"]


def dagster_objects():
    data = graphql(
        "query DemoInventory {"
        " agentTokensOrError { __typename ... on DagsterCloudAgentTokens { tokens { id description revoked } } }"
        " agents { agentLabel }"
        " branchDeployments(limit: 1000) { nodes { deploymentName deploymentStatus } }"
        " }"
    )
    tokens = data["agentTokensOrError"]
    if tokens["__typename"] != "DagsterCloudAgentTokens":
        raise SystemExit(f"demo_inventory: listing agent tokens failed: {tokens['__typename']}")
    return {
        "agent token": [f"{t['id']} ({t['description']})" for t in tokens["tokens"] if not t["revoked"]],
        "agent": [a["agentLabel"] for a in data["agents"]],
        "branch deployment": [
            f"{d['deploymentName']} ({d['deploymentStatus']})" for d in data["branchDeployments"]["nodes"]
        ],
    }


def aws_objects():
    aws = {"region_name": os.environ["AWS_REGION"], "endpoint_url": os.environ["AWS_ENDPOINT_URL"]}
    ecr, iam = boto3.client("ecr", **aws), boto3.client("iam", **aws)
    repositories = [r["repositoryUri"] for r in ecr.describe_repositories()["repositories"]]
    users = [u["UserName"] for u in iam.list_users()["Users"]]
    keys = [
        f"{k['AccessKeyId']} ({user})" for user in users for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    ]
    return {"ECR repository": repositories, "IAM user": users, "access key": keys}


def describe(objects):
    def count(kind, n):
        plural = "ECR repositories" if kind == "ECR repository" else kind + "s"
        return f"{n} {kind if n == 1 else plural}"

    return ", ".join(count(kind, len(names)) for kind, names in objects.items())


def main():
    expect_empty = sys.argv[1:] == ["--expect-empty"]
    if sys.argv[1:] not in ([], ["--expect-empty"]):
        raise SystemExit("usage: demo_inventory.py [--expect-empty]")
    deadline = time.monotonic() + EMPTY_WAIT_SECONDS
    while True:
        dagster, aws = dagster_objects(), aws_objects()
        left = {kind: names for kind, names in {**dagster, **aws}.items() if names}
        if not expect_empty or not left or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    for title, objects in (("Dagster+ emulator", dagster), ("AWS emulator (moto)", aws)):
        print(f"{title}: {describe(objects)}")
        if not expect_empty:
            for kind, names in objects.items():
                for name in names:
                    print(f"  {kind}: {name}")
    if expect_empty and left:
        for kind, names in left.items():
            print(f"left behind: {kind}: {', '.join(names)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
