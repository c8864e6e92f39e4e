"""relevo: offboarding automation for HR platforms, built on Prefect.

This folder (flows/) is the package `relevo`. At its top are the Prefect flows (`offboarding`,
`layoff`, `rescind`, `reconcile`, `sweep`); beside them the subpackages they are built from:
`engine` (what every flow run shares), `rules` (pure decisions and wording), `storage` (ledger, inbox,
database), `config` (the registry), `receiver` (the webhook endpoint and dispatcher) and `cli`.
`relevo.connectors` (connectors/) talks to outside systems and never imports Prefect; `relevo.schemas`
(schemas/) checks everything that crosses a boundary. Prefect is imported only where a flow runs.
"""
