"""Reading other tools' exports (ServiceNow, Jira, any CSV with a mapping file) into one
neutral shape: :class:`~opstui.importers.model.SourceItem` with its history as snapshots.

Pure: no database.  The write path is ``opstui.services.importing``.
"""
