"""Secrets Manager and SSM calls for the acceptance tests, made with boto3 (an independent AWS client) against
moto. Usage: boto.py ENDPOINT OPERATION [ARG ...]; prints the result as JSON on stdout."""

import json
import sys

import boto3


def main() -> None:
    endpoint, operation, *args = sys.argv[1:]
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    ssm = session.client("ssm", endpoint_url=endpoint)
    if operation == "inventory":
        result = {
            "secrets": sorted(s["Name"] for s in secrets.list_secrets()["SecretList"]),
            "parameters": sorted(p["Name"] for p in ssm.describe_parameters()["Parameters"]),
        }
    elif operation == "read":
        kind, name = args
        try:
            if kind == "secretsmanager":
                result = secrets.get_secret_value(SecretId=name)["SecretString"]
            else:
                result = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        except (secrets.exceptions.ResourceNotFoundException, ssm.exceptions.ParameterNotFound):
            result = None
    elif operation == "overwrite":
        kind, name, value = args
        if kind == "secretsmanager":
            secrets.put_secret_value(SecretId=name, SecretString=value)
        else:
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        result = True
    elif operation == "remove":
        kind, name = args
        if kind == "secretsmanager":
            secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        else:
            ssm.delete_parameter(Name=name)
        result = True
    elif operation == "create_foreign":
        (name,) = args
        secrets.create_secret(Name=name, SecretString="{}")
        result = True
    elif operation == "put_parameter":
        name, value = args
        ssm.put_parameter(Name=name, Value=value, Type="SecureString")
        result = True
    elif operation == "kms_key":
        (name,) = args
        result = secrets.describe_secret(SecretId=name).get("KmsKeyId")
    else:
        raise SystemExit(f"unknown operation {operation}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
