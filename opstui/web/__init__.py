"""Serving the opstui app to browsers (``opstui serve``), built on textual-serve.

:mod:`opstui.web.session` (names, tokens, the per-tab command) imports no web library;
:mod:`opstui.web.server` needs aiohttp and textual-serve.
"""
