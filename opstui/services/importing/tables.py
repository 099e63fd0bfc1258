"""The tables the import package reads and writes, named once for all its modules."""

from __future__ import annotations

from ...domain import models

ITEM = models.Item.__table__
QUEUE = models.Queue.__table__
PERSON = models.Person.__table__
WORKFLOW = models.Workflow.__table__
STATE = models.WorkflowState.__table__
TRANSITION = models.WorkflowTransition.__table__
EVENT = models.Event.__table__
COMMENT = models.Comment.__table__
POLICY = models.SlaPolicy.__table__
