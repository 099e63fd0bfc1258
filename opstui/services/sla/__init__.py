"""SLA bookkeeping (:mod:`.rules`, :mod:`.compute`, :mod:`.crossings`, :mod:`.views`): which policy an item falls under, its cached due and warning times,
pauses, reopen, and the warning/breach events.

One place computes an item's SLA: :func:`compute_item_sla` replays the item's status
history (creation, status events) against the matching policy and its calendar, so the
answer never depends on which write happened to run it.  :func:`refresh_item_sla` turns
that into column updates on every write (``apply_sla``); the item row then carries
everything the panes, ``ls --json`` and ``opstui sla`` need without arithmetic or a query:

* ``sla_policy``, ``sla_fr_due`` / ``sla_res_due`` (due times, pushed out by pauses),
  ``sla_fr_warn`` / ``sla_res_warn`` (when warning starts), ``sla_res_start``;
* ``sla_paused_since`` while the item is in one of the policy's ``pause_in`` states;
* ``next_due_at``: the soonest open target due (or the item's own ``due_at``);
* ``sla_fr_state`` / ``sla_res_state``: the last state *recorded in the event log*
  (NULL, ``warning``, ``breached``, ``met``), and ``sla_check_at``: the next instant a
  crossing may need recording.

:func:`record_sla_crossings` is what every terminal calls on a timer: it finds rows with
``sla_check_at <= now`` (an index scan), and writes ``sla_warning`` / ``sla_breached``
events with a conditional UPDATE inside one IMMEDIATE transaction, so however many
processes check at once, each crossing is written exactly once.
"""
