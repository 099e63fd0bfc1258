"""Widgets: the Line-API grid, the four panes, the item table, the status bar."""
