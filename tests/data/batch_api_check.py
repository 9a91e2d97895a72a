#!/usr/bin/env python3
"""Check batch_api.py's shapes with botocore, an independent client that
signs with SigV4 and parses answers by the Batch service model.

Usage: batch_api_check.py ENDPOINT_URL   (prints "ok" on success)
The stand-in must run with --run true (jobs succeed at once)."""
import sys
import time

import botocore.session
from botocore.exceptions import ClientError, ParamValidationError

c = botocore.session.get_session().create_client(
    "batch", region_name="us-east-1", endpoint_url=sys.argv[1],
    aws_access_key_id="AKIDCHECK", aws_secret_access_key="check-secret")

r = c.submit_job(jobName="hc-check_1", jobQueue="q-cpu", jobDefinition="jd-cpu",
                 containerOverrides={"environment": [{"name": "HC_JOB_ID", "value": "check"}]})
assert r["jobName"] == "hc-check_1" and r["jobId"] and r["jobArn"].endswith(r["jobId"]), r
for _ in range(50):
    d = c.describe_jobs(jobs=[r["jobId"], "no-such-id"])
    if d["jobs"] and d["jobs"][0]["status"] == "SUCCEEDED":
        break
    time.sleep(0.1)
j = d["jobs"][0]
assert len(d["jobs"]) == 1, d  # unknown ids are left out
assert j["jobId"] == r["jobId"] and j["jobQueue"] == "q-cpu" and j["status"] == "SUCCEEDED", j
assert isinstance(j["startedAt"], int) and j["attempts"][0]["container"]["exitCode"] == 0, j
c.terminate_job(jobId=r["jobId"], reason="check")

for bad in ({"jobName": "-starts-with-dash"}, {"jobName": "x" * 129},
            {"containerOverrides": {"environment": [{"name": "BIG", "value": "v" * 9000}]}}):
    args = dict(jobName="ok", jobQueue="q", jobDefinition="d")
    args.update(bad)
    try:
        c.submit_job(**args)
        sys.exit("accepted %r" % list(bad))
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ClientException", e.response
    except ParamValidationError:
        pass  # botocore refuses it before sending (the length rule)
try:
    c.describe_jobs(jobs=["id%d" % i for i in range(101)])
    sys.exit("101 ids accepted")
except ClientError as e:
    assert e.response["Error"]["Code"] == "ClientException", e.response
# An unsigned request is refused.
import urllib.request
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/v1/describejobs",
                                                  data=b'{"jobs":["x"]}', method="POST"))
    sys.exit("unsigned request accepted")
except urllib.error.HTTPError as e:
    assert e.code == 403, e.code
print("ok")
