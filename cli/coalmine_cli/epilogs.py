"""`--help` epilogs (examples and exit codes) of the verbs whose code lives in main.py; the
other verbs keep theirs next to their code (deploy: main.DEPLOY_EPILOG, steer.py, retry.py,
rollback.py). tests/unit/test_cli_help.py checks every verb has both parts."""

LIST = """examples:
  coalmine list
  coalmine list --stack coalmine --profile ops --region eu-west-1

exit codes:
  0    listed (also when none is running: "no deployment is running")
  3    an AWS or tool error (credentials, permissions, stack not found, ...): one line
"""

HISTORY = """examples:
  coalmine history brand-api
  coalmine history brand-api:prod --limit 5
  coalmine history brand-api:prod --history-table coalmine-DeploymentHistoryTable-X

exit codes:
  0    listed (also when there is none: "no deployment of ...")
  2    bad input: a malformed FUNCTION[:ALIAS], --limit below 1: no AWS call made
  3    an AWS or tool error (credentials, permissions, stack not found, ...): one line
"""

REHEARSE = """examples:
  coalmine rehearse --list
  coalmine rehearse healthy-canary
  coalmine rehearse faulty-canary --json out/faulty.json --report
  coalmine rehearse my-scenario.yaml

Runs in the local sandbox (emulated AWS, simulated clock): no account, no credentials.

exit codes:
  0    rehearsed (whatever the deployment's outcome: it is in the summary and the JSON)
  2    no scenario named, or a scenario that cannot be read or is malformed
"""

DEMO = """example:
  coalmine demo

A healthy canary (promoted) and a faulty one (rolled back), in the local sandbox.

exit codes:
  0    both ended as their scenarios expect
  1    one did not
"""

SOAK = """examples:
  coalmine soak --deployments 60 --seed 1
  coalmine soak            (300 deployments, seed 0)

Random strategies, faults, stops and racing deployments in one sandbox, each checked against
the invariant (the alias whole on one version, the execution truthful, the lock free); a
failure prints its seed (the same seed replays the same run).

exit codes:
  0    no invariant violated
  1    at least one violated (each is printed)
"""
