"""Use cases.  Every change goes through a function here: one write transaction that checks
versions, applies the change, appends Events and runs workflow actions."""
