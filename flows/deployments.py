"""The names `prefect.yaml` gives relevo's deployments ("<flow name>/<deployment name>").

Runs that relevo starts itself refer to them: the dispatcher (a webhook's run, a batch of terminations
that arrived together), a resignation's revocation at the end of the last day, the crash follow-up.
"""

OFFBOARD_EMPLOYEE = "offboard-employee/offboard-employee"
OFFBOARD_BATCH = "offboard-batch/offboard-batch"
RESCIND_TERMINATION = "rescind-termination/rescind-termination"
