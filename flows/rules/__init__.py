"""Pure decisions: what an offboarding does, who has left, what an operator typed, what a notice says.

No Prefect, no network, no database: plain functions over plain data, tested on their own.
"""
