"""Screens: main dashboard, item list, item detail, forms and help."""
