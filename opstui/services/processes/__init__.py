"""Recurring and event-triggered processes: :mod:`.run` creates their items when due,
:mod:`.catalog` lists them with what looks wrong."""
